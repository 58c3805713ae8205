"""Signing: the spec's three test vectors header for header, and agreement with KuCoin's own
SDK signer (kucoin-universal-sdk, test-only) over thousands of generated inputs."""
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kucoin import Credentials, PartnerCredentials
from kucoin.signing import Signer, encoded_query, json_body, raw_query, signed_headers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's pydantic use

from .conftest import API_KEY, API_PASSPHRASE, API_SECRET, BROKER_KEY, BROKER_NAME, PARTNER

TS = "1718000000250"
PASSPHRASE_SIGN = "4vlxtzWSgZrS95H/icRFpV4mVTFsj3XmfGXJWZ3gPoM="
PARTNER_SIGN = "CULpaKxbBOSIRRtF2PCyk17x8WvDXItzfHgDTCyIAI0="
V3_CREDS = Credentials(API_KEY, API_SECRET, API_PASSPHRASE, key_version="3")
PARTNER_CREDS = PartnerCredentials(PARTNER, BROKER_KEY, BROKER_NAME)


def _expected(sign):
    return {
        "KC-API-KEY": "TEST-APIKEY-0001",
        "KC-API-PASSPHRASE": PASSPHRASE_SIGN,
        "KC-API-TIMESTAMP": TS,
        "KC-API-SIGN": sign,
        "KC-API-KEY-VERSION": "3",
        "KC-API-PARTNER": "TESTPARTNER",
        "KC-BROKER-NAME": "TESTBROKERNAME",
        "KC-API-PARTNER-VERIFY": "true",
        "KC-API-PARTNER-SIGN": PARTNER_SIGN,
    }


def test_vector_1_get_with_query():
    h = signed_headers(V3_CREDS, TS, "GET", "/api/v1/broker/nd/account/apikey",
                       [("uid", "100000001"), ("apiKey", "TEST-SUBKEY-0001")], partner=PARTNER_CREDS)
    assert h == _expected("NWZ6prIEqpZvJ7JenBgyStLdZmgWVGoBe0SR++hbs9A=")


def test_vector_2_post_with_body():
    body = json_body({"currency": "USDT", "amount": "25.5", "direction": "OUT", "accountType": "MAIN",
                      "specialUid": "100000001", "specialAccountType": "TRADE", "clientOid": "test-transfer-0001"})
    assert body == (b'{"currency":"USDT","amount":"25.5","direction":"OUT","accountType":"MAIN",'
                    b'"specialUid":"100000001","specialAccountType":"TRADE","clientOid":"test-transfer-0001"}')
    h = signed_headers(V3_CREDS, TS, "POST", "/api/v1/broker/nd/transfer", body=body, partner=PARTNER_CREDS)
    assert h == _expected("RLxw5r5/F96qVep1nhd0HsodvIY7eOjkO3O25Cpdi38=")


def test_vector_3_query_signed_decoded_sent_encoded():
    pairs = [("uid", "100000001"), ("apiKey", "ab c!@#1")]
    assert encoded_query(pairs) == "uid=100000001&apiKey=ab+c%21%40%231"
    assert raw_query(pairs) == "uid=100000001&apiKey=ab c!@#1"
    h = signed_headers(V3_CREDS, TS, "GET", "/api/v1/broker/nd/account/apikey", pairs, partner=PARTNER_CREDS)
    assert h == _expected("6m/lJEmC8h7gzl/xe0JGlhs+xQUklc9TJu76tcKOh44=")
    assert h["KC-API-SIGN"] != "2ogTer4gzvvoh3xM6+OsUz4V3lFgemzX6JSc4F4TEqE="  # the encoded-query signature


def test_key_version_default_is_2_and_3_selectable():
    default = Credentials(API_KEY, API_SECRET, API_PASSPHRASE)
    assert signed_headers(default, TS, "GET", "/x")["KC-API-KEY-VERSION"] == "2"
    assert signed_headers(V3_CREDS, TS, "GET", "/x")["KC-API-KEY-VERSION"] == "3"
    with pytest.raises(ValueError):
        Credentials(API_KEY, API_SECRET, API_PASSPHRASE, key_version="1")


def test_broker_headers_all_or_none():
    plain = signed_headers(V3_CREDS, TS, "GET", "/x")
    assert not any(k.startswith(("KC-API-PARTNER", "KC-BROKER")) for k in plain)
    with pytest.raises(ValueError):
        PartnerCredentials(PARTNER, "", BROKER_NAME)
    with pytest.raises(ValueError):
        PartnerCredentials(PARTNER, BROKER_KEY, "")


def test_secrets_never_in_repr():
    s = Signer(V3_CREDS, PARTNER_CREDS)
    for text in (repr(V3_CREDS), str(V3_CREDS), repr(PARTNER_CREDS), repr(s)):
        assert API_SECRET not in text and API_PASSPHRASE not in text and BROKER_KEY not in text
        assert PASSPHRASE_SIGN not in text


# --- agreement with the official SDK -----------------------------------------------------------

sdk_signer_mod = pytest.importorskip("kucoin_universal_sdk.internal.infra.default_signer")
KcSigner = sdk_signer_mod.KcSigner

# Any unicode except lone surrogates (not encodable as UTF-8, so never sendable).
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
RESERVED = st.text(alphabet=st.sampled_from(list("!#$&'()*+,/:;=?@[]% \"<>\\^`{|}~é中🙂\t\n")), max_size=20)
VALUE = st.one_of(TEXT, RESERVED)
_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
KEY = st.text(alphabet=_SAFE, min_size=1, max_size=16)
PATH = st.lists(st.text(alphabet=_SAFE + ".", min_size=1, max_size=12), min_size=1, max_size=5).map(
    lambda parts: "/" + "/".join(parts))
# Long bodies (1-20 KB) from a short random piece repeated: cheap to generate, same coverage of bytes.
SECRET = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=80)
LONG = st.tuples(SECRET, st.integers(min_value=200, max_value=2000)).map(lambda t: (t[0] * t[1])[:20000])
BODY = st.one_of(st.just(""), TEXT, RESERVED, LONG)
TIMESTAMP = st.integers(min_value=1_500_000_000_000, max_value=4_000_000_000_000)


def _sdk_headers(signer: KcSigner, ts_ms: int, prehash_without_ts: str, broker: bool) -> dict:
    with mock.patch("time.time", return_value=ts_ms / 1000 + 0.0004):
        return signer.broker_headers(prehash_without_ts) if broker else signer.headers(prehash_without_ts)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "POST", "DELETE"]), path=PATH,
       query=st.lists(st.tuples(KEY, VALUE), max_size=5), body=BODY, ts=TIMESTAMP,
       secret=SECRET, passphrase=SECRET, broker_key=SECRET,
       broker=st.booleans())
def test_signatures_equal_official_sdk(method, path, query, body, ts, secret, passphrase, broker_key, broker):
    creds = Credentials("TEST-APIKEY-0001", secret, passphrase, key_version="3")
    partner = PartnerCredentials(PARTNER, broker_key, BROKER_NAME) if broker else None
    target = path + ("?" + raw_query(query) if query else "")
    ours = Signer(creds, partner).headers(str(ts), method, target, body.encode("utf-8"))
    sdk = KcSigner("TEST-APIKEY-0001", secret, passphrase, BROKER_NAME, PARTNER, broker_key)
    theirs = _sdk_headers(sdk, ts, method + target + body, broker)
    assert ours == theirs


# Through the SDK's own transport: its query building, URL encoding and body serialisation.
transport_mod = pytest.importorskip("kucoin_universal_sdk.internal.infra.default_transport")
from kucoin_universal_sdk.generate.broker.ndbroker.model_get_sub_account_api_req import GetSubAccountApiReq  # noqa: E402
from kucoin_universal_sdk.generate.broker.ndbroker.model_transfer_req import TransferReq  # noqa: E402
from kucoin_universal_sdk.model.client_option import ClientOption  # noqa: E402
from kucoin_universal_sdk.model.transport_option import TransportOption  # noqa: E402


def _sdk_transport():
    opt = ClientOption(key="TEST-APIKEY-0001", secret=API_SECRET, passphrase=API_PASSPHRASE,
                       broker_name=BROKER_NAME, broker_partner=PARTNER, broker_key=BROKER_KEY,
                       transport_option=TransportOption(), spot_endpoint="https://s", futures_endpoint="https://f",
                       broker_endpoint="https://api-broker.kucoin.com")
    return transport_mod.DefaultTransport(opt, "1.3.2")


SDK_TRANSPORT = _sdk_transport()
OUR_SIGNER = Signer(V3_CREDS, PARTNER_CREDS)
SIGN_HEADERS = ["KC-API-KEY", "KC-API-PASSPHRASE", "KC-API-TIMESTAMP", "KC-API-SIGN", "KC-API-KEY-VERSION",
                "KC-API-PARTNER", "KC-BROKER-NAME", "KC-API-PARTNER-VERIFY", "KC-API-PARTNER-SIGN"]


def _sdk_prepare(req_obj, method, path, ts):
    with mock.patch("time.time", return_value=ts / 1000 + 0.0004):
        return SDK_TRANSPORT.process_request(req_obj, True, path, "https://api-broker.kucoin.com", method, False)


@settings(max_examples=500, deadline=None)
@given(uid=VALUE, api_key=st.one_of(st.none(), VALUE), ts=TIMESTAMP)
def test_query_url_and_signature_equal_sdk_transport(uid, api_key, ts):
    path = "/api/v1/broker/nd/account/apikey"
    prepared = _sdk_prepare(GetSubAccountApiReq(uid=uid, apiKey=api_key), "GET", path, ts)
    from kucoin.signing import query_pairs
    pairs = query_pairs([("uid", uid), ("apiKey", api_key)])
    our_url = "https://api-broker.kucoin.com" + path + ("?" + encoded_query(pairs) if pairs else "")
    assert prepared.url == our_url
    ours = OUR_SIGNER.headers(str(ts), "GET", path + ("?" + raw_query(pairs) if pairs else ""))
    assert {k: prepared.headers[k] for k in SIGN_HEADERS} == ours


@settings(max_examples=500, deadline=None)
@given(currency=TEXT, amount=VALUE, uid=VALUE, oid=VALUE, ts=TIMESTAMP)
def test_body_bytes_and_signature_equal_sdk_transport(currency, amount, uid, oid, ts):
    path = "/api/v1/broker/nd/transfer"
    req = TransferReq(currency=currency, amount=amount, direction="OUT", accountType="MAIN", specialUid=uid,
                      specialAccountType="TRADE", clientOid=oid)
    prepared = _sdk_prepare(req, "POST", path, ts)
    body = json_body({"currency": currency, "amount": amount, "direction": "OUT", "accountType": "MAIN",
                      "specialUid": uid, "specialAccountType": "TRADE", "clientOid": oid})
    sent = prepared.body if isinstance(prepared.body, bytes) else prepared.body.encode("utf-8")
    assert body == sent
    ours = OUR_SIGNER.headers(str(ts), "POST", path, body)
    assert {k: prepared.headers[k] for k in SIGN_HEADERS} == ours


@settings(max_examples=300, deadline=None)
@given(key=st.binary(max_size=200), msg=st.binary(max_size=300))
def test_prekeyed_hmac_equals_stdlib(key, msg):
    import base64
    import hashlib
    import hmac

    from kucoin.signing import PrekeyedHmacSha256
    assert PrekeyedHmacSha256(key).b64(msg) == base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def test_without_verify_the_partner_headers_go_without_kc_api_partner_verify():
    from kucoin import Credentials, PartnerCredentials
    from kucoin.signing import Signer

    credentials = Credentials("TEST-APIKEY-0001", "TEST-SECRET-not-a-real-secret", "test-passphrase-1")
    quiet = PartnerCredentials("TESTPARTNER", "TEST-BROKERKEY-not-real", "TESTBROKERNAME", verify=False)
    headers = Signer(credentials, quiet).headers("1718000000250", "GET", "/api/v1/timestamp")
    assert "KC-API-PARTNER-VERIFY" not in headers
    assert headers["KC-API-PARTNER-SIGN"] == "CULpaKxbBOSIRRtF2PCyk17x8WvDXItzfHgDTCyIAI0="
