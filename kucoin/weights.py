"""Every endpoint this package calls: host family, method, path, rate-limit pool and weight.

Weights and pools are KuCoin's own metadata (`x-api-rate-limit-weight` /
`x-api-rate-limit-pool` in kucoin-openapi/, spec sections 3.16 and 8.3).
The KYC endpoints have no weight in KuCoin's metadata; 1 is assumed.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Endpoint:
    family: str  # spot | futures | broker | oauth
    method: str
    path: str  # may hold {placeholders}
    pool: str  # spot | futures | management | public | broker
    weight: int
    signed: bool = True

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def _e(family, method, path, pool, weight, signed=True) -> Endpoint:
    return Endpoint(family, method, path, pool, weight, signed)


# Server time (public).
SPOT_SERVER_TIME = _e("spot", "GET", "/api/v1/timestamp", "public", 3, signed=False)
FUTURES_SERVER_TIME = _e("futures", "GET", "/api/v1/timestamp", "public", 2, signed=False)

# ND broker (broker host, Broker pool).
BROKER_INFO = _e("broker", "GET", "/api/v1/broker/nd/info", "broker", 2)
BROKER_ADD_SUB_ACCOUNT = _e("broker", "POST", "/api/v1/broker/nd/account", "broker", 3)
BROKER_GET_SUB_ACCOUNTS = _e("broker", "GET", "/api/v1/broker/nd/account", "broker", 2)
BROKER_ADD_API_KEY = _e("broker", "POST", "/api/v1/broker/nd/account/apikey", "broker", 3)
BROKER_GET_API_KEYS = _e("broker", "GET", "/api/v1/broker/nd/account/apikey", "broker", 2)
BROKER_MODIFY_API_KEY = _e("broker", "POST", "/api/v1/broker/nd/account/update-apikey", "broker", 3)
BROKER_DELETE_API_KEY = _e("broker", "DELETE", "/api/v1/broker/nd/account/apikey", "broker", 3)
BROKER_TRANSFER = _e("broker", "POST", "/api/v1/broker/nd/transfer", "broker", 1)
BROKER_TRANSFER_DETAIL = _e("broker", "GET", "/api/v3/broker/nd/transfer/detail", "broker", 1)
BROKER_DEPOSIT_LIST = _e("broker", "GET", "/api/v1/asset/ndbroker/deposit/list", "broker", 10)
BROKER_DEPOSIT_DETAIL = _e("broker", "GET", "/api/v3/broker/nd/deposit/detail", "broker", 1)
BROKER_WITHDRAW_DETAIL = _e("broker", "GET", "/api/v3/broker/nd/withdraw/detail", "broker", 1)
BROKER_REBATE_DOWNLOAD = _e("broker", "GET", "/api/v1/broker/nd/rebase/download", "broker", 3)
BROKER_KYC_SUBMIT = _e("broker", "POST", "/api/kyc/ndBroker/proxyClient/submit", "broker", 1)
BROKER_KYC_STATUS = _e("broker", "GET", "/api/kyc/ndBroker/proxyClient/status/list", "broker", 1)
BROKER_KYC_STATUS_PAGE = _e("broker", "GET", "/api/kyc/ndBroker/proxyClient/status/page", "broker", 1)

# Spot (spot host).
SPOT_PLACE_ORDER = _e("spot", "POST", "/api/v1/hf/orders", "spot", 1)
SPOT_GET_ORDER = _e("spot", "GET", "/api/v1/hf/orders/{orderId}", "spot", 2)
SPOT_GET_ORDER_BY_CLIENT_OID = _e("spot", "GET", "/api/v1/hf/orders/client-order/{clientOid}", "spot", 2)
SPOT_CANCEL_ORDER = _e("spot", "DELETE", "/api/v1/hf/orders/{orderId}", "spot", 1)
SPOT_CANCEL_ORDER_BY_CLIENT_OID = _e("spot", "DELETE", "/api/v1/hf/orders/client-order/{clientOid}", "spot", 1)
SPOT_ACCOUNTS = _e("spot", "GET", "/api/v1/accounts", "management", 5)

# The key's own wallet (spot host, Management pool): V3 deposit addresses, V3 withdrawals and the
# non-deprecated withdrawal calls of openapi-account-deposit.json / openapi-account-withdrawal.json.
ACCOUNT_ADD_DEPOSIT_ADDRESS = _e("spot", "POST", "/api/v3/deposit-address/create", "management", 20)
ACCOUNT_GET_DEPOSIT_ADDRESSES = _e("spot", "GET", "/api/v3/deposit-addresses", "management", 5)
ACCOUNT_WITHDRAWAL_QUOTAS = _e("spot", "GET", "/api/v1/withdrawals/quotas", "management", 20)
ACCOUNT_WITHDRAW = _e("spot", "POST", "/api/v3/withdrawals", "management", 5)
ACCOUNT_CANCEL_WITHDRAWAL = _e("spot", "DELETE", "/api/v1/withdrawals/{withdrawalId}", "management", 20)
ACCOUNT_GET_WITHDRAWAL = _e("spot", "GET", "/api/v1/withdrawals/{withdrawalId}", "management", 20)
ACCOUNT_WITHDRAWAL_HISTORY = _e("spot", "GET", "/api/v1/withdrawals", "management", 20)

# Futures (futures host).
FUTURES_PLACE_ORDER = _e("futures", "POST", "/api/v1/orders", "futures", 2)
FUTURES_GET_ORDER = _e("futures", "GET", "/api/v1/orders/{orderId}", "futures", 5)
FUTURES_GET_ORDER_BY_CLIENT_OID = _e("futures", "GET", "/api/v1/orders/byClientOid", "futures", 5)
FUTURES_CANCEL_ORDER = _e("futures", "DELETE", "/api/v1/orders/{orderId}", "futures", 1)
FUTURES_CANCEL_ORDER_BY_CLIENT_OID = _e("futures", "DELETE", "/api/v1/orders/client-order/{clientOid}", "futures", 1)
FUTURES_ORDER_LIST = _e("futures", "GET", "/api/v1/orders", "futures", 2)
FUTURES_STOP_ORDER_LIST = _e("futures", "GET", "/api/v1/stopOrders", "futures", 6)
FUTURES_ACCOUNT_OVERVIEW = _e("futures", "GET", "/api/v1/account-overview", "futures", 5)

ALL_ENDPOINTS: tuple[Endpoint, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Endpoint))
