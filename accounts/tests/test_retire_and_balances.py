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


@pytest.fixture
def funded_customer(synced_sub_accounts, sandbox):
    """A sub-account that holds something in MAIN or TRADE at KuCoin."""
    dump = sandbox.dump()
    by_uid = {s.uid: s for s in synced_sub_accounts}
    for row in dump["balances"]:
        if row["uid"] in by_uid and row["accountType"].upper() in ("MAIN", "TRADE") and Decimal(row["available"]) > 0:
            return by_uid[row["uid"]]
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
