"""`{% load trading %}{% untagged_orders_alert %}`: the untagged-order alert, for the dashboard."""
from django import template

from trading.selectors import untagged_alert

register = template.Library()


@register.inclusion_tag("trading/_untagged_alert.html")
def untagged_orders_alert(limit: int = 5) -> dict:
    return {"alert": untagged_alert(limit=limit)}
