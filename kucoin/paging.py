"""Pieces every paged or timed KuCoin call shares: KuCoin's page envelope, walking every page, and
timestamps in milliseconds."""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from . import validation as v
from .models import Page


def to_ms(value: datetime | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise v.ValidationError("timestamps must be timezone-aware", field="timestamp")
        return int(value.timestamp() * 1000)
    return int(value)


def page_of(data: dict, parse) -> Page:
    """KuCoin's page envelope (currentPage, pageSize, totalNum, totalPage, items) with items parsed."""
    return Page([parse(x) for x in data.get("items") or []], int(data.get("currentPage") or 1),
                int(data.get("pageSize") or 0), int(data.get("totalNum") or 0), int(data.get("totalPage") or 0))


def every_page(fetch) -> Iterator:
    """The items of every page, fetching page after page until the last."""
    page = 1
    while True:
        p = fetch(page)
        yield from p.items
        if not p.items or page >= p.total_page:
            return
        page += 1
