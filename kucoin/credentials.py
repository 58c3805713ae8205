"""Credentials, partner (broker) credentials and host configuration.

Secrets are excluded from every repr so that they cannot leak into logs,
tracebacks or the Django debug page.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

KEY_VERSIONS = ("2", "3")


@dataclass(frozen=True, slots=True)
class Credentials:
    """An API key of one KuCoin account (the broker's own or a sub-account's)."""

    api_key: str
    api_secret: str = field(repr=False)
    api_passphrase: str = field(repr=False)
    # "2" is what this broker's tests with V3 keys confirmed; "3" is what KuCoin's SDK sends.
    key_version: str = "2"
    credential_id: str | None = None

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_secret or not self.api_passphrase:
            raise ValueError("api_key, api_secret and api_passphrase are all required")
        if str(self.key_version) not in KEY_VERSIONS:
            raise ValueError(f"key_version must be one of {KEY_VERSIONS}")
        object.__setattr__(self, "key_version", str(self.key_version))

    @property
    def account_key(self) -> str:
        """Identifier used for rate-limit budgets and logs: never the key itself."""
        if self.credential_id:
            return self.credential_id
        return "key:" + hashlib.sha256(self.api_key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class PartnerCredentials:
    """What KuCoin issued to the broker for one product (spot or futures)."""

    partner: str
    broker_key: str = field(repr=False)
    broker_name: str
    # KC-API-PARTNER-VERIFY: true makes KuCoin refuse a wrong partner signature (400201) instead of
    # silently leaving the order untagged. KuCoin recommends it always; False exists only to reproduce
    # a set-up that forgot it (the broker set-up check and its tests).
    verify: bool = True

    def __post_init__(self) -> None:
        # All four broker headers or none: a partial set is refused up front.
        if not self.partner or not self.broker_key or not self.broker_name:
            raise ValueError("partner, broker_key and broker_name are all required")


@dataclass(frozen=True, slots=True)
class Hosts:
    """One base URL per host family, without a trailing slash."""

    spot: str = "https://api.kucoin.com"
    futures: str = "https://api-futures.kucoin.com"
    broker: str = "https://api-broker.kucoin.com"
    oauth: str = "https://www.kucoin.com"

    def __post_init__(self) -> None:
        for name in ("spot", "futures", "broker", "oauth"):
            object.__setattr__(self, name, getattr(self, name).rstrip("/"))

    def base_url(self, family: str) -> str:
        return getattr(self, family)
