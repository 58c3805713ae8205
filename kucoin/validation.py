"""Local checks of what KuCoin would reject, with the reason in words."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

from .errors import ValidationError

CLIENT_OID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_IPS = 20
MAX_SPAN_MONTHS = 6


def client_oid(value: str, field: str = "clientOid") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 40:
        raise ValidationError(f"{field} must be 1 to 40 characters long", field=field)
    if not CLIENT_OID_RE.match(value):
        raise ValidationError(f"{field} may only contain letters, digits, '_' and '-'", field=field)
    return value


def label(value: str) -> str:
    if not isinstance(value, str) or not 4 <= len(value) <= 32:
        raise ValidationError("the API key label must be 4 to 32 characters long", field="label")
    return value


def ip_whitelist(ips: Sequence[str]) -> list[str]:
    ips = list(ips or [])
    if len(ips) > MAX_IPS:
        raise ValidationError(f"at most {MAX_IPS} IP addresses may be whitelisted, got {len(ips)}",
                              field="ipWhitelist")
    return [str(ip).strip() for ip in ips]


def required(value: Any, field: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(f"{field} is required", field=field)
    return value


def one_of(value: Any, allowed: Sequence[str], field: str) -> str:
    if value not in allowed:
        raise ValidationError(f"{field} must be one of {', '.join(allowed)}; got {value!r}", field=field)
    return value


def positive_decimal(value: Any, field: str) -> str:
    """A money amount as KuCoin wants it on the wire: a plain decimal string, > 0."""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field} must be a number, got {value!r}", field=field) from None
    if isinstance(value, float):
        raise ValidationError(f"{field} must be a Decimal or a string, not a float", field=field)
    if not d.is_finite() or d <= 0:
        raise ValidationError(f"{field} must be greater than zero", field=field)
    # Without trailing zeros: a database Decimal(36, 18) must not look like 18 decimal places to KuCoin.
    return format(d.normalize(), "f")


def positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{field} must be a whole number greater than zero", field=field)
    return value


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    import calendar
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def as_date(value: date | datetime | str, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.strptime(str(value), "%Y%m%d").date()
    except ValueError:
        raise ValidationError(f"{field} must be a date (yyyyMMdd), got {value!r}", field=field) from None


def date_span(begin: date | datetime | str, end: date | datetime | str) -> tuple[str, str]:
    """begin/end as yyyyMMdd, at most 6 months apart and in order."""
    b, e = as_date(begin, "begin"), as_date(end, "end")
    if e < b:
        raise ValidationError("end must not be before begin", field="end")
    if e > _add_months(b, MAX_SPAN_MONTHS):
        raise ValidationError("begin and end may be at most 6 months apart", field="end")
    return b.strftime("%Y%m%d"), e.strftime("%Y%m%d")
