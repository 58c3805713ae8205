"""Actions whose task was lost are resumed, once, and jobs whose worker died stop looking busy."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import SubAccount, Transfer
from accounts.tasks import resume_stalled_task
from accounts.tests.sandbox_state import sub_accounts, transfers_with
from brokeroffice.jobs import job_start, jobs_mark_lost
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


def make_stalled(queryset):
    queryset.update(updated_at=timezone.now() - timedelta(hours=1))


def test_lost_creations_and_transfers_are_resumed_and_happen_once(synced_sub_accounts, sandbox, finished):
    customer = synced_sub_accounts.order_by("uid").first()
    # Intents recorded, their tasks lost (never queued), one transfer's answer lost after KuCoin did it.
    waiting = SubAccount.objects.create(account_name="resumed-0001")
    unsent = Transfer.objects.create(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("2"))
    answered_lost = Transfer.objects.create(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("3"))
    sandbox.set_fault("drop_after", count=1, path="/api/v1/broker/nd/transfer", method="POST")
    from accounts.services.transfers import transfer_send
    from kucoin.errors import OutcomeUnknownError

    with pytest.raises(OutcomeUnknownError):
        transfer_send(transfer_id=answered_lost.pk)
    make_stalled(SubAccount.objects.filter(pk=waiting.pk))
    make_stalled(Transfer.objects.filter(pk__in=[unsent.pk, answered_lost.pk]))

    job = finished(job_start(kind="resume_stalled", label="Resume", task=resume_stalled_task))
    assert job.result == {"resumed": 3}, job.message
    for resumed in Job.objects.filter(requested_by_label="resume"):
        assert finished(resumed).state == Job.State.SUCCEEDED, resumed.label

    dump = sandbox.dump()
    waiting.refresh_from_db()
    assert list(sub_accounts(dump).values()).count("resumed-0001") == 1 and waiting.state == SubAccount.State.ACTIVE
    for transfer in (unsent, answered_lost):
        transfer.refresh_from_db()
        assert transfer.state == Transfer.State.SUCCEEDED
        assert len(transfers_with(dump, transfer.client_oid)) == 1


def test_a_transfer_waiting_for_a_person_is_not_resumed(synced_sub_accounts, finished):
    customer = synced_sub_accounts.first()
    row = Transfer.objects.create(sub_account=customer, direction="IN", currency="USDT", amount=Decimal("1"),
                                  state=Transfer.State.UNKNOWN, error_code="400100", error_message="refused")
    make_stalled(Transfer.objects.filter(pk=row.pk))
    job = finished(job_start(kind="resume_stalled", label="Resume", task=resume_stalled_task))
    assert job.result == {"resumed": 0}


def test_jobs_whose_worker_died_are_marked_failed(db):
    now = timezone.now()
    dead = Job.objects.create(kind="x", label="Died", state=Job.State.RUNNING, started_at=now - timedelta(hours=3))
    alive = Job.objects.create(kind="x", label="Busy", state=Job.State.RUNNING, started_at=now - timedelta(minutes=1))
    assert jobs_mark_lost(running_longer_than=timedelta(hours=1), pending_longer_than=timedelta(hours=3)) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.state == Job.State.FAILED and "stopped before it finished" in dead.error
    assert alive.state == Job.State.RUNNING


def test_stalled_orders_are_looked_up_and_never_sent_late(kucoin_worker, sandbox, finished):
    """An order whose job failed after its retries (5xx, no answer) or whose task was lost is only looked up by
    clientOid: recorded when KuCoin has it, otherwise marked not placed. Staff, seeing its job failed, may have
    placed another: a late send could trade twice at a stale price."""
    from kucoin.errors import OutcomeUnknownError
    from trading.models import Order
    from trading.services.batches import orders_send_chunk
    from trading.services.orders import order_send
    from trading.tests.conftest import CUSTOMER_UID, import_key
    from trading.tests.sandbox_orders import orders_with

    key = import_key(sandbox.dump(), CUSTOMER_UID)

    def order(**extra):
        return Order.objects.create(api_key=key, sub_account=key.sub_account, market="spot", symbol="BTC-USDT",
                                    side="buy", type="market", funds=Decimal("10"), **extra)

    never_reached = order()  # every attempt answered 502: KuCoin never had it
    sandbox.set_fault("http_502", count=1, path="/api/v1/hf/orders", method="POST")
    with pytest.raises(OutcomeUnknownError):  # a 5xx to a POST: whether it happened is unknown
        order_send(order_id=never_reached.pk)
    answer_lost = order()  # KuCoin placed it; the answer was lost
    sandbox.set_fault("drop_after", count=1, path="/api/v1/hf/orders", method="POST")
    with pytest.raises(OutcomeUnknownError):
        order_send(order_id=answer_lost.pk)
    task_lost = order()  # written, its task never ran
    in_a_chunk = order()  # a batch's chunk whose retries ran out on 502s
    sandbox.set_fault("http_502", count=1, path="/api/v1/hf/orders", method="POST")
    with pytest.raises(OutcomeUnknownError):
        orders_send_chunk(order_ids=[in_a_chunk.pk])
    make_stalled(Order.objects.filter(pk__in=[never_reached.pk, answer_lost.pk, task_lost.pk, in_a_chunk.pk]))

    job = finished(job_start(kind="resume_stalled", label="Resume", task=resume_stalled_task))
    assert job.result == {"resumed": 4}, job.message
    for resumed in Job.objects.filter(requested_by_label="resume"):
        assert finished(resumed).state == Job.State.SUCCEEDED, finished(resumed).error

    dump = sandbox.dump()
    for row in (never_reached, task_lost, in_a_chunk):
        row.refresh_from_db()
        assert row.state == Order.State.FAILED and orders_with(dump, row.client_oid) == []
    for row in (never_reached, in_a_chunk):
        assert row.error_message.startswith("Not placed: KuCoin has no order with this clientOid")
    assert task_lost.error_message.startswith("Not sent: its sending was cut off before it reached KuCoin")
    answer_lost.refresh_from_db()
    [held] = orders_with(dump, answer_lost.client_oid)
    assert answer_lost.kucoin_order_id == held["id"] and answer_lost.state == Order.State.FILLED
    assert answer_lost.verification == Order.Verification.TAGGED


def test_an_order_never_sent_is_not_given_up_while_order_jobs_are_under_way(db):
    """A big batch's last chunks may wait in the queue longer than the stalled delay: its orders are not marked
    "not sent" under it."""
    from accounts.services.resume import stalled_actions
    from accounts.tests.factories import ApiKeyFactory
    from trading.models import Order

    key = ApiKeyFactory()
    waiting = Order.objects.create(api_key=key, sub_account=key.sub_account, market="spot", symbol="BTC-USDT",
                                   side="buy", type="market", funds=Decimal("10"))
    make_stalled(Order.objects.filter(pk=waiting.pk))
    batch = Job.objects.create(kind="orders_place", label="Place 5000 orders", state=Job.State.RUNNING,
                               started_at=timezone.now())

    assert [args for _, _, args in stalled_actions()] == []
    Job.objects.filter(pk=batch.pk).update(state=Job.State.SUCCEEDED)
    assert [args for _, _, args in stalled_actions()] == [(waiting.pk,)]


def test_a_retirement_just_asked_for_or_under_way_is_not_started_a_second_time(db, make_staff):
    from accounts.services.resume import stalled_actions
    from accounts.services.retire import subaccount_retire, subaccount_retire_execute
    from brokeroffice.jobs import JobRun
    from brokeroffice.leases import LeaseHeld, lease_take

    sub_account = SubAccount.objects.create(uid="100000099", account_name="retiring-one", state=SubAccount.State.ACTIVE)
    SubAccount.objects.filter(pk=sub_account.pk).update(updated_at=timezone.now() - timedelta(days=30))
    job = subaccount_retire(sub_account=sub_account)
    # Asked for just now, though the row had not changed for a month: not "stalled".
    assert [args for _, _, args in stalled_actions() if args == (sub_account.pk,)] == []

    lease_take(SubAccount, sub_account.pk)  # the first execution is under way
    with pytest.raises(LeaseHeld):
        subaccount_retire_execute(sub_account_id=sub_account.pk, run=JobRun(str(job.pk)))
