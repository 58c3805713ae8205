"""KuCoin's OpenAPI files (copied into sandbox/openapi/, MIT, see LICENSE there): an index of the
operations by (family, method, path template), used for request validation, for the default
rate-limit pool and weight of a route, and by the tests for response validation.
"""
from __future__ import annotations

import functools
import glob
import json
import os
import re

SPEC_DIR = os.path.join(os.path.dirname(__file__), "openapi")
DOMAIN_FAMILY = {"Spot": "spot", "Futures": "futures", "Broker": "broker"}
POOL_NAMES = {"Spot": "spot", "Futures": "futures", "Management": "management", "Public": "public",
              "Broker": "broker"}


def norm_template(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


@functools.lru_cache(maxsize=1)
def operations() -> dict[tuple[str, str, str], dict]:
    """(family, METHOD, normalised template) -> operation (with ``_file`` and ``_path`` added)."""
    index: dict[tuple[str, str, str], dict] = {}
    for fname in sorted(glob.glob(os.path.join(SPEC_DIR, "*.json"))):
        with open(fname, encoding="utf-8") as f:
            spec = json.load(f)
        for path, methods in spec.get("paths", {}).items():
            for method, op in methods.items():
                fam = DOMAIN_FAMILY.get(op.get("x-domain"))
                if fam is None:
                    continue
                op = dict(op, _file=os.path.basename(fname), _path=path)
                index.setdefault((fam, method.upper(), norm_template(path)), op)
    return index


def find(family: str, method: str, template: str) -> dict | None:
    return operations().get((family, method.upper(), norm_template(template)))


def pool_and_weight(op: dict) -> tuple[str | None, int | None]:
    pool = POOL_NAMES.get(op.get("x-api-rate-limit-pool"))
    w = op.get("x-api-rate-limit-weight")
    return pool, (int(w) if isinstance(w, int) else None)


def response_schema(op: dict) -> dict | None:
    try:
        return op["responses"]["200"]["content"]["application/json"]["schema"]
    except KeyError:
        return None


def request_body_schema(op: dict) -> dict | None:
    try:
        return op["requestBody"]["content"]["application/json"]["schema"]
    except (KeyError, TypeError):
        return None
