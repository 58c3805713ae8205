"""KuCoin's order rejection codes used by the sandbox's trading section, in one place.

Pure trading code raises `TradingError`, a core `ApiError` (no server needed to raise one), so the
HTTP pipeline answers it as KuCoin's error envelope unchanged.

Where kucoin-api.md section 7 lists several candidate codes, the choice made is noted.
"""
from __future__ import annotations

from sandbox.errors import ApiError


class TradingError(ApiError):
    def __init__(self, code: str, msg: str, http_status: int = 200):
        # Business rejections come back with HTTP 200 and a non-200000 code (kucoin-api.md 1.4).
        super().__init__(code, msg, http_status=http_status)


PARAMETER_ERROR = "400100"

# Spot (section 7.2). 200004 is the code clients observe for "Balance insufficient!" on orders;
# 126013 (HF) is documented too but rarely reported, so the older, widely seen one is used.
SPOT_BALANCE_INSUFFICIENT = "200004"
SPOT_TOO_MANY_OPEN_ORDERS = "200003"
SPOT_CLIENT_OID_DUPLICATE = "126044"
SPOT_ORDER_NOT_FOUND = "126043"
SPOT_SYMBOL_NOT_FOUND = "900001"

# Futures (section 7.3).
FUTURES_ORDER_NOT_FOUND = "100001"
FUTURES_CONTRACT_NOT_FOUND = "100003"
FUTURES_NOT_CANCELABLE = "100004"
FUTURES_ACTIVE_ORDER_LIMIT = "300001"
FUTURES_BALANCE_INSUFFICIENT = "300003"
FUTURES_STOP_ORDER_LIMIT = "300004"
FUTURES_NO_POSITION_TO_CLOSE = "300009"


def parameter_error(field: str, problem: str) -> TradingError:
    """400100 naming the field, the way the back-office shows it to a person."""
    return TradingError(PARAMETER_ERROR, f"Parameter error: {field} {problem}")
