"""A first send of a broker withdrawal that never reached KuCoin is not a send: no room at the rate limiter or
KuCoin's 429 leave it approved (it can still be cancelled, and nothing at KuCoin); KuCoin's gateway refusing
the broker's key fails it in words, and nothing sends it later.

Run in this process against the sandbox, Django's clock moved on by hand while the rate limiter keeps it waiting."""
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import BrokerWithdrawal
from accounts.services import withdrawals
from accounts.services.single_attempts import SEND_ATTEMPTS, SEND_WAIT_S
from accounts.services.withdrawals import SYNC_GRACE, withdrawal_cancel, withdrawal_send
from accounts.tests.busy_pool import keep_first_execution_waiting
from accounts.tests.funding_support import approved_withdrawal, wallet_withdrawals
from brokeroffice.jobs import job_create, job_run
from brokeroffice.models import Job
from kucoin.errors import AuthenticationError, RateLimitError

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_staff):
    return {"operator": make_staff("operator", "olga-operator"), "ada": make_staff("broker-admin", "ada-admin")}


@pytest.fixture
def approved(sandbox_settings, people):
    return approved_withdrawal(operator=people["operator"], approver=people["ada"])


def follow() -> Job:
    """The schedule that follows withdrawals, through the command of the runbooks. -> its job."""
    call_command("withdrawals_sync", stdout=StringIO())
    return Job.objects.filter(kind="broker_withdrawals_sync").order_by("-created_at").first()


def set_withdrawal_permission(sandbox, allowed: bool) -> None:
    """Gives the broker's key at KuCoin its Withdrawal permission, or takes it away."""
    state = sandbox.dump()
    broker_key = next(k for k in state["accounts"]["keys"] if str(k["uid"]) == str(sandbox.broker["uid"]))
    others = [p for p in broker_key["permissions"] if p != "Withdrawal"]
    broker_key["permissions"] = [*others, "Withdrawal"] if allowed else others
    sandbox.load(state)


@pytest.mark.parametrize("refusal", ["no room at our rate limiter", "KuCoin's 429 to every attempt"])
def test_a_first_send_that_never_reached_kucoin_stays_approved_and_can_be_cancelled(
        sandbox, approved, people, monkeypatch, clock, refusal):
    if refusal == "no room at our rate limiter":
        wait_s = SEND_WAIT_S + 5  # longer than a send waits for the limiter: BudgetWaitExceeded
    else:
        wait_s = 1
        sandbox.set_fault("rate_limit", count=SEND_ATTEMPTS, path="/api/v3/withdrawals", method="POST")
    seen = keep_first_execution_waiting(monkeypatch, clock, service_module=withdrawals, pool="management",
                                        row=approved, wait_s=wait_s, take_over=follow)

    with pytest.raises(RateLimitError):
        withdrawal_send(withdrawal_id=approved.pk)

    assert not seen["taken_over"]
    assert wallet_withdrawals(sandbox.dump(), approved.remark) == []
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.APPROVED and approved.sent_at is None
    # Nothing reached KuCoin: it can still be cancelled here, and then nothing sends it.
    assert withdrawal_cancel(withdrawal=approved, by=people["ada"]) is None
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.CANCELLED
    clock(SYNC_GRACE.total_seconds() + 1)
    assert follow().state == Job.State.SUCCEEDED
    assert wallet_withdrawals(sandbox.dump(), approved.remark) == []


def test_a_first_send_that_never_reached_kucoin_goes_out_once_on_the_next_try(sandbox, approved, monkeypatch, clock):
    keep_first_execution_waiting(monkeypatch, clock, service_module=withdrawals, pool="management",
                                 row=approved, wait_s=SEND_WAIT_S + 5, take_over=follow)
    with pytest.raises(RateLimitError):
        withdrawal_send(withdrawal_id=approved.pk)

    withdrawal_send(withdrawal_id=approved.pk)  # the task's next try (the limiter has room now)

    made = wallet_withdrawals(sandbox.dump(), approved.remark)
    assert len(made) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING and approved.kucoin_withdrawal_id == made[0]["id"]
    steps = list(approved.audit_records.values_list("action", flat=True))
    assert steps == ["requested", "approved", "sending", "not_sent", "sending", "sent", "status"]


def test_a_first_send_refused_for_the_brokers_key_fails_in_words_and_is_not_sent_later(sandbox, approved, clock):
    # The broker's key lost its Withdrawal permission at KuCoin: the quota check passes, the withdraw is refused.
    set_withdrawal_permission(sandbox, False)

    job = job_create(kind="broker_withdrawal_send", label=f"Send: {approved}")
    with pytest.raises(AuthenticationError):
        with job_run(str(job.pk)) as run:
            withdrawal_send(withdrawal_id=approved.pk, run=run)

    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "400007" in job.error
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.FAILED and approved.error_code == "400007"
    assert "Not sent" in approved.error_message and "permission" in approved.error_message

    # Staff fix the key; the schedule does not send the failed withdrawal (a new request would).
    set_withdrawal_permission(sandbox, True)
    clock(SYNC_GRACE.total_seconds() + 1)
    assert follow().state == Job.State.SUCCEEDED
    assert wallet_withdrawals(sandbox.dump(), approved.remark) == []
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.FAILED


def test_a_job_whose_last_try_never_reached_kucoin_leaves_the_approved_withdrawal_to_the_schedule(
        sandbox, approved, clock):
    sandbox.set_fault("rate_limit", count=1000, path="/api/v3/withdrawals", method="POST")

    job = job_create(kind="broker_withdrawal_send", label=f"Send: {approved}")
    with job_run(str(job.pk)) as run:
        withdrawal_send(withdrawal_id=approved.pk, run=run, last_try=True)

    # Not "failed": staff who read that may request it again, and the schedule sends this one anyway.
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert "not sent yet (KuCoin: rate-limit" in job.message, job.message
    assert "stays approved" in job.message and "unless it is cancelled" in job.message
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.APPROVED and approved.sent_at is None
    assert wallet_withdrawals(sandbox.dump(), approved.remark) == []

    # KuCoin has room again: the schedule sends it, once.
    sandbox.clear_faults()
    clock(SYNC_GRACE.total_seconds() + 1)
    assert follow().state == Job.State.SUCCEEDED
    assert len(wallet_withdrawals(sandbox.dump(), approved.remark)) == 1
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.PROCESSING


def test_on_its_last_try_a_job_still_fails_a_withdrawal_refused_for_the_brokers_key(sandbox, approved):
    set_withdrawal_permission(sandbox, False)

    job = job_create(kind="broker_withdrawal_send", label=f"Send: {approved}")
    with pytest.raises(AuthenticationError):
        with job_run(str(job.pk)) as run:
            withdrawal_send(withdrawal_id=approved.pk, run=run, last_try=True)

    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "400007" in job.error
    approved.refresh_from_db()
    assert approved.state == BrokerWithdrawal.State.FAILED


def test_a_job_whose_last_try_found_another_execution_sending_says_so(sandbox, approved):
    from brokeroffice.leases import leased

    job = job_create(kind="broker_withdrawal_send", label=f"Send: {approved}")
    with leased(BrokerWithdrawal, approved.pk):  # another execution (the schedule's, say) holds the withdrawal
        with job_run(str(job.pk)) as run:
            withdrawal_send(withdrawal_id=approved.pk, run=run, last_try=True)

    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert "another execution is sending it now" in job.message and "do not request it again" in job.message
