"""Response validation against KuCoin's OpenAPI response schemas (uses jsonschema: test-only).

Relaxation, said once: the OpenAPI files never mark a field nullable, yet KuCoin's own examples
answer ``null`` (maxAccountSize, reason, remark, stp ...) and the SDK's models accept None. So
``null`` is accepted wherever a typed value is expected; every other mismatch is reported.
"""
from __future__ import annotations



def _nullable(schema):
    if isinstance(schema, dict):
        out = {k: _nullable(v) for k, v in schema.items()}
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        return out
    if isinstance(schema, list):
        return [_nullable(v) for v in schema]
    return schema


_VALIDATORS: dict[int, tuple[dict, object]] = {}


def _validator(schema: dict):
    """One validator per schema object (route schemas live as long as the process)."""
    hit = _VALIDATORS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    import jsonschema
    v = jsonschema.Draft7Validator(_nullable(schema))
    _VALIDATORS[id(schema)] = (schema, v)
    return v


def check(schema: dict, instance) -> str | None:
    """None when ``instance`` fits ``schema``, else a one-line description of the first problem."""
    v = _validator(schema)
    errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    e = errors[0]
    where = "/".join(str(p) for p in e.absolute_path) or "(root)"
    return f"{where}: {e.message}"
