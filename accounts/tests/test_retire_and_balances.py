"""Balances read with a sub-account's own key, and retiring a sub-account."""
from decimal import Decimal

import pytest

from accounts.models import SubAccount, SubAccountApiKey, SubAccountBalance
from accounts.services.apikeys import apikey_create
from accounts.services.retire import subaccount_retire
from accounts.tests.sandbox_state import balance, keys_of
from brokeroffice.jobs import job_start
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


def set_balance(sandbox, uid: str, account_type: str, currency: str, amount, holds=0) -> None:
    """What KuCoin holds for the customer, as if it had traded or moved funds itself."""
    state = sandbox.dump()
    rows = [r for r in state["balances"] if (r["uid"], r["accountType"], r["currency"]) != (uid, account_type, currency)]
    amount, holds = Decimal(amount), Decimal(holds)
    rows.append({"uid": uid, "accountType": account_type, "currency": currency, "balance": str(amount),
                 "holds": str(holds), "available": str(amount - holds)})
    state["balances"] = rows
    # Loading restarts the sandbox's random ids from its seed: a new seed keeps it from handing out again the id
    # of a key it made (and deleted) before the load.
    state["seed"] = int(state["seed"]) + 1
    sandbox.load(state)


def rows_of(dump: dict, uid: str) -> dict:
    return {(r["accountType"], r["currency"]): (Decimal(r["balance"]), Decimal(r["holds"]))
            for r in dump["balances"] if r["uid"] == uid}


@pytest.fixture
def funded_customer(synced_sub_accounts, sandbox):
    """A sub-account that holds something in MAIN or TRADE at KuCoin, all of it movable (nothing on hold, nothing
    in its futures account)."""
    dump = sandbox.dump()
    by_uid = {s.uid: s for s in synced_sub_accounts}
    for row in dump["balances"]:
        if row["uid"] in by_uid and row["accountType"].upper() in ("MAIN", "TRADE") and Decimal(row["available"]) > 0:
            uid = row["uid"]
            for other in dump["balances"]:
                if other["uid"] == uid and (other["accountType"] not in ("MAIN", "TRADE") or Decimal(other["holds"])):
                    set_balance(sandbox, uid, other["accountType"], other["currency"], 0)
            return by_uid[uid]
    pytest.fail("the sandbox seeds no funded sub-account")


def test_balances_are_read_with_the_sub_accounts_own_key(funded_customer, sandbox, finished):
    from accounts.tasks import balances_refresh_task

    key, job = apikey_create(sub_account=funded_customer, label="reader", permissions=["General"], ip_whitelist=[])
    finished(job)
    job = finished(job_start(kind="balances_refresh", label="Balances", task=balances_refresh_task, args=(funded_customer.pk,)))
    assert job.state == Job.State.SUCCEEDED, job.error

    dump = sandbox.dump()
    stored = SubAccountBalance.objects.filter(sub_account=funded_customer)
    assert stored.exists()
    for row in stored:
        assert row.balance == balance(dump, funded_customer.uid, row.account_type, row.currency)


def test_retiring_moves_the_money_home_deletes_every_key_and_marks_it_retired(funded_customer, sandbox, finished):
    broker_uid = sandbox.broker["uid"]
    before = sandbox.dump()
    movable = {
        (row["accountType"].upper(), row["currency"]): Decimal(row["available"])
        for row in before["balances"]
        if row["uid"] == funded_customer.uid and row["accountType"].upper() in ("MAIN", "TRADE") and Decimal(row["available"]) > 0
    }
    assert keys_of(before, funded_customer.uid), "the sandbox seeds keys for it"

    job = finished(subaccount_retire(sub_account=funded_customer), timeout=120)
    assert job.state == Job.State.SUCCEEDED, job.error

    after = sandbox.dump()
    assert keys_of(after, funded_customer.uid) == {}
    for (account_type, currency), amount in movable.items():
        assert balance(after, funded_customer.uid, account_type, currency) == 0
    moved_home = {}
    for (account_type, currency), amount in movable.items():
        moved_home[currency] = moved_home.get(currency, 0) + amount
    for currency, amount in moved_home.items():
        assert balance(after, broker_uid, "MAIN", currency) - balance(before, broker_uid, "MAIN", currency) == amount
    funded_customer.refresh_from_db()
    assert funded_customer.state == SubAccount.State.RETIRED
    assert not funded_customer.api_keys.exclude(state=SubAccountApiKey.State.DELETED).exists()


def test_retiring_twice_does_nothing_more(funded_customer, sandbox, finished):
    finished(subaccount_retire(sub_account=funded_customer), timeout=120)
    once = sandbox.dump()
    funded_customer.refresh_from_db()
    funded_customer.state = SubAccount.State.RETIRING  # as if an operator pressed the button again
    funded_customer.save()
    job = finished(subaccount_retire(sub_account=funded_customer), timeout=120)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert sandbox.dump()["funding"]["transfers"] == once["funding"]["transfers"]


# -- money a transfer to the broker cannot move ---------------------------------------------------------

def _retire_refused(customer, sandbox, finished, expected_in_error: list[str]):
    """Retiring is refused: the job says what is left, and KuCoin holds exactly what it held before."""
    before = sandbox.dump()
    job = finished(subaccount_retire(sub_account=customer), timeout=120)
    assert job.state == Job.State.FAILED
    assert "Not retired" in job.error
    for text in expected_in_error:
        assert text in job.error
    after = sandbox.dump()
    assert keys_of(after, customer.uid) == keys_of(before, customer.uid), "no key deleted, none left behind"
    assert rows_of(after, customer.uid) == rows_of(before, customer.uid), "no money moved"
    assert after["funding"]["transfers"] == before["funding"]["transfers"]
    customer.refresh_from_db()
    assert customer.state == SubAccount.State.ACTIVE
    return job


def test_retiring_is_refused_while_the_futures_account_holds_money(funded_customer, sandbox, finished):
    set_balance(sandbox, funded_customer.uid, "CONTRACT", "USDT", "321.5")
    _retire_refused(funded_customer, sandbox, finished, ["321.5 USDT in the futures account"])


def test_retiring_is_refused_while_open_orders_hold_money(funded_customer, sandbox, finished):
    set_balance(sandbox, funded_customer.uid, "TRADE", "USDT", "1000", holds="250")
    _retire_refused(funded_customer, sandbox, finished, ["250", "USDT held by open orders in trade"])


def test_retiring_is_refused_while_the_bitcoin_futures_account_holds_money(funded_customer, sandbox, finished):
    # KuCoin names bitcoin XBT in the futures account.
    set_balance(sandbox, funded_customer.uid, "CONTRACT", "BTC", "0.5")
    _retire_refused(funded_customer, sandbox, finished, ["0.5 XBT in the futures account"])


def test_once_the_futures_money_is_moved_retiring_moves_it_all_home(funded_customer, sandbox, finished):
    set_balance(sandbox, funded_customer.uid, "CONTRACT", "USDT", "321.5")
    _retire_refused(funded_customer, sandbox, finished, ["321.5 USDT in the futures account"])

    # the customer (or staff) moves the futures money to the Funding account, then staff retire again
    main_before = balance(sandbox.dump(), funded_customer.uid, "MAIN", "USDT")
    set_balance(sandbox, funded_customer.uid, "CONTRACT", "USDT", 0)
    set_balance(sandbox, funded_customer.uid, "MAIN", "USDT", main_before + Decimal("321.5"))
    before = sandbox.dump()
    job = finished(subaccount_retire(sub_account=funded_customer), timeout=120)
    assert job.state == Job.State.SUCCEEDED, job.error
    after = sandbox.dump()
    assert all(amount == 0 for amount, _ in rows_of(after, funded_customer.uid).values())
    assert keys_of(after, funded_customer.uid) == {}
    broker_uid = sandbox.broker["uid"]
    expected = sum(b for (t, c), (b, _) in rows_of(before, funded_customer.uid).items() if c == "USDT")
    assert balance(after, broker_uid, "MAIN", "USDT") - balance(before, broker_uid, "MAIN", "USDT") == expected
    assert "nothing is left in it" in job.message
    funded_customer.refresh_from_db()
    assert funded_customer.state == SubAccount.State.RETIRED
