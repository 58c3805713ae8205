"""`{% sortable_th "name" "Name" %}`: a column header that sorts its list, and says how it is sorted."""
from __future__ import annotations

from django import template

from brokeroffice.sorting import SORT_PARAM

register = template.Library()


@register.inclusion_tag("_sortable_th.html", takes_context=True)
def sortable_th(context, key: str, label: str, css_class: str = "", enabled: bool = True):
    """`enabled=False` renders a plain header: for a table shared with a page that cannot sort."""
    current = context["request"].GET.get(SORT_PARAM, "") if enabled else ""
    if current == key:
        state, next_value = "ascending", f"-{key}"
    elif current == f"-{key}":
        state, next_value = "descending", key
    else:
        state, next_value = "", key
    return {"request": context["request"], "label": label, "state": state, "next_value": next_value,
            "css_class": css_class, "enabled": enabled}
