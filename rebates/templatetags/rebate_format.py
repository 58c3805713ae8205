from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def amount(value) -> str:
    """A Decimal as exact plain text without trailing zeros: 5.600000000000000000 → 5.6."""
    if value is None or value == "":
        return ""
    d = Decimal(value)
    if d == 0:
        return "0"
    return format(d.normalize(), "f")
