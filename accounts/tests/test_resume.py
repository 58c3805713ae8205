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


def test_an_order_whose_task_was_lost_is_resumed_and_placed_once(kucoin_worker, sandbox, finished):
    from trading.models import Order
    from trading.tests.conftest import CUSTOMER_UID, import_key
    from trading.tests.sandbox_orders import orders_with

    key = import_key(sandbox.dump(), CUSTOMER_UID)
    lost = Order.objects.create(api_key=key, sub_account=key.sub_account, market="spot", symbol="BTC-USDT",
                                side="buy", type="limit", price=Decimal("1000"), size=Decimal("0.001"),
                                post_only=True)
    make_stalled(Order.objects.filter(pk=lost.pk))

    job = finished(job_start(kind="resume_stalled", label="Resume", task=resume_stalled_task))
    assert job.result == {"resumed": 1}, job.message
    assert finished(Job.objects.get(requested_by_label="resume")).state == Job.State.SUCCEEDED
    lost.refresh_from_db()
    assert lost.state == Order.State.OPEN
    assert [o["id"] for o in orders_with(sandbox.dump(), lost.client_oid)] == [lost.kucoin_order_id]
