"""A broker withdrawal whose answer was lost is not sent again while KuCoin may still be making it: right after
a 504 or a read timeout, KuCoin's withdrawal history may not list a withdrawal it is executing, so an empty
look-up by remark is trusted only LISTING_LAG after the last attempt that may have reached KuCoin.

Run in this process against the sandbox, Django's clock moved on by hand (as the task's tries and the schedule
would be, later). The sandbox lists a withdrawal as soon as it makes it; `kucoin_lists` hides it from the
history until the test says KuCoin has caught up, as KuCoin's listing lag would."""
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import BrokerWithdrawal
from accounts.services import withdrawals
from accounts.services.single_attempts import attempt_lease_seconds
from accounts.services.withdrawals import LISTING_LAG, SYNC_GRACE, withdrawal_send
from accounts.tests.funding_support import approved_withdrawal, wallet_withdrawals
from brokeroffice.models import Job
from brokeroffice.tasking import TRANSIENT_ERRORS
from kucoin.account import AccountAPI
from kucoin.errors import OutcomeUnknownError

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(sandbox_settings, make_staff):
    return approved_withdrawal(operator=make_staff("operator", "olga-operator"),
                               approver=make_staff("broker-admin", "ada-admin"))


@pytest.fixture
def kucoin_lists(monkeypatch):
    """KuCoin's withdrawal history while it is still executing a withdraw: empty until `kucoin_lists["caught_up"]`."""
    seen = {"caught_up": False}
    real_find = AccountAPI.find_withdrawals

    def find_withdrawals(self, *args, **kwargs):
        found = real_find(self, *args, **kwargs)
        return found if seen["caught_up"] else []

    monkeypatch.setattr(AccountAPI, "find_withdrawals", find_withdrawals)
    return seen


def follow() -> Job:
    """The schedule that follows withdrawals, through the command of the runbooks. -> its job."""
    call_command("withdrawals_sync", stdout=StringIO())
    return Job.objects.filter(kind="broker_withdrawals_sync").order_by("-created_at").first()


def test_a_lost_answer_is_not_sent_again_while_kucoin_does_not_list_the_withdrawal_yet(
        sandbox, approved, clock, kucoin_lists):
    def at_kucoin():
        return wallet_withdrawals(sandbox.dump(), approved.remark)

    # KuCoin makes the withdrawal; the answer is lost (a 504, a read timeout).
    sandbox.set_fault("drop_after", count=1, path="/api/v3/withdrawals", method="POST")
    with pytest.raises(OutcomeUnknownError):
        withdrawal_send(withdrawal_id=approved.pk)
    assert len(at_kucoin()) == 1

    # The task's next try, a second or two later: KuCoin does not list it yet, so it is not sent again; the
    # task tries later.
    clock(2)
    with pytest.raises(TRANSIENT_ERRORS):
        withdrawal_send(withdrawal_id=approved.pk)
    assert len(at_kucoin()) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.UNKNOWN and approved.kucoin_withdrawal_id is None

    # The schedule, 30 s on: it leaves the withdrawal for a later run, and its job does not fail for it.
    clock(SYNC_GRACE.total_seconds() + 1)
    job = follow()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert len(at_kucoin()) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.UNKNOWN

    # KuCoin lists it: the next run finds it, and it is followed as the one KuCoin made.
    kucoin_lists["caught_up"] = True
    clock(120)
    assert follow().state == Job.State.SUCCEEDED
    made = at_kucoin()
    assert len(made) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING and approved.kucoin_withdrawal_id == made[0]["id"]


@pytest.mark.parametrize("fault", ["drop_before", "http_502"])
def test_an_attempt_that_never_reached_kucoin_is_sent_again_once_kucoin_would_list_it(
        sandbox, approved, clock, fault):
    def at_kucoin():
        return wallet_withdrawals(sandbox.dump(), approved.remark)

    # The answer is lost and KuCoin did NOT make it; from here that looks the same as a lost answer.
    sandbox.set_fault(fault, count=1, path="/api/v3/withdrawals", method="POST")
    with pytest.raises(OutcomeUnknownError):
        withdrawal_send(withdrawal_id=approved.pk)
    clock(2)
    with pytest.raises(TRANSIENT_ERRORS):
        withdrawal_send(withdrawal_id=approved.pk)
    assert at_kucoin() == []

    clock(LISTING_LAG.total_seconds())
    withdrawal_send(withdrawal_id=approved.pk)
    made = at_kucoin()
    assert len(made) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING and approved.kucoin_withdrawal_id == made[0]["id"]
    steps = list(approved.audit_records.values_list("action", flat=True))
    assert steps.count("sending") == 2 and steps.count("looked_up") == 2


class WorkerKilled(BaseException):
    """The worker died during the attempt: nothing after the request ran, not even the record of its outcome."""


def test_after_a_worker_died_during_the_attempt_the_wait_also_covers_how_long_the_attempt_could_last(
        sandbox, approved, clock, kucoin_lists, monkeypatch):
    def at_kucoin():
        return wallet_withdrawals(sandbox.dump(), approved.remark)

    real_withdraw = AccountAPI.withdraw

    def withdraw_then_die(self, *args, **kwargs):
        real_withdraw(self, *args, **kwargs)
        raise WorkerKilled()

    monkeypatch.setattr(AccountAPI, "withdraw", withdraw_then_die)
    with pytest.raises(WorkerKilled):
        withdrawal_send(withdrawal_id=approved.pk)
    monkeypatch.setattr(AccountAPI, "withdraw", real_withdraw)
    assert len(at_kucoin()) == 1

    # The attempt may have lasted as long as its lease: LISTING_LAG after its start is not enough.
    clock(LISTING_LAG.total_seconds() + 1)
    with pytest.raises(TRANSIENT_ERRORS):
        withdrawal_send(withdrawal_id=approved.pk)
    assert len(at_kucoin()) == 1

    kucoin_lists["caught_up"] = True
    clock(attempt_lease_seconds(withdrawals.broker_client().transport))
    withdrawal_send(withdrawal_id=approved.pk)
    made = at_kucoin()
    assert len(made) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING and approved.kucoin_withdrawal_id == made[0]["id"]
