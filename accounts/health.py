"""Readiness: one real KuCoin call with the broker's credentials. A key KuCoin refuses makes the service
not ready, with KuCoin's code. The answer is cached briefly so that load balancers do not spend the
broker's rate limit."""
from __future__ import annotations

from django.core.cache import cache

from accounts.broker import BrokerNotConfigured
from accounts.clients import broker_client
from brokeroffice.kucoin_errors import error_code, error_in_words
from kucoin.errors import KuCoinError

CACHE_KEY = "readiness:kucoin"
CACHE_SECONDS = 30


def kucoin_readiness() -> dict:
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return cached
    try:
        # The sub-account list needs a valid broker key, passphrase, signature and partner signature.
        page = broker_client().broker.get_sub_accounts(page=1, page_size=1)
        report = {"ok": True, "sub_accounts": page.total_num}
    except (KuCoinError, BrokerNotConfigured) as exc:
        report = {"ok": False, "code": error_code(exc), "error": error_in_words(exc)}
    cache.set(CACHE_KEY, report, CACHE_SECONDS)
    return report
