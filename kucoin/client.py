"""KuCoinClient: one credential, one requests.Session, endpoint groups sharing one transport."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from .account import AccountAPI
from .broker import BrokerAPI
from .clock import ServerClock
from .credentials import Credentials, Hosts, PartnerCredentials
from .futures import FuturesAPI
from .ratelimit import RateLimiter
from .spot import SpotAPI
from .transport import RequestRecord, Transport


class KuCoinClient:
    """Client for one KuCoin API key.

    Partner credentials: `spot_partner` signs the spot and broker hosts, `futures_partner`
    the futures host; ND broker calls use `broker_partner` if given, else the spot one.
    Without partner credentials for a host, no broker header is sent there (never a partial set).
    """

    def __init__(
        self,
        credentials: Credentials | None,
        hosts: Hosts = Hosts(),
        spot_partner: PartnerCredentials | None = None,
        futures_partner: PartnerCredentials | None = None,
        rate_limiter: RateLimiter | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
        timeout: tuple[float, float] = (3.05, 10),
        max_get_retries: int = 3,
        clock: ServerClock | None = None,
        broker_partner: PartnerCredentials | None = None,
        **transport_options,
    ) -> None:
        partners = {"spot": spot_partner, "futures": futures_partner, "broker": broker_partner or spot_partner}
        self.transport = Transport(credentials, hosts=hosts, partners=partners, rate_limiter=rate_limiter,
                                   on_request=on_request, timeout=timeout, max_get_retries=max_get_retries,
                                   clock=clock, **transport_options)
        self.broker = BrokerAPI(self.transport)
        self.spot = SpotAPI(self.transport)
        self.futures = FuturesAPI(self.transport)
        self.account = AccountAPI(self.transport)   # the key's own wallet: deposit addresses, withdrawals

    def __repr__(self) -> str:
        return f"KuCoinClient({self.transport!r})"

    def server_time(self, family: str = "spot") -> datetime:
        ms = self.transport.server_time_ms(family)
        return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)

    def sync_clock(self) -> float:
        """Learn the offset to KuCoin's clock now (otherwise done before the first signed call)."""
        return self.transport.sync_clock()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "KuCoinClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
