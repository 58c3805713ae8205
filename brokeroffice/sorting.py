"""Sortable list columns: `?sort=name` or `?sort=-name`, only over the columns a page allows."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from brokeroffice.admin_base import CappedCountPaginator

SORT_PARAM = "sort"


@dataclass(frozen=True)
class Sort:
    key: str  # the name in the URL
    field: str  # the model field it orders by
    descending: bool

    @property
    def order_by(self) -> tuple[str, str]:
        # The primary key breaks ties, so that pages never repeat or skip a row.
        sign = "-" if self.descending else ""
        return f"{sign}{self.field}", f"{sign}pk"


def chosen_sort(request, columns: dict[str, str]) -> Sort | None:
    """The sort asked for in the URL, or None (the page's own newest-first order) for anything not allowed."""
    value = request.GET.get(SORT_PARAM, "")
    key = value.removeprefix("-")
    if key not in columns:
        return None
    return Sort(key=key, field=columns[key], descending=value.startswith("-"))


def sorted_page(request, queryset: QuerySet, sort: Sort, size: int):
    """A numbered page of the sorted rows; the count is capped, so a sort over millions stays cheap."""
    return CappedCountPaginator(queryset.order_by(*sort.order_by), size).get_page(request.GET.get("page"))
