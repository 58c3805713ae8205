"""Transfers between the broker account and a sub-account.

The clientOid is chosen and saved before anything is sent. The request goes out one attempt at a time, each
inside the row's lease renewed just before it (`single_attempts`), so that a second execution (a task
delivered again, the resume schedule, a payout's own task) never sends while the first still waits.

KuCoin has no look-up by clientOid, only by the orderId it answers with. When an answer was lost, the same
request with the same clientOid is sent again and the orderId it returns is checked with the transfer
detail: this assumes KuCoin answers a repeated clientOid with the transfer it already made, which it does not
document (README, "Each action happens once"; the sandbox does so).
"""
from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.clients import broker_client
from accounts.services.single_attempts import attempt_lease_seconds, in_attempts, one_attempt_transport
from accounts.models import SubAccount, Transfer
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import NOTHING_EXECUTED, REQUEST_REFUSED, error_code
from brokeroffice.leases import Lease, LeaseLost, leased
from brokeroffice.models import Job
from kucoin.broker import BrokerAPI
from kucoin.models import TransferDetail

CURRENCY = re.compile(r"^[A-Z0-9]{1,20}$")
KUCOIN_STATUS_TO_STATE = {
    "SUCCESS": Transfer.State.SUCCEEDED,
    "FAILURE": Transfer.State.FAILED,
    "PROCESSING": Transfer.State.PROCESSING,
}


class TransferFailed(Exception):
    """KuCoin failed the transfer: its job ends failed, with KuCoin's reason."""


def transfer_request(
    *, sub_account: SubAccount, direction: str, currency: str, amount: Decimal,
    broker_account_type: str = Transfer.AccountType.MAIN, sub_account_type: str = Transfer.AccountType.MAIN,
    requested_by=None, purpose: str = "", queue_send: bool = True,
) -> tuple[Transfer, Job | None]:
    """Records the transfer (its clientOid chosen here) and queues its sending job, unless `queue_send` is
    False: a payout's own task sends its transfer, and two senders would only wait on each other's lease."""
    from accounts.tasks import transfer_send_task

    currency = currency.strip().upper()
    if not CURRENCY.match(currency):
        raise ValidationError(f"“{currency}” is not a currency code (letters and digits, e.g. USDT).")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationError("The amount must be a positive number.")
    allowed_states = (SubAccount.State.ACTIVE, SubAccount.State.RETIRING) if purpose == "retire" else (SubAccount.State.ACTIVE,)
    if sub_account.state not in allowed_states or not sub_account.uid:
        raise ValidationError(f"{sub_account} is {sub_account.get_state_display().lower()}: funds move only to and from active sub-accounts.")
    with transaction.atomic():
        transfer = Transfer.objects.create(
            sub_account=sub_account, direction=direction, currency=currency, amount=amount,
            broker_account_type=broker_account_type, sub_account_type=sub_account_type,
            requested_by=requested_by, purpose=purpose,
        )
        if not queue_send:
            return transfer, None
        label = f"Transfer {amount} {currency} {'to' if direction == Transfer.Direction.OUT else 'from'} {sub_account}"
        job = job_create(kind="transfer_send", label=label, requested_by=requested_by)
        job_enqueue(job=job, task=transfer_send_task, args=(transfer.pk,))
    return transfer, job


def _apply_detail(transfer_id: int, detail: TransferDetail) -> Transfer.State:
    state = KUCOIN_STATUS_TO_STATE.get(detail.status, Transfer.State.PROCESSING)
    changes = {"kucoin_status": detail.status, "state": state, "failure_reason": detail.reason or "",
               "updated_at": timezone.now()}
    if state in Transfer.FINAL_STATES:
        changes["completed_at"] = timezone.now()
    Transfer.objects.filter(pk=transfer_id).update(**changes)
    return state


# Sent only while nothing settled it: not ended, and no orderId recorded by another execution.
_STILL_TO_SEND = Q(kucoin_order_id__isnull=True) & ~Q(state__in=Transfer.FINAL_STATES)


def _not_sent(transfer_id: int, exc: Exception, *, give_up: bool) -> None:
    """The first send never reached KuCoin: pending again, to be sent by the task's next try. On its last try
    the transfer ends failed instead, so that nothing sends it later (the resume schedule) once its job has said
    it failed: staff may have made another transfer meanwhile."""
    changes = {"sent_at": None, "state": Transfer.State.PENDING, "updated_at": timezone.now()}
    if give_up:
        changes.update(
            state=Transfer.State.FAILED, completed_at=timezone.now(), error_code=error_code(exc),
            error_message=f"Not sent, no try got through ({exc.msg}). Nothing moved: make a new transfer once "
                          "KuCoin takes requests again.")
    Transfer.objects.filter(pk=transfer_id).filter(_STILL_TO_SEND).update(**changes)


def _renew_for_attempt(lease: Lease, transfer: Transfer, seconds: int, **changes) -> None:
    if not lease.renew(seconds, only_if=_STILL_TO_SEND, updated_at=timezone.now(), **changes):
        raise LeaseLost(f"{transfer}: this execution's lease ran out and the row was taken over; not sent by it.")


def _send(client, lease: Lease, transfer: Transfer) -> str:
    """The one place a transfer request goes out, one attempt at a time, each inside the lease renewed just
    before it. -> KuCoin's orderId."""
    if client.transport.clock.needs_sync():
        client.sync_clock()  # now, rather than inside the attempt's lease
    broker, seconds = BrokerAPI(one_attempt_transport(client.transport)), attempt_lease_seconds(client.transport)
    _renew_for_attempt(lease, transfer, seconds, sent_at=timezone.now(), state=Transfer.State.UNKNOWN)
    return in_attempts(
        lambda: broker.transfer(
            currency=transfer.currency, amount=transfer.amount, direction=transfer.direction,
            account_type=transfer.broker_account_type, special_uid=transfer.sub_account.uid,
            special_account_type=transfer.sub_account_type, client_oid=transfer.client_oid),
        before_next=lambda: _renew_for_attempt(lease, transfer, seconds))


def transfer_send(*, transfer_id: int, run: JobRun | None = None, last_try: bool = False) -> Transfer:
    """Sends the transfer unless something already settled it, then reads its state at KuCoin. `last_try`: the
    job's last attempt, after which a transfer that never reached KuCoin ends failed."""
    with leased(Transfer, transfer_id) as lease:
        transfer = Transfer.objects.select_related("sub_account").get(pk=transfer_id)
        client = broker_client()
        order_id = transfer.kucoin_order_id
        if not order_id and transfer.state not in Transfer.FINAL_STATES:
            resending = transfer.sent_at is not None
            try:
                order_id = _send(client, lease, transfer)
            except NOTHING_EXECUTED as exc:
                if resending:
                    raise
                _not_sent(transfer_id, exc, give_up=last_try)
                if not last_try:
                    raise
            except REQUEST_REFUSED as exc:  # after NOTHING_EXECUTED, which holds the timestamp refusal
                # A refusal of the first send is final. A refusal of a re-send cannot prove that the first
                # one did not go through, so the transfer stays "outcome unknown" for a person to check.
                state = Transfer.State.UNKNOWN if resending else Transfer.State.FAILED
                Transfer.objects.filter(pk=transfer_id).filter(_STILL_TO_SEND).update(
                    state=state, error_code=error_code(exc), error_message=exc.msg, updated_at=timezone.now())
                raise
            else:
                # KuCoin's answer is the transfer's, whichever execution asked: recorded even if the lease was lost.
                Transfer.objects.filter(pk=transfer_id).update(
                    kucoin_order_id=order_id, state=Transfer.State.PROCESSING, error_code="", error_message="",
                    updated_at=timezone.now())
        if order_id and transfer.state not in Transfer.FINAL_STATES:
            _apply_detail(transfer_id, client.broker.get_transfer(order_id))
        transfer.refresh_from_db()
        if run:
            _report(run, transfer)
        return transfer


def _report(run: JobRun, transfer: Transfer) -> None:
    """The job ends as the transfer stands: failed when KuCoin failed or refused it."""
    said = f"{transfer}: {transfer.get_state_display().lower()}" + (
        f" (KuCoin order {transfer.kucoin_order_id})." if transfer.kucoin_order_id else ".")
    if transfer.state == Transfer.State.FAILED:
        reason = transfer.failure_reason or transfer.error_message
        raise TransferFailed(said + (f" {reason}" if reason else ""))
    run.succeed(said, {"transfer_id": transfer.pk, "state": transfer.state})


def transfer_retry(*, transfer: Transfer, requested_by=None) -> Job:
    """Queues a transfer whose sending failed for a transient reason, with the same clientOid."""
    from accounts.tasks import transfer_send_task

    if transfer.state in Transfer.FINAL_STATES:
        raise ValidationError("This transfer has ended; make a new one instead.")
    with transaction.atomic():
        job = job_create(kind="transfer_send", label=f"Send again: {transfer}", requested_by=requested_by)
        job_enqueue(job=job, task=transfer_send_task, args=(transfer.pk,))
    return job


def transfers_sync(*, run: JobRun) -> int:
    """Refreshes every transfer KuCoin has not finished, from its transfer detail."""
    client = broker_client()
    open_transfers = list(
        Transfer.objects.exclude(state__in=Transfer.FINAL_STATES).exclude(kucoin_order_id=None).values_list("pk", "kucoin_order_id")
    )
    for done, (transfer_id, order_id) in enumerate(open_transfers, start=1):
        _apply_detail(transfer_id, client.broker.get_transfer(order_id))
        run.progress(done, len(open_transfers), f"{done} of {len(open_transfers)} open transfers")
    run.succeed(f"Checked {len(open_transfers)} open transfers.", {"checked": len(open_transfers)})
    return len(open_transfers)
