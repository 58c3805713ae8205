"""KuCoin clients for the broker account and for sub-account keys (services and tasks only)."""
from __future__ import annotations

from accounts.broker import broker_identity
from accounts.models import SubAccountApiKey
from brokeroffice.kucoin_clients import make_client
from kucoin import Credentials, KuCoinClient


class KeyHasNoSecret(Exception):
    """The key was found at KuCoin but its secret is not stored here, so it cannot sign."""


def broker_client() -> KuCoinClient:
    identity = broker_identity()
    return make_client(
        identity.credentials, spot_partner=identity.spot_partner, futures_partner=identity.futures_partner
    )


def credentials_of(key: SubAccountApiKey, *, key_version: str) -> Credentials:
    if not key.has_secret:
        raise KeyHasNoSecret(f"The key {key.api_key} has no stored secret: import it, or create a new one.")
    return Credentials(
        api_key=key.api_key, api_secret=key.secret, api_passphrase=key.passphrase,
        key_version=key_version, credential_id=key.credential_id,
    )


def make_key_client(key: SubAccountApiKey) -> KuCoinClient:
    """A client that signs with a sub-account's key and carries the broker headers (so orders are tagged)."""
    identity = broker_identity()
    # The key-version header the broker uses for its own key works for the V3 keys of its sub-accounts.
    credentials = credentials_of(key, key_version=identity.credentials.key_version)
    return make_client(
        credentials, spot_partner=identity.spot_partner, futures_partner=identity.futures_partner
    )
