#!/usr/bin/env python3
"""Fails when a committed file outside the made-up test material holds a string shaped like a KuCoin
credential: a 24-hex API key, a UUID-shaped API secret, or a KC-API-* header with a literal value.

Allowed places: tests and test helpers (their values are made up), and KuCoin's own OpenAPI examples copied
into the sandbox. Run from the repository root; CI runs it before the tests.
"""
from __future__ import annotations

import re
import subprocess
import sys

SHAPES = {
    "API key (24 hex characters)": re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{24}(?![0-9A-Za-z])"),
    "API secret (UUID-shaped)": re.compile(r"(?<![0-9A-Za-z-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z-])"),
    "KC-API header with a literal value": re.compile(r"KC-API-(?:KEY|SIGN|PASSPHRASE|PARTNER-SIGN)\s*[:=]\s*['\"]?[A-Za-z0-9+/=]{16,}"),
}
ALLOWED = re.compile(r"(^|/)(tests?|testing)/|^sandbox/openapi/|^bin/check_credentials\.py$")
# Values that cannot be anyone's key: zeros and counters, as in KuCoin's documentation examples.
PLACEHOLDER = re.compile(r"^[0-9a-f]{0,6}0{10,}[0-9a-f]{0,8}$|^0{8}-0{4}-4?0{3,4}-[08]0{3}-0{11}[0-9a-f]$")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], capture_output=True, text=True, check=True).stdout
    return [name for name in out.split("\0") if name]


def findings(paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        if ALLOWED.search(path):
            continue
        try:
            text = open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for shape, pattern in SHAPES.items():
                for match in pattern.finditer(line):
                    value = match.group(0)
                    if not PLACEHOLDER.match(value):
                        found.append(f"{path}:{number}: {shape}")
    return found


def main() -> int:
    found = findings(tracked_files())
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} credential-shaped string(s) outside test material: replace them with made-up "
              "placeholders or move them into a test fixture.", file=sys.stderr)
        return 1
    print("no credential-shaped strings outside test material")
    return 0


if __name__ == "__main__":
    sys.exit(main())
