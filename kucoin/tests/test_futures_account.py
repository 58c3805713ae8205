"""client.futures.get_account_overview: what KuCoin receives and what the caller gets back (Decimal, from
JSON numbers), against the local server and against the sandbox over real HTTP."""
import uuid
from decimal import Decimal

import pytest

from kucoin import Credentials, Hosts, KuCoinClient, PartnerCredentials
from kucoin import weights as w
from kucoin.errors import AuthenticationError, ValidationError
from kucoin.ratelimit import InProcessRateLimiter

OVERVIEW = {"accountEquity": 394.439280806, "unrealisedPNL": 20.15278, "marginBalance": 371.394298816,
            "positionMargin": 102.20664159, "orderMargin": 10.06002012, "frozenFunds": 0.0,
            "availableBalance": 290.326799096, "currency": "USDT", "riskRatio": 0.0065289525,
            "maxWithdrawAmount": 290.326419096}


def test_weight_from_the_openapi_file():
    e = w.FUTURES_ACCOUNT_OVERVIEW
    assert (e.family, e.method, e.path, e.pool, e.weight) == ("futures", "GET", "/api/v1/account-overview", "futures", 5)


def test_overview_query_and_exact_decimals(fake, make_client):
    client = make_client()
    fake.route("GET", "/api/v1/account-overview", OVERVIEW)
    a = client.futures.get_account_overview("usdt")
    [req] = [r for r in fake.executed if r.path == "/api/v1/account-overview"]
    assert req.query == [("currency", "USDT")]
    assert a.currency == "USDT"
    assert a.account_equity == Decimal("394.439280806") and a.order_margin == Decimal("10.06002012")
    assert a.position_margin == Decimal("102.20664159") and a.available_balance == Decimal("290.326799096")
    assert a.frozen_funds == 0 and not a.is_empty


def test_overview_of_an_empty_account_is_empty(fake, make_client):
    fake.route("GET", "/api/v1/account-overview", dict(OVERVIEW, **{k: 0 for k in OVERVIEW if k != "currency"}))
    assert make_client().futures.get_account_overview("XBT").is_empty


@pytest.mark.parametrize("currency", ["", None, "US DT", "USDT&x=1"])
def test_overview_refuses_a_malformed_currency_before_sending(fake, make_client, currency):
    with pytest.raises(ValidationError):
        make_client().futures.get_account_overview(currency)
    assert not [r for r in fake.executed if r.path == "/api/v1/account-overview"]


# -- against the sandbox ---------------------------------------------------------------------------
def _sandbox_client(sb, api_key, secret, passphrase):
    b = sb.broker
    return KuCoinClient(Credentials(api_key, secret, passphrase, credential_id="t"), hosts=Hosts(**sb.urls),
                        spot_partner=PartnerCredentials(b["partner"], b["broker_key"], b["broker_name"]),
                        rate_limiter=InProcessRateLimiter())


@pytest.fixture
def sub_with_futures_money(sandbox):
    pytest.importorskip("sandbox.testing")
    b = sandbox.broker
    broker = _sandbox_client(sandbox, b["api_key"], b["api_secret"], b["api_passphrase"])
    sub = broker.broker.add_sub_account("fut-" + uuid.uuid4().hex[:10])
    state = sandbox.dump()
    state["balances"].append({"uid": sub.uid, "accountType": "CONTRACT", "currency": "USDT", "balance": "123.45",
                              "holds": "20", "available": "103.45"})
    sandbox.load(state)
    yield broker, sub
    broker.close()


def test_sandbox_reports_the_sub_accounts_futures_money(sandbox, sub_with_futures_money):
    broker, sub = sub_with_futures_money
    key = broker.broker.add_api_key(sub.uid, "futures-pass-01", ["general", "futures"], "fut-reader")
    with _sandbox_client(sandbox, key.api_key, key.secret_key, "futures-pass-01") as c:
        usdt = c.futures.get_account_overview("USDT")
        assert (usdt.account_equity, usdt.order_margin, usdt.available_balance) == (
            Decimal("123.45"), Decimal("20"), Decimal("103.45"))
        assert c.futures.get_account_overview("USDC").is_empty


def test_sandbox_refuses_a_key_without_the_futures_permission(sandbox, sub_with_futures_money):
    broker, sub = sub_with_futures_money
    key = broker.broker.add_api_key(sub.uid, "general-pass-01", ["general"], "gen-reader")
    with _sandbox_client(sandbox, key.api_key, key.secret_key, "general-pass-01") as c:
        with pytest.raises(AuthenticationError):
            c.futures.get_account_overview("USDT")
