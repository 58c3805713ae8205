"""The official SDK (kucoin-universal-sdk, test-only) pointed at a sandbox."""
from __future__ import annotations

from enum import Enum

from kucoin_universal_sdk.api.client import DefaultClient
from kucoin_universal_sdk.model.client_option import ClientOptionBuilder
from kucoin_universal_sdk.model.transport_option import TransportOptionBuilder


def sdk_client(sandbox, *, api_key=None, secret=None, passphrase=None):
    b = sandbox.broker
    opt = (ClientOptionBuilder()
           .set_key(api_key or b["api_key"]).set_secret(secret or b["api_secret"])
           .set_passphrase(passphrase or b["api_passphrase"])
           .set_broker_name(b["broker_name"]).set_broker_partner(b["partner"]).set_broker_key(b["broker_key"])
           .set_spot_endpoint(sandbox.urls["spot"]).set_futures_endpoint(sandbox.urls["futures"])
           .set_broker_endpoint(sandbox.urls["broker"])
           .set_transport_option(TransportOptionBuilder().set_max_retries(0).set_read_timeout(10).build())
           .build())
    return DefaultClient(opt)


def nd_api(sandbox, **kw):
    return sdk_client(sandbox, **kw).rest_service().get_broker_service().get_nd_broker_api()


def fields(model, *names):
    """Assert the SDK parsed every named field (a failed parse leaves them all None)."""
    d = {k: (v.value if isinstance(v, Enum) else v) for k, v in model.to_dict().items()}
    missing = [n for n in names if d.get(n) is None]
    assert not missing, f"SDK model lacks {missing}: {d}"
    return d
