"""Decimal helpers: money is Decimal inside, a plain decimal string on the wire (never exponent form)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import param_error


def fmt(d: Decimal | int | str) -> str:
    """``Decimal('25.50')`` -> ``'25.5'``, ``Decimal('1E+2')`` -> ``'100'``, zero -> ``'0'``."""
    d = Decimal(d)
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    return s


def parse_amount(value, field: str, *, positive: bool = True) -> Decimal:
    """A money field from a request; 400100 naming the field when it is not a decimal string."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise param_error(f"{field} is invalid")
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise param_error(f"{field} is invalid") from None
    if not d.is_finite() or (positive and d <= 0):
        raise param_error(f"{field} must be greater than 0")
    return d
