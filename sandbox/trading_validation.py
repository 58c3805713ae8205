"""Reading order request bodies the way KuCoin does: typed, bounded, and rejected with 400100 naming
the field. Each reader returns the Python value, or None when the field is absent (or JSON null)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from sandbox.trading_errors import TradingError, parameter_error

CLIENT_OID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_DECIMAL_TEXT = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def require_object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise TradingError("400100", "Parameter error: request body must be a JSON object")
    return body


def text(body: dict, name: str, *, required: bool = False, max_len: Optional[int] = None,
         pattern: Optional[re.Pattern] = None, ascii_only: bool = False) -> Optional[str]:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise parameter_error(name, "is required")
        return None
    if not isinstance(value, str):
        raise parameter_error(name, "must be a string")
    if max_len is not None and len(value) > max_len:
        raise parameter_error(name, f"must be at most {max_len} characters")
    if ascii_only and not value.isascii():
        raise parameter_error(name, "must be ASCII")
    if pattern is not None and not pattern.match(value):
        raise parameter_error(name, "has invalid characters (letters, digits, '_' and '-' only)")
    return value


def choice(body: dict, name: str, allowed: tuple[str, ...], *, required: bool = False,
           default: Optional[str] = None) -> Optional[str]:
    value = text(body, name, required=required and default is None)
    if value is None:
        return default
    if value not in allowed:
        raise parameter_error(name, f"must be one of {', '.join(allowed)}")
    return value


def flag(body: dict, name: str, default: bool = False) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise parameter_error(name, "must be a boolean")
    return value


def integer(body: dict, name: str, *, required: bool = False) -> Optional[int]:
    value = body.get(name)
    if value is None:
        if required:
            raise parameter_error(name, "is required")
        return None
    if isinstance(value, bool):
        raise parameter_error(name, "must be an integer")
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise parameter_error(name, "must be an integer")


def amount(body: dict, name: str, *, required: bool = False) -> Optional[Decimal]:
    """A positive decimal, sent as a string as KuCoin's schemas declare money (a JSON number is
    refused like any other ill-typed value, as the core's request validation does)."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise parameter_error(name, "is required")
        return None
    if not isinstance(value, str):
        raise parameter_error(name, "must be a string holding a decimal number")
    if not _DECIMAL_TEXT.match(value.strip()):
        raise parameter_error(name, "must be a positive decimal number")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise parameter_error(name, "must be a positive decimal number") from None
    if number <= 0:
        raise parameter_error(name, "must be greater than 0")
    return number
