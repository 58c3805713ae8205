"""Clients that sign with an order's key and carry the broker headers, reused within a worker process.

An order is signed with a sub-account's key or with a Fast API connected account's key. Building a client
means a new requests.Session and, on its first call, a clock check; an order task would pay that every
time. So each process keeps a few clients, keyed by the key's source, id and `updated_at` (a changed or
rotated key gets a new client) and by the broker identity they carry.

Their calls go to the call log through `trading.calllog_buffer`, which an order task holds open so that
the calls of one order are written together with the order's final state (one commit, not one per call).
"""
from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict

from django.conf import settings

from accounts.broker import broker_identity
from accounts.clients import credentials_of
from accounts.models import FastApiConnection, SubAccountApiKey
from accounts.services.fastapi import connection_credentials
from brokeroffice.kucoin_clients import make_client
from kucoin import Credentials, KuCoinClient, PartnerCredentials
from trading.calllog_buffer import record_call

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
    return (partner.partner, partner.broker_name, partner.verify,
            hashlib.sha256(partner.broker_key.encode()).hexdigest()[:16])


def _cached_client(key_identity: tuple, credentials_for, verify: bool | None) -> KuCoinClient:
    """The process's client for this key and the broker's current partner headers, made on first use."""
    identity = broker_identity()
    verify = partner_verify() if verify is None else verify
    spot = _with_verify(identity.spot_partner, verify)
    futures = _with_verify(identity.futures_partner, verify)
    cache_key = (*key_identity, identity.credentials.key_version, _fingerprint(spot), _fingerprint(futures),
                 settings.KUCOIN_SPOT_URL, settings.KUCOIN_FUTURES_URL)
    with _lock:
        client = _clients.get(cache_key)
        if client is not None:
            _clients.move_to_end(cache_key)
            return client
    credentials: Credentials = credentials_for(identity.credentials.key_version)  # decrypted only here
    client = make_client(credentials, spot_partner=spot, futures_partner=futures)
    client.transport.on_request = record_call  # buffered while an order task holds the buffer open
    with _lock:
        _clients[cache_key] = client
        while len(_clients) > MAX_CLIENTS:
            _, old = _clients.popitem(last=False)
            old.close()
    return client


def order_client(key: SubAccountApiKey, *, verify: bool | None = None) -> KuCoinClient:
    """A client signing with a sub-account's `key` and the broker's spot and futures partner headers."""
    return _cached_client(("key", key.pk, key.updated_at, key.api_key),
                          lambda version: credentials_of(key, key_version=version), verify)


def connection_order_client(connection: FastApiConnection, *, verify: bool | None = None) -> KuCoinClient:
    """A client signing with a connected account's key (raises ConnectionKeyUnusable when it may not sign)."""
    if not connection.key_usable:
        connection_credentials(connection)  # raises ConnectionKeyUnusable, in words
    return _cached_client(("fastapi", connection.pk, connection.api_key, connection.key_in_use),
                          lambda version: connection_credentials(connection, key_version=version), verify)


def client_for_order(order, *, verify: bool | None = None) -> KuCoinClient:
    """The client for the key an order is signed with (its sub-account key, or its connected account's key)."""
    if order.fast_api_connection_id:
        return connection_order_client(order.fast_api_connection, verify=verify)
    return order_client(order.api_key, verify=verify)


def clients_clear() -> None:
    with _lock:
        while _clients:
            _clients.popitem()[1].close()
