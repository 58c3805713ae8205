"""`{{ value|short_amount }}`: a Decimal for reading at a glance (at most 6 decimals, no trailing zeros,
thousands grouped); the exact figure belongs in a title or a table of its own."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def short_amount(value, places: int = 6) -> str:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    rounded = number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_EVEN).normalize()
    text = f"{rounded:,f}"
    return "0" if rounded == 0 else text
