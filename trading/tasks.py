"""Celery tasks of the trading app: each loads ids, calls one service inside its job, and retries on
transient KuCoin failures. No business logic here."""
from contextlib import contextmanager

from celery import shared_task
from celery.exceptions import Retry

from brokeroffice.jobs import describe_error, job_failed, job_run
from brokeroffice.tasking import retrying
from trading.services import batches, orders, setup_check, shares


@contextmanager
def _job_failed_on_error(job_id: str):
    """What `job_run` does on an error, without its start and finish writes: the order service records its
    job's outcome in the order's own transaction (the placing of orders is the hot path)."""
    try:
        yield
    except Retry:
        raise
    except Exception as exc:
        job_failed(job_id, error=describe_error(exc))
        raise


@shared_task(bind=True, name="trading.order_place")
def order_place_task(self, job_id: str, order_id: int) -> None:
    with _job_failed_on_error(job_id), retrying(self):
        orders.order_send(order_id=order_id, job_id=job_id)


@shared_task(bind=True, name="trading.orders_send_chunk")
def orders_send_chunk_task(self, job_id: str, order_ids: list[int]) -> None:
    with _job_failed_on_error(job_id), retrying(self):
        batches.orders_send_chunk(order_ids=order_ids, job_id=job_id)


@shared_task(bind=True, name="trading.order_cancel")
def order_cancel_task(self, job_id: str, order_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        orders.order_cancel(order_id=order_id, run=run)


@shared_task(bind=True, name="trading.orders_verify")
def orders_verify_task(self, job_id: str, order_ids: list[int] | None = None) -> None:
    with job_run(job_id) as run, retrying(self):
        orders.orders_verify(run=run, order_ids=order_ids)


@shared_task(bind=True, name="trading.orders_sync")
def orders_sync_task(self, job_id: str, order_ids: list[int] | None = None) -> None:
    with job_run(job_id) as run, retrying(self):
        orders.orders_sync(run=run, order_ids=order_ids)


@shared_task(bind=True, name="trading.order_verify", max_retries=8)
def order_verify_task(self, order_id: int) -> None:
    """The verification of a just-placed order whose first fetch failed (no job: it is part of the placing)."""
    with retrying(self):
        orders.order_verify_now(order_id=order_id)


def order_verify_later(order_id: int, countdown: float = 5) -> None:
    order_verify_task.apply_async(args=(order_id,), countdown=countdown)


@shared_task(bind=True, name="trading.broker_verify")
def broker_verify_task(self, job_id: str, uid: str, market: str, options: dict | None = None) -> None:
    with job_run(job_id) as run, retrying(self):
        setup_check.broker_verify(uid=uid, market=market, run=run, **(options or {}))


@shared_task(bind=True, name="trading.tag_share_refresh")
def tag_share_refresh_task(self, job_id: str) -> None:
    with job_run(job_id) as run:
        shares.tag_share_refresh(run=run)


@shared_task(bind=True, name="trading.order_resolve")
def order_resolve_task(self, job_id: str, order_id: int) -> None:
    """A stalled order, settled for "Resume stalled actions": looked up by clientOid, never sent late."""
    with job_run(job_id) as run, retrying(self):
        orders.order_resolve(order_id=order_id, run=run)
