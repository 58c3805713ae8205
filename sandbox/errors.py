"""KuCoin error codes, their messages and the HTTP status the sandbox answers them with.

Statuses follow ../shared/kucoin-api.md section 7: observed ones where known, the spec's
recommendation otherwise. Business rejections (400100, balance, order rules) come with HTTP 200,
gateway errors with 4xx.
"""
from __future__ import annotations

# code -> (http status, default message)
CODES: dict[str, tuple[int, str]] = {
    "400001": (400, "Please check the header of your request for KC-API-KEY, KC-API-SIGN, "
                    "KC-API-TIMESTAMP, KC-API-PASSPHRASE"),
    "400002": (400, "Invalid KC-API-TIMESTAMP"),
    "400003": (401, "KC-API-KEY not exists"),
    "400004": (401, "Invalid KC-API-PASSPHRASE"),
    "400005": (401, "Invalid KC-API-SIGN"),
    "400006": (403, "Invalid request IP, the current client IP is: %s."),
    "400007": (403, "Access Denied, Your api key does not have sufficient permissions to access the URI"),
    "400008": (401, "V1 & V2 API keys are no longer supported by this API. Please create a V3 API key."),
    "400009": (400, "Invalid KC-API-KEY-VERSION"),
    "400010": (403, "UID access denied, requires more permission"),
    "400100": (200, "Parameter error"),
    "400200": (400, "Unknown partner"),
    "400201": (400, "Invalid KC-API-PARTNER-SIGN"),
    "404000": (404, "Url Not Found"),
    "415000": (415, "Unsupported Media Type"),
    "429000": (429, "Too Many Requests"),
    "500000": (500, "Internal Server Error"),
    "502000": (502, "Bad Gateway"),
    "503000": (503, "Service Unavailable"),
    # business codes used by the core (HTTP 200)
    "200004": (200, "Balance insufficient!"),
    "230003": (200, "Balance insufficient!"),
}


class ApiError(Exception):
    """Raised by a handler (or the pipeline) to answer ``{"code": code, "msg": msg}``.

    ``http_status`` defaults to the status of ``CODES`` (200 for unknown business codes).
    """

    def __init__(self, code: str | int, msg: str | None = None, *, http_status: int | None = None,
                 headers: dict[str, str] | None = None):
        code = str(code)
        default_status, default_msg = CODES.get(code, (200, "error"))
        self.code = code
        self.msg = msg if msg is not None else default_msg
        self.http_status = http_status if http_status is not None else default_status
        self.headers = headers or {}
        super().__init__(f"{self.code} {self.msg}")


def param_error(detail: str) -> ApiError:
    """400100 with the detail KuCoin-style, e.g. ``param_error("pageSize must be <= 100")``."""
    return ApiError("400100", detail)
