"""Many orders at once (a desk's list, an API client's batch): one job, and the orders sent in chunks.

`orders_place_batch` validates every order as `order_place` does, writes them all and one job in one
transaction, and queues one task per chunk. `orders_send_chunk` (the task's service) sends a chunk with the
same guarantees as a single order, at a fraction of the database work per order:

- the chunk's rows are claimed together (their leases, `sent_at` and state `unknown` in one UPDATE, committed
  before any of them is sent), so an execution that stops half-way leaves every unsent order marked "may have
  reached KuCoin": the retry asks KuCoin for each by clientOid before sending it;
- each order is placed and fetched at once (its broker tag), as a single order is; a few orders of the chunk
  are in flight together (threads), so that one order's wait for KuCoin or the shared rate limiter is another
  order's work. The threads only talk to KuCoin: every database write stays in the task's own thread;
- the outcomes, the leases' release, the job's progress and the chunk's call log are written in one
  transaction at the end of the chunk (or when a transient failure stops it, before the task retries).
"""
from __future__ import annotations

import contextvars
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.clients import KeyHasNoSecret
from accounts.services.fastapi import ConnectionKeyUnusable
from brokeroffice.calllog import acting_as
from brokeroffice.jobs import job_create
from brokeroffice.kucoin_errors import error_in_words
from brokeroffice.leases import LeaseHeld
from brokeroffice.models import Job
from trading.calllog_buffer import calls_buffered, calls_flush
from trading.clients import client_for_order
from trading.models import Order
from trading.services.orders import (
    CLIENT_SECRETS, ORDER_FIELDS, UNUSED_SECRETS, failed_changes, job_given_up, near_futures_limit, order_check,
    order_resolve, resting_kind, send_and_read,
)

CHUNK_SIZE = 25
MAX_ORDERS_PER_BATCH = 5000
# A chunk's lease covers a slow case: its orders (SEND_THREADS at a time) waiting out KuCoin's timeouts.
SECONDS_PER_ORDER = 15
# An order is not sent when less than this is left of the chunk's lease (a place and a fetch at their
# slowest): the retry continues with it.
LEASE_MARGIN = timedelta(seconds=60)
# Orders of a chunk in flight together, per worker process.
SEND_THREADS = 4
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    """The process's sending threads, started on first use (a forked worker process starts its own)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="order-send")
        return _executor


def _account_key(order: Order) -> tuple:
    return (order.sub_account_id, order.fast_api_connection_id, order.market, order.symbol, resting_kind(order))


def orders_place_batch(*, orders: list[dict], requested_by=None, label: str = "",
                       chunk_size: int = CHUNK_SIZE) -> tuple[list[Order], Job]:
    """Writes the orders (state pending, each with its clientOid) and one job for them, and queues one task per
    chunk once that commits. Each dict holds `api_key` or `fast_api_connection`, an optional `client_oid`, and
    the order's parameters. Refuses the whole batch (ValidationError naming the order) when any order is wrong."""
    from trading.tasks import orders_send_chunk_task

    if not orders:
        raise ValidationError("A batch needs at least one order.")
    if len(orders) > MAX_ORDERS_PER_BATCH:
        raise ValidationError(f"At most {MAX_ORDERS_PER_BATCH} orders per batch; this one has {len(orders)}.")
    built, resting, chosen_oids = [], Counter(), set()
    for number, spec in enumerate(orders, start=1):
        order = _order_of(spec, requested_by)
        if order.client_oid in chosen_oids:
            raise ValidationError(f"Order {number}: the clientOid {order.client_oid} is used twice in this batch.")
        chosen_oids.add(order.client_oid)
        try:
            order_check(order, client_oid_chosen=bool(spec.get("client_oid")), in_batch=resting[_account_key(order)])
        except ValidationError as exc:
            raise ValidationError(f"Order {number} ({order}): {' '.join(exc.messages)}") from None
        if resting_kind(order):
            resting[_account_key(order)] += 1
        built.append(order)
    with transaction.atomic():
        saved = Order.objects.bulk_create(built)
        job = job_create(kind="orders_place", label=label or f"Place {len(saved)} orders",
                         requested_by=requested_by)
        Job.objects.filter(pk=job.pk).update(progress_total=len(saved))
        chunks = [[o.pk for o in saved[i:i + chunk_size]] for i in range(0, len(saved), chunk_size)]
        transaction.on_commit(lambda: [orders_send_chunk_task.apply_async(args=(str(job.pk), ids)) for ids in chunks])
    return saved, job


def _order_of(spec: dict, requested_by) -> Order:
    spec = dict(spec)
    api_key, connection = spec.pop("api_key", None), spec.pop("fast_api_connection", None)
    client_oid = spec.pop("client_oid", "")
    unknown = set(spec) - set(ORDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown order parameters: {', '.join(sorted(unknown))}")
    if (api_key is None) == (connection is None):
        raise TypeError("an order is signed with exactly one of api_key or fast_api_connection")
    order = Order(api_key=api_key, sub_account=api_key.sub_account if api_key else None,
                  fast_api_connection=connection, requested_by=requested_by, **spec)
    if client_oid:
        order.client_oid = client_oid
    return order


# -- the worker's side -----------------------------------------------------------------------------

def _claim_chunk(order_ids: list[int]) -> tuple[list[Order], datetime, list[Order], set[int]]:
    """Takes the leases of the chunk's orders that still wait to be sent and that no other execution holds, and
    in the same UPDATE (one new version of each row, committed before anything is sent) records that each may
    now reach KuCoin (`sent_at`, state unknown), except for orders near KuCoin's futures cap, whose count is read
    from KuCoin first. A row is only claimed while its `sent_at` is still what was read here, so that no
    execution skips the look-up by clientOid.

    Returns the claimed orders, the lease's end, those near the cap, and the pks an earlier execution sent."""
    now = timezone.now()
    # The lease's end, to the microsecond, marks the rows this execution claimed (jittered so no two match).
    until = now + timedelta(seconds=settings.ROW_LEASE_SECONDS + SECONDS_PER_ORDER * len(order_ids),
                            microseconds=random.randrange(1_000_000))
    waiting = list(Order.objects.select_related("api_key", "sub_account", "fast_api_connection")
                   .defer(*UNUSED_SECRETS, *CLIENT_SECRETS).filter(pk__in=order_ids, state__in=Order.SENDING_STATES)
                   .order_by("pk"))
    near_limit = {o.pk for o in waiting if near_futures_limit(o)}
    ours = _lease_and_mark_sent(waiting, near_limit, now, until)
    claimed = [o for o in waiting if o.pk in ours]
    return (claimed, until, [o for o in claimed if o.pk in near_limit],
            {o.pk for o in claimed if o.sent_at is not None})


def _lease_and_mark_sent(waiting: list[Order], near_limit: set[int], now: datetime, until: datetime) -> set[int]:
    """The conditional UPDATEs of a claim, one per `sent_at` read (on a first execution all are unset, so one);
    returns the pks this execution now holds."""
    claimable = Order.objects.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now),
                                     state__in=Order.SENDING_STATES)
    read_sent_at: dict[datetime | None, list[int]] = {}
    for order in waiting:
        read_sent_at.setdefault(order.sent_at, []).append(order.pk)
    for sent_at, pks in read_sent_at.items():
        same_read = claimable.filter(Q(sent_at__isnull=True) if sent_at is None else Q(sent_at=sent_at))
        to_send = [pk for pk in pks if pk not in near_limit]
        if to_send:
            same_read.filter(pk__in=to_send).update(lease_until=until, sent_at=now, state=Order.State.UNKNOWN,
                                                    updated_at=now)
        if len(to_send) < len(pks):
            same_read.filter(pk__in=[pk for pk in pks if pk in near_limit]).update(lease_until=until)
    return set(Order.objects.filter(pk__in=[o.pk for o in waiting], lease_until=until).values_list("pk", flat=True))


def _write_outcomes(outcomes: dict[int, dict], now: datetime) -> None:
    """Each order's outcome and its lease released: one prepared UPDATE per shape of outcome (placed and read,
    placed but unread, refused), sent for all the chunk's orders at once (executemany), instead of an ORM
    UPDATE per order."""
    shapes: dict[tuple, list[int]] = {}
    for pk, changes in outcomes.items():
        shapes.setdefault(tuple(sorted(set(changes) - {"updated_at"})), []).append(pk)
    quote = connection.ops.quote_name
    for names, pks in shapes.items():
        fields = [Order._meta.get_field(name) for name in names] + [Order._meta.get_field("updated_at")]
        columns = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        sql = (f"UPDATE {quote(Order._meta.db_table)} SET {columns}, {quote('lease_until')} = NULL "
               f"WHERE {quote('id')} = %s")
        rows = [[field.get_db_prep_save(outcomes[pk].get(field.name, now), connection) for field in fields] + [pk]
                for pk in pks]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _record(outcomes: dict[int, dict], held: list[int], job_id: str | None, *, retrying: BaseException | None = None):
    """One commit: each order's outcome, every lease of the chunk given back, the job's progress, the call log."""
    now = timezone.now()
    with transaction.atomic():
        _write_outcomes(outcomes, now)
        rest = [pk for pk in held if pk not in outcomes]
        if rest:
            Order.objects.filter(pk__in=rest).update(lease_until=None)
        if job_id:
            _job_progress(job_id, outcomes, now, retrying)
        calls_flush()


def _outcome(changes: dict) -> str:
    if changes.get("state") in Order.AT_KUCOIN_STATES:
        return "placed"
    return "rejected" if changes.get("state") == Order.State.REJECTED else "failed"


def _job_progress(job_id: str, outcomes: dict[int, dict], now: datetime, retrying: BaseException | None) -> None:
    """The batch's counts (in the job's result, read under the job row's lock so that two chunks ending together
    both count), its progress, and its end once every order is recorded. `started_at` is moved on at each chunk:
    it is what `jobs_mark_lost` reads, and a batch still sending after an hour is alive, not lost."""
    result = Job.objects.select_for_update().filter(pk=job_id).values_list("result", flat=True).first()
    counts = Counter({word: n for word, n in (result or {}).items() if word in ("placed", "rejected", "failed")})
    counts.update(_outcome(changes) for changes in outcomes.values())
    progress = {"progress_done": F("progress_done") + len(outcomes), "started_at": now, "result": dict(counts),
                "state": Case(When(state=Job.State.PENDING, then=Value(Job.State.RUNNING)), default=F("state"))}
    if retrying is not None:
        progress.update(attempts=F("attempts") + 1, message=error_in_words(retrying)[:500])
    Job.objects.filter(pk=job_id).update(**progress)
    ended = Job.objects.filter(pk=job_id, progress_done__gte=F("progress_total"), state=Job.State.RUNNING)
    words = (f"{counts['placed']} of {sum(counts.values())} orders placed, {counts['rejected']} rejected by KuCoin, "
             f"{counts['failed']} not sent (refused here); each order's page shows its state, broker tag or reason.")
    if counts["rejected"] or counts["failed"]:
        ended.update(state=Job.State.FAILED, finished_at=now, error=words, message=words[:500])
    else:
        ended.update(state=Job.State.SUCCEEDED, finished_at=now, error="", message=words[:500])


def orders_send_chunk(*, order_ids: list[int], job_id: str | None = None) -> dict[int, dict]:
    """Sends a chunk of a batch's orders, each at most once at KuCoin, and records what KuCoin made of them.

    An order whose send fails transiently (no answer, 5xx, rate limit) stays "may have reached KuCoin": the
    other orders' outcomes are recorded, every lease is given back, and the failure is raised for the task to
    retry that order (looked up by clientOid first). Once the batch's job is shown failed, nothing is sent: the
    chunk's orders are only looked up (`_chunk_resolved`), as for a single order (`order_send`).
    """
    from trading.tasks import order_verify_later

    if job_given_up(job_id):
        return _chunk_resolved(order_ids, job_id)
    claimed, until, near_limit, previously_sent = _claim_chunk(order_ids)
    held = [o.pk for o in claimed]
    if not claimed:
        return {}
    with acting_as(_actor(job_id), job_id), calls_buffered():
        outcomes, failure = {}, None
        try:
            clients = _clients_of(claimed)  # keys decrypted here, not in the threads
            outcomes, failure = _send_all(claimed, clients, near_limit, previously_sent, until)
        except Exception as exc:
            failure = exc
        _record(outcomes, held, job_id, retrying=failure)
    if failure is not None:
        raise failure
    for pk, changes in outcomes.items():
        if changes.get("state") == Order.State.OPEN and "verification" not in changes:
            order_verify_later(pk)  # placed, but the fetch failed: verified on its own
    return outcomes


def _chunk_resolved(order_ids: list[int], job_id: str) -> dict[int, dict]:
    """A chunk whose batch's job is shown failed (another chunk ran out of retries or was refused for good): staff
    take the batch for failed and may place it again, so its orders are never sent late. Each one still waiting is
    settled as `order_resolve` settles a single order (KuCoin's order when an earlier attempt placed it, otherwise
    failed, in words), and counted in the job's progress; the job stays failed with its own error."""
    outcomes: dict[int, dict] = {}
    waiting = list(Order.objects.filter(pk__in=order_ids, state__in=Order.SENDING_STATES)
                   .order_by("pk").values_list("pk", flat=True))
    with acting_as(_actor(job_id), job_id), calls_buffered():
        try:
            for pk in waiting:
                order = order_resolve(order_id=pk)
                if order is not None and order.state not in Order.SENDING_STATES:
                    outcomes[pk] = {"state": order.state}
        finally:
            if outcomes:
                with transaction.atomic():
                    _job_progress(job_id, outcomes, timezone.now(), None)
    return outcomes


def _actor(job_id: str | None) -> str:
    """Who the chunk's calls are logged as caused by: whoever asked for the batch."""
    label = Job.objects.filter(pk=job_id).values_list("requested_by_label", flat=True).first() if job_id else None
    return label or "job"


def _clients_of(orders: list[Order]) -> dict[int, object]:
    """Each order's client or refusal, worked out once per signing key (a chunk's orders mostly share one)."""
    by_key: dict[tuple, object] = {}
    for order in orders:
        key = (order.api_key_id, order.fast_api_connection_id)
        if key not in by_key:
            by_key[key] = _client_or_refusal(order)
    return {order.pk: by_key[(order.api_key_id, order.fast_api_connection_id)] for order in orders}


def _client_or_refusal(order: Order):
    """The order's client, or the changes that refuse it here (no key that may sign)."""
    if order.api_key is None and order.fast_api_connection is None:
        return failed_changes("The order has no key to sign it with.")
    try:
        return client_for_order(order)
    except (KeyHasNoSecret, ConnectionKeyUnusable) as exc:
        return failed_changes(str(exc))


def _send_all(claimed, clients, near_limit, previously_sent, until) -> tuple[dict[int, dict], Exception | None]:
    """Each order's outcome, and the first failure that left an order for a retry."""
    def send(order: Order) -> dict:
        client = clients[order.pk]
        if isinstance(client, dict):
            return client
        if timezone.now() > until - LEASE_MARGIN:
            raise LeaseHeld("the chunk's lease is running out")  # the retry sends the rest
        return send_and_read(client, order, sent_before=order.pk in previously_sent,
                             ask_kucoin_count=order in near_limit)

    outcomes: dict[int, dict] = {}
    failure: Exception | None = None
    # Orders that need KuCoin's open-order count write `sent_at` themselves: they stay in this thread.
    in_threads = [o for o in claimed if o not in near_limit]
    futures = {o.pk: _senders().submit(contextvars.copy_context().run, send, o) for o in in_threads}
    for order in near_limit:
        futures[order.pk] = None
        try:
            outcomes[order.pk] = send(order)
        except Exception as exc:
            failure = failure or exc
    for pk, future in futures.items():
        if future is None:
            continue
        try:
            outcomes[pk] = future.result()
        except Exception as exc:
            failure = failure or exc
    return outcomes, failure
