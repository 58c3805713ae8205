"""Who sends a transfer: one execution at a time, and never two of them the same transfer, even when the rate
limiter and KuCoin's 429 keep the first one waiting past its lease and another execution (the task delivered
again, the resume schedule, a payout's own task) takes the row over. A first send that never reached KuCoin
does not count as sent, and a job ends as its transfer does.

Run in this process against the sandbox: Django's clock is moved on by hand while an execution waits, and the
other execution runs during that wait, as a second worker would."""
from decimal import Decimal

import pytest

from accounts.models import Transfer
from accounts.services import transfers
from accounts.services.transfers import TransferFailed, transfer_request, transfer_send
from accounts.tests.busy_pool import keep_first_execution_waiting
from accounts.tests.sandbox_state import sub_accounts, transfers_with
from brokeroffice.jobs import job_create, job_run
from brokeroffice.leases import LeaseHeld
from brokeroffice.models import Job, KuCoinCall
from kucoin.errors import BadRequestError, RateLimitError

pytestmark = pytest.mark.django_db
TRANSFER_PATH = "/api/v1/broker/nd/transfer"


@pytest.fixture
def customer(sandbox_settings, sandbox):
    from accounts.models import SubAccount

    # A short window, so that KuCoin's "try again in" after a 429 (gw-ratelimit-reset) is short too.
    sandbox.set_quota("public", 2000, window_ms=2000)
    uid = sorted(sub_accounts(sandbox.dump()))[0]
    return SubAccount.objects.create(uid=uid, account_name="lease-check", state=SubAccount.State.ACTIVE)


def executed_sends() -> int:
    """Transfer requests KuCoin executed (answered 200000), as the call log recorded them."""
    return KuCoinCall.objects.filter(method="POST", path=TRANSFER_PATH, code="200000").count()


@pytest.fixture
def first_execution_waits(monkeypatch, clock):
    """Makes the next execution's broker pool busy (`wait_s` before each call); once its lease has run out
    during a wait, a second execution sends the transfer, as another worker would."""
    def arrange(transfer: Transfer, wait_s: float) -> dict:
        return keep_first_execution_waiting(monkeypatch, clock, service_module=transfers, pool="broker",
                                            row=transfer, wait_s=wait_s,
                                            take_over=lambda: transfer_send(transfer_id=transfer.pk))

    return arrange


def test_a_send_kept_waiting_past_its_lease_is_not_made_twice(customer, sandbox, first_execution_waits):
    transfer, _ = transfer_request(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("2"))
    # KuCoin answers 429 twice, and the broker pool makes each attempt wait 45 s: past a 120 s lease by the third.
    sandbox.set_fault("rate_limit", count=2, path=TRANSFER_PATH, method="POST")
    seen = first_execution_waits(transfer, 45)

    try:
        transfer_send(transfer_id=transfer.pk)
    except RateLimitError:
        # No room soon: nothing was sent, and it is as if never sent; the task tries again later.
        transfer.refresh_from_db()
        assert (transfer.state, transfer.sent_at, executed_sends()) == (Transfer.State.PENDING, None, 0)
        transfer_send(transfer_id=transfer.pk)
    except LeaseHeld:
        pass  # stood down: the row was taken over

    assert executed_sends() == 1, f"KuCoin executed the transfer request {executed_sends()} times"
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.SUCCEEDED
    assert [t["orderId"] for t in transfers_with(sandbox.dump(), transfer.client_oid)] == [transfer.kucoin_order_id]


def test_kucoins_429_answers_are_tried_again_inside_a_renewed_lease_and_it_goes_out_once(
        customer, sandbox, first_execution_waits):
    transfer, _ = transfer_request(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("2"))
    sandbox.set_fault("rate_limit", count=3, path=TRANSFER_PATH, method="POST")
    seen = first_execution_waits(transfer, 15)

    transfer_send(transfer_id=transfer.pk)

    assert not seen["taken_over"]  # each attempt renewed the lease: nobody took the row over
    assert executed_sends() == 1
    assert KuCoinCall.objects.filter(method="POST", path=TRANSFER_PATH, code="429000").count() == 3
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.SUCCEEDED


def test_a_first_send_that_never_reached_kucoin_does_not_make_a_later_refusal_uncertain(
        customer, sandbox, first_execution_waits):
    transfer, _ = transfer_request(sub_account=customer, direction="IN", currency="USDT", amount=Decimal("99999999"))
    first_execution_waits(transfer, 40)  # no room at the rate limiter soon: the request is not made
    with pytest.raises(RateLimitError):
        transfer_send(transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert (transfer.state, transfer.sent_at, executed_sends()) == (Transfer.State.PENDING, None, 0)

    with pytest.raises(BadRequestError):
        transfer_send(transfer_id=transfer.pk)  # KuCoin refuses: more than the sub-account holds
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.FAILED  # final, not "outcome unknown" waiting for a person
    assert transfer.error_code


def test_a_transfer_job_ends_failed_when_its_transfer_failed_before_it_ran(customer, sandbox):
    # A payout sends its transfer itself; the transfer's own job runs after KuCoin refused it.
    transfer, job = transfer_request(sub_account=customer, direction="IN", currency="USDT", amount=Decimal("99999999"))
    with pytest.raises(BadRequestError):
        transfer_send(transfer_id=transfer.pk)

    with pytest.raises(TransferFailed):
        with job_run(str(job.pk)) as run:
            transfer_send(transfer_id=transfer.pk, run=run)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    transfer.refresh_from_db()
    assert "failed" in job.error and transfer.error_message in job.error


def test_a_transfer_whose_job_gives_up_before_reaching_kucoin_ends_failed_and_is_never_sent_later(customer, sandbox):
    from accounts.services.resume import STALLED_AFTER, stalled_actions
    from accounts.tasks import transfer_send_task
    from brokeroffice.tasking import MAX_RETRIES

    transfer, job = transfer_request(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("2"))
    sandbox.set_fault("rate_limit", count=100, path=TRANSFER_PATH, method="POST")  # KuCoin busy on every attempt

    result = transfer_send_task.apply(args=(str(job.pk), transfer.pk), retries=MAX_RETRIES, throw=False)

    assert result.failed()
    transfer.refresh_from_db()
    assert (transfer.state, transfer.sent_at) == (Transfer.State.FAILED, None)
    assert transfer.error_code == "429000" and transfer.error_message.startswith("Not sent")
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "Nothing moved" in job.error
    # The staff were told it failed: the resume schedule leaves it alone, and KuCoin never made it.
    later = transfer.updated_at + STALLED_AFTER * 2
    assert [args for _, _, args in stalled_actions(now=later) if args == (transfer.pk,)] == []
    assert executed_sends() == 0 and transfers_with(sandbox.dump(), transfer.client_oid) == []



def test_a_first_send_refused_at_kucoins_gateway_ends_failed_and_is_never_sent_later(customer, sandbox, settings):
    from accounts.services.resume import STALLED_AFTER, stalled_actions
    from kucoin.errors import PartnerSignatureError

    transfer, _ = transfer_request(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("2"))
    settings.KUCOIN_BROKER_KEY = "made-up-wrong-broker-key"  # KuCoin refuses the partner signature: 400201

    with pytest.raises(PartnerSignatureError):
        transfer_send(transfer_id=transfer.pk)

    transfer.refresh_from_db()
    assert (transfer.state, transfer.error_code) == (Transfer.State.FAILED, "400201")
    later = transfer.updated_at + STALLED_AFTER * 2
    assert [args for _, _, args in stalled_actions(now=later) if args == (transfer.pk,)] == []
    assert transfers_with(sandbox.dump(), transfer.client_oid) == []


def test_a_payout_whose_transfer_never_reached_kucoin_by_its_last_try_fails_whole(customer, sandbox, make_staff):
    from accounts.models import BrokerWithdrawal
    from accounts.services.payouts import payout_request
    from accounts.services.resume import STALLED_AFTER, stalled_actions
    from accounts.services.withdrawals import withdrawal_quota_fetch
    from accounts.tasks import payout_advance_task
    from accounts.tests.funding_support import TRX_ADDRESS, wallet_withdrawals
    from brokeroffice.tasking import MAX_RETRIES

    sandbox.make_deposit(customer.uid, "USDT", "100")
    withdrawal_quota_fetch(currency="USDT", chain="trx")
    payout, job = payout_request(sub_account=customer, currency="USDT", chain="trx", address=TRX_ADDRESS,
                                 amount=Decimal("30"), requested_by=make_staff("operator", "olga-operator"))
    sandbox.set_fault("rate_limit", count=100, path=TRANSFER_PATH, method="POST")  # KuCoin busy on every attempt

    result = payout_advance_task.apply(args=(str(job.pk), payout.pk), retries=MAX_RETRIES, throw=False)

    assert result.failed()
    payout.transfer.refresh_from_db()
    payout.withdrawal.refresh_from_db()
    job.refresh_from_db()
    assert payout.transfer.state == Transfer.State.FAILED
    assert payout.withdrawal.state == BrokerWithdrawal.State.CANCELLED
    assert job.state == Job.State.FAILED and "nothing is withdrawn" in job.error
    # Staff were told: nothing sends the transfer later, and KuCoin made neither step.
    later = payout.transfer.updated_at + STALLED_AFTER * 2
    assert [args for _, _, args in stalled_actions(now=later) if args == (payout.transfer_id,)] == []
    assert transfers_with(sandbox.dump(), payout.transfer.client_oid) == []
    assert wallet_withdrawals(sandbox.dump(), payout.withdrawal.remark) == []


@pytest.fixture
def payout_of_processing_transfer(customer, sandbox, make_staff):
    """A payout whose transfer KuCoin made, and which read as still processing when last looked at."""
    from accounts.services.payouts import payout_request
    from accounts.services.withdrawals import withdrawal_quota_fetch
    from accounts.tests.funding_support import TRX_ADDRESS

    sandbox.make_deposit(customer.uid, "USDT", "100")
    withdrawal_quota_fetch(currency="USDT", chain="trx")
    payout, job = payout_request(sub_account=customer, currency="USDT", chain="trx", address=TRX_ADDRESS,
                                 amount=Decimal("30"), requested_by=make_staff("operator", "olga-operator"))
    transfer_send(transfer_id=payout.transfer_id)
    Transfer.objects.filter(pk=payout.transfer_id).update(state=Transfer.State.PROCESSING, completed_at=None)
    return payout, job


def test_a_payout_job_that_polled_its_transfer_a_while_still_retries_kucoins_5xx(payout_of_processing_transfer, sandbox):
    from accounts.tasks import payout_advance_task
    from brokeroffice.tasking import MAX_RETRIES

    payout, job = payout_of_processing_transfer
    # Every try of one read of the transfer fails (the client tries a GET four times); the next read works.
    sandbox.set_fault("http_502", count=4, path="/api/v3/broker/nd/transfer/detail", method="GET")
    polls = MAX_RETRIES + 2  # more looks at the processing transfer than a transient failure gets tries

    payout_advance_task.apply(args=(str(job.pk), payout.pk), kwargs={"polls": polls}, retries=polls, throw=False)

    job.refresh_from_db()
    payout.transfer.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert payout.transfer.state == Transfer.State.SUCCEEDED


def test_a_payout_job_leaves_a_transfer_kucoin_is_still_processing_to_the_schedule_without_failing(
        payout_of_processing_transfer, monkeypatch):
    from accounts.services import transfers
    from accounts.tasks import PAYOUT_TRANSFER_POLLS, payout_advance_task

    payout, job = payout_of_processing_transfer
    monkeypatch.setattr(transfers, "_apply_detail", lambda transfer_id, detail: Transfer.State.PROCESSING)  # KuCoin: still processing

    payout_advance_task.apply(args=(str(job.pk), payout.pk), kwargs={"polls": PAYOUT_TRANSFER_POLLS},
                              retries=PAYOUT_TRANSFER_POLLS, throw=False)

    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert "is processing" in job.message and "Follow broker withdrawals and payouts" in job.message
