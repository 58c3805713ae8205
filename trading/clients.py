"""Clients that sign with an order's key and carry the broker headers, reused within a worker process.

Building a client means a new requests.Session and, on its first call, a clock check; an order task would
pay that every time. So each process keeps a few clients, keyed by the key's id and `updated_at` (a
changed or rotated key gets a new client) and by the broker identity they carry.
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

from django.conf import settings

from accounts.broker import broker_identity
from accounts.clients import credentials_of
from accounts.models import SubAccountApiKey
from brokeroffice.kucoin_clients import make_client
from kucoin import KuCoinClient, PartnerCredentials

MAX_CLIENTS = 64
_lock = threading.Lock()
_clients: "OrderedDict[tuple, KuCoinClient]" = OrderedDict()


def partner_verify() -> bool:
    """KC-API-PARTNER-VERIFY on order calls. Always on in production; the setting only exists to
    reproduce a set-up that forgot it (tests, the set-up check)."""
    return bool(getattr(settings, "KUCOIN_PARTNER_VERIFY", True))


def _with_verify(partner: PartnerCredentials | None, verify: bool) -> PartnerCredentials | None:
    if partner is None or partner.verify == verify:
        return partner
    return dataclasses.replace(partner, verify=verify)


def _fingerprint(partner: PartnerCredentials | None) -> tuple:
    if partner is None:
        return ()
    import hashlib

    return (partner.partner, partner.broker_name, partner.verify,
            hashlib.sha256(partner.broker_key.encode()).hexdigest()[:16])


def order_client(key: SubAccountApiKey, *, verify: bool | None = None) -> KuCoinClient:
    """A client signing with `key` and the broker's spot and futures partner headers (so orders are tagged)."""
    identity = broker_identity()
    verify = partner_verify() if verify is None else verify
    spot = _with_verify(identity.spot_partner, verify)
    futures = _with_verify(identity.futures_partner, verify)
    cache_key = (key.pk, key.updated_at, key.api_key, identity.credentials.key_version, _fingerprint(spot),
                 _fingerprint(futures), settings.KUCOIN_SPOT_URL, settings.KUCOIN_FUTURES_URL)
    with _lock:
        client = _clients.get(cache_key)
        if client is not None:
            _clients.move_to_end(cache_key)
            return client
    credentials = credentials_of(key, key_version=identity.credentials.key_version)
    client = make_client(credentials, spot_partner=spot, futures_partner=futures)
    with _lock:
        _clients[cache_key] = client
        while len(_clients) > MAX_CLIENTS:
            _, old = _clients.popitem(last=False)
            old.close()
    return client


def clients_clear() -> None:
    with _lock:
        while _clients:
            _clients.popitem()[1].close()
