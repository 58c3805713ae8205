"""Public market endpoints the clients need: server time and service status, on spot and futures."""
from __future__ import annotations

from .routes import route


@route("spot", "GET", "/api/v1/timestamp", auth="none")
@route("futures", "GET", "/api/v1/timestamp", auth="none")
def server_time(req, world):
    # req.now_ms already carries the control offset and any clock-skew fault
    return req.now_ms


@route("spot", "GET", "/api/v1/status", auth="none")
def spot_status(req, world):
    return {"status": "open", "msg": ""}


@route("futures", "GET", "/api/v1/status", auth="none")
def futures_status(req, world):
    return {"status": "open", "msg": ""}
