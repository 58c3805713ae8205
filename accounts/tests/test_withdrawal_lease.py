"""Who sends a broker withdrawal: one execution at a time, and never two of them the same withdrawal, even when
KuCoin or the rate limiter keep the first one waiting past its lease and the schedule that follows withdrawals
takes the row over; and the schedule leaves a withdrawal just approved to its own task.

Run in this process against the sandbox: Django's clock is moved on by hand while an execution waits, and the
other execution runs during that wait, as a second worker would."""
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import BrokerWithdrawal
from accounts.services import withdrawals
from accounts.services.withdrawals import SYNC_GRACE, withdrawal_approve, withdrawal_request, withdrawal_send
from accounts.tests.busy_pool import keep_first_execution_waiting
from accounts.tests.funding_support import TRX_ADDRESS, approved_withdrawal, quota_snapshot, wallet_withdrawals
from brokeroffice.leases import LeaseHeld
from brokeroffice.models import KuCoinCall
from kucoin.errors import RateLimitError

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(sandbox_settings, make_staff):
    return approved_withdrawal(operator=make_staff("operator", "olga-operator"),
                               approver=make_staff("broker-admin", "ada-admin"))


def held(dump: dict, uid: str, currency: str) -> Decimal:
    """What KuCoin holds on the broker's MAIN account for withdrawals under way."""
    return next(Decimal(r["holds"]) for r in dump["balances"]
                if r["uid"] == uid and r["accountType"] == "MAIN" and r["currency"] == currency)


def follow() -> str:
    """The schedule that follows withdrawals, through the command of the runbooks."""
    out = StringIO()
    call_command("withdrawals_sync", stdout=out)
    return out.getvalue()


@pytest.fixture
def first_execution_waits(monkeypatch, clock, approved):
    """Makes the next execution's rate limiter busy (`wait_s` per management call); once its lease has run
    out during a wait, the schedule runs, as it would on another worker. -> a function taking wait_s."""
    def arrange(wait_s: float) -> dict:
        return keep_first_execution_waiting(monkeypatch, clock, service_module=withdrawals, pool="management",
                                            row=approved, wait_s=wait_s, take_over=follow)

    return arrange


def test_an_execution_whose_lease_ran_out_during_the_quota_check_does_not_send_it_again(
        sandbox, approved, first_execution_waits):
    broker_uid = sandbox.broker["uid"]
    # KuCoin answers the quota check with 503 twice while the account is busy: three waits of 50 s.
    sandbox.set_fault("http_503", count=2, path="/api/v1/withdrawals/quotas", method="GET")
    seen = first_execution_waits(50)

    try:
        withdrawal_send(withdrawal_id=approved.pk)
        stood_down = False
    except LeaseHeld:
        stood_down = True

    assert seen["taken_over"]  # the schedule took the row over and sent it meanwhile
    after = sandbox.dump()
    at_kucoin = wallet_withdrawals(after, approved.remark)
    assert len(at_kucoin) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING and approved.kucoin_withdrawal_id == at_kucoin[0]["id"]
    assert held(after, broker_uid, "USDT") == Decimal("26")  # the amount and the fee, once
    assert list(approved.audit_records.values_list("action", flat=True)) == [
        "requested", "approved", "sending", "sent", "status"]
    assert stood_down  # the first execution found the row taken over (its task's retry finds it sent)


def test_a_send_kept_waiting_by_the_rate_limiter_past_its_lease_is_not_made_twice(
        sandbox, approved, first_execution_waits):
    # 50 s before each call: the quota check (KuCoin's 503, then its answer), then the withdraw request.
    sandbox.set_fault("http_503", count=1, path="/api/v1/withdrawals/quotas", method="GET")
    first_execution_waits(50)

    try:
        withdrawal_send(withdrawal_id=approved.pk)
    except RateLimitError:
        # The request was not made: the task tries again later, and looks it up at KuCoin first.
        assert wallet_withdrawals(sandbox.dump(), approved.remark) == []
        withdrawal_send(withdrawal_id=approved.pk)

    at_kucoin = wallet_withdrawals(sandbox.dump(), approved.remark)
    assert len(at_kucoin) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING and approved.kucoin_withdrawal_id == at_kucoin[0]["id"]


def test_kucoins_429_answers_to_the_withdraw_are_tried_again_and_it_goes_out_once(
        sandbox, approved, first_execution_waits):
    sandbox.set_fault("rate_limit", count=3, path="/api/v3/withdrawals", method="POST")
    seen = first_execution_waits(15)

    withdrawal_send(withdrawal_id=approved.pk)

    assert not seen["taken_over"]  # each attempt renewed the lease: nobody took the row over
    at_kucoin = wallet_withdrawals(sandbox.dump(), approved.remark)
    assert len(at_kucoin) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING and approved.kucoin_withdrawal_id == at_kucoin[0]["id"]
    attempts = KuCoinCall.objects.filter(method="POST", path="/api/v3/withdrawals").order_by("pk")
    assert list(attempts.values_list("code", flat=True)) == ["429000", "429000", "429000", "200000"]


def test_the_schedule_leaves_a_just_approved_withdrawal_to_its_own_task_then_sends_a_lost_one(
        sandbox_settings, sandbox, make_staff, clock):
    quota_snapshot()
    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("25"),
                                    requested_by=make_staff("operator", "olga-operator"))
    clock(3600)  # approved an hour after it was requested
    withdrawal_approve(withdrawal=withdrawal, approver=make_staff("broker-admin", "ada-admin"), confirm_unlisted=True)

    follow()
    assert wallet_withdrawals(sandbox.dump(), withdrawal.remark) == []
    withdrawal.refresh_from_db()
    assert withdrawal.state == BrokerWithdrawal.State.APPROVED

    clock(SYNC_GRACE.total_seconds() + 1)  # its task was lost
    follow()
    assert len(wallet_withdrawals(sandbox.dump(), withdrawal.remark)) == 1
    withdrawal.refresh_from_db()
    assert withdrawal.state == BrokerWithdrawal.State.PROCESSING
