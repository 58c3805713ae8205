"""Query signing holds for any value (decoded text signed, encoded text sent), and the world lock
makes concurrent identical transfers move money once."""
import threading
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from kucoin_universal_sdk.generate.broker.ndbroker import GetSubAccountApiReq

from .kc import Kc
from .sdk import nd_api


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_characters="&="),
                     min_size=1, max_size=20))
def test_any_query_value_signed_decoded_is_accepted(sandbox, value):
    r = Kc.broker(sandbox).get("/api/v1/broker/nd/account", {"uid": value})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["items"] == []


def test_sdk_query_with_characters_that_encoding_changes(sandbox):
    # kucoin-api.md vector 3: the SDK sends ab+c%21%40%231 and signs "ab c!@#1"
    uid = sandbox.dump()["accounts"]["accounts"][1]["uid"]
    r = nd_api(sandbox).get_sub_account_api(GetSubAccountApiReq(uid=uid, api_key="ab c!@#1"))
    assert r.common_response.code == "200000" and r.data == []


def test_concurrent_identical_transfers_move_money_once(sandbox):
    uid = next(a["uid"] for a in sandbox.dump()["accounts"]["accounts"] if a["broker_uid"])
    before = {(r["uid"], r["accountType"], r["currency"]): Decimal(r["balance"]) for r in sandbox.dump()["balances"]}
    body = {"currency": "USDT", "amount": "3", "direction": "OUT", "accountType": "MAIN", "specialUid": uid,
            "specialAccountType": "TRADE", "clientOid": "race-1"}
    ids = []

    def go():
        ids.append(Kc.broker(sandbox).post("/api/v1/broker/nd/transfer", body).json()["data"]["orderId"])

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    after = {(r["uid"], r["accountType"], r["currency"]): Decimal(r["balance"]) for r in sandbox.dump()["balances"]}
    assert after[(uid, "TRADE", "USDT")] - before.get((uid, "TRADE", "USDT"), 0) == 3
