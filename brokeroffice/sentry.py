"""What Sentry may receive: its HTTP integration records every outgoing request's URL and query as a
breadcrumb, and a query can carry an OAuth code or client secret (KuCoin's token call is a GET)."""
from __future__ import annotations


def breadcrumb_without_query(crumb: dict, hint: dict | None = None) -> dict:
    """`before_breadcrumb`: keeps where a request went, never its query."""
    data = crumb.get("data")
    if isinstance(data, dict):
        data.pop("http.query", None)
        if isinstance(data.get("url"), str):
            data["url"] = data["url"].split("?", 1)[0]
    return crumb
