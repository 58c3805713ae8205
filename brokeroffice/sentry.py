"""What Sentry may receive. Its HTTP integration records every outgoing request's URL and query as a
breadcrumb, and a query can carry an OAuth code or client secret (KuCoin's token call is a GET); an event of a
web request carries that request's query (the OAuth callback's code and state); and a stack trace carries each
frame's local variables (an access token in a header being built, say). None of these is sent."""
from __future__ import annotations


def _drop_query(request: object, query_key: str) -> None:
    """A request's description, in place: its query field gone, its URL cut at the "?"."""
    if isinstance(request, dict):
        request.pop(query_key, None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]


def breadcrumb_without_query(crumb: dict, hint: dict | None = None) -> dict:
    """`before_breadcrumb`: keeps where an outgoing request went, never its query."""
    _drop_query(crumb.get("data"), "http.query")
    return crumb


def event_without_query(event: dict, hint: dict | None = None) -> dict:
    """`before_send`: the web request an event happened in, without its query."""
    _drop_query(event.get("request"), "query_string")
    return event


def safe_options() -> dict:
    """The options of `sentry_sdk.init` that keep secrets and personal data out of what is sent. Personal data
    (cookies, headers, users, IP addresses) stays off by the SDK's default in 2.x (requirements.txt pins it):
    naming `send_default_pii` is deprecated there, and 3.x, which would collect more, needs a review first."""
    return {"max_request_body_size": "never", "include_local_variables": False,
            "before_breadcrumb": breadcrumb_without_query, "before_send": event_without_query}
