"""Generates the secrets a development run needs into `.env`, so that the project runs with no configuration.

Only used when nothing is configured: no SECRET_KEY in the environment, no `.env` file, and DEBUG not
explicitly turned off. A production deployment sets DEBUG=false and its own secrets, and then a missing
SECRET_KEY is an error rather than a silently generated key.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

DEV_ENV_HEADER = (
    "# Generated for a local development run. Git ignores this file; see .env.example for every variable.\n"
)


def wants_generated_env(env_file: Path) -> bool:
    debug_value = os.environ.get("DEBUG", "").strip().lower()
    explicitly_production = debug_value in {"0", "false", "no", "off"}
    return not env_file.exists() and "SECRET_KEY" not in os.environ and not explicitly_production


def write_dev_env(env_file: Path) -> None:
    env_file.parent.mkdir(parents=True, exist_ok=True)
    content = (
        DEV_ENV_HEADER
        + "DEBUG=true\n"
        + f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        + f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
    )
    # Created with owner-only permissions: it holds the key that decrypts every stored secret.
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
