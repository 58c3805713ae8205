"""Builds `kucoin/` clients from configuration and stored credentials, with the shared rate limiter and
the call log wired in. Only services and tasks use these: a view never calls KuCoin."""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from brokeroffice.calllog import record_kucoin_call
from kucoin import Credentials, Hosts, KuCoinClient, PartnerCredentials, ServerClock
from kucoin.oauth import OAuthClient
from kucoin.ratelimit import WINDOW_MS, InProcessRateLimiter, RateLimiter, RedisRateLimiter


def kucoin_hosts() -> Hosts:
    return Hosts(
        spot=settings.KUCOIN_SPOT_URL,
        futures=settings.KUCOIN_FUTURES_URL,
        broker=settings.KUCOIN_BROKER_URL,
        oauth=settings.KUCOIN_OAUTH_URL,
    )


@lru_cache(maxsize=1)
def _rate_limiter(redis_url: str, window_ms: int = WINDOW_MS) -> RateLimiter:
    if redis_url:
        import redis

        # Shared by every worker process and machine, so each account stays under its quota.
        return RedisRateLimiter(redis.Redis.from_url(redis_url), window_ms=window_ms)
    return InProcessRateLimiter(window_ms=window_ms)


def rate_limiter() -> RateLimiter:
    return _rate_limiter(settings.REDIS_URL, settings.KUCOIN_RATE_LIMIT_WINDOW_MS)


@lru_cache(maxsize=4)
def _server_clock(spot_url: str) -> ServerClock:
    return ServerClock()


def server_clock() -> ServerClock:
    """One offset to KuCoin's clock per process, learnt once and shared by every client."""
    return _server_clock(settings.KUCOIN_SPOT_URL)


def make_client(
    credentials: Credentials,
    *,
    spot_partner: PartnerCredentials | None = None,
    futures_partner: PartnerCredentials | None = None,
) -> KuCoinClient:
    return KuCoinClient(
        credentials,
        hosts=kucoin_hosts(),
        spot_partner=spot_partner,
        futures_partner=futures_partner,
        rate_limiter=rate_limiter(),
        on_request=record_kucoin_call,
        clock=server_clock(),
    )


def make_public_client() -> KuCoinClient:
    """For calls that need no key (server time)."""
    return KuCoinClient(None, hosts=kucoin_hosts(), rate_limiter=rate_limiter(), on_request=record_kucoin_call,
                        clock=server_clock())


def make_oauth_client(*, client_id: str, client_secret: str | None = None, **paths: str) -> OAuthClient:
    return OAuthClient(
        settings.KUCOIN_OAUTH_URL, client_id, client_secret=client_secret, on_request=record_kucoin_call, **paths
    )
