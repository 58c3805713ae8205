"""Amounts on pages. `{{ value|short_amount }}`: a Decimal for reading at a glance (at most 6 decimals, no
trailing zeros, thousands grouped); `{{ value|plain_amount }}`: the exact figure (in a title, a table of its own,
a form's figures)."""
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


@register.filter
def plain_amount(value) -> str:
    """A Decimal exactly, in plain digits without trailing zeros: 5.6 for 5.600000, 10 for 1E+1; blank for none."""
    if value is None or value == "":
        return ""
    return format(Decimal(value).normalize(), "f")
