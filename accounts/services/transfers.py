"""Transfers between the broker account and a sub-account.

The clientOid is chosen and saved before anything is sent. KuCoin has no look-up by clientOid, only by the
orderId it answers with; it does treat the clientOid as the transfer's identity, so when an answer was
lost the same request with the same clientOid is what finds out (it cannot move money a second time),
and the orderId it returns is then checked with the transfer detail.
"""
from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.clients import broker_client
from accounts.models import SubAccount, Transfer
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import error_code
from brokeroffice.leases import leased
from brokeroffice.models import Job
from kucoin.errors import BadRequestError
from kucoin.models import TransferDetail

CURRENCY = re.compile(r"^[A-Z0-9]{1,20}$")
KUCOIN_STATUS_TO_STATE = {
    "SUCCESS": Transfer.State.SUCCEEDED,
    "FAILURE": Transfer.State.FAILED,
    "PROCESSING": Transfer.State.PROCESSING,
}


def transfer_request(
    *, sub_account: SubAccount, direction: str, currency: str, amount: Decimal,
    broker_account_type: str = Transfer.AccountType.MAIN, sub_account_type: str = Transfer.AccountType.MAIN,
    requested_by=None, purpose: str = "",
) -> tuple[Transfer, Job]:
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
        label = f"Transfer {amount} {currency} {'to' if direction == Transfer.Direction.OUT else 'from'} {sub_account}"
        job = job_create(kind="transfer_send", label=label, requested_by=requested_by)
        job_enqueue(job=job, task=transfer_send_task, args=(transfer.pk,))
    return transfer, job


def _apply_detail(transfer_id: int, detail: TransferDetail) -> Transfer.State:
    state = KUCOIN_STATUS_TO_STATE.get(detail.status, Transfer.State.PROCESSING)
    changes = {"kucoin_status": detail.status, "state": state, "failure_reason": detail.reason or ""}
    if state in Transfer.FINAL_STATES:
        changes["completed_at"] = timezone.now()
    Transfer.objects.filter(pk=transfer_id).update(**changes)
    return state


def transfer_send(*, transfer_id: int, run: JobRun | None = None) -> Transfer:
    with leased(Transfer, transfer_id):
        transfer = Transfer.objects.select_related("sub_account").get(pk=transfer_id)
        if transfer.state in Transfer.FINAL_STATES:
            return transfer
        client = broker_client()
        order_id = transfer.kucoin_order_id
        if not order_id:
            resending = transfer.sent_at is not None
            Transfer.objects.filter(pk=transfer_id).update(sent_at=timezone.now(), state=Transfer.State.UNKNOWN)
            try:
                order_id = client.broker.transfer(
                    currency=transfer.currency, amount=transfer.amount, direction=transfer.direction,
                    account_type=transfer.broker_account_type, special_uid=transfer.sub_account.uid,
                    special_account_type=transfer.sub_account_type, client_oid=transfer.client_oid,
                )
            except BadRequestError as exc:
                # A refusal of the first send is final. A refusal of a re-send cannot prove that the first
                # one did not go through, so the transfer stays "outcome unknown" for a person to check.
                state = Transfer.State.UNKNOWN if resending else Transfer.State.FAILED
                Transfer.objects.filter(pk=transfer_id).update(state=state, error_code=error_code(exc), error_message=exc.msg)
                raise
            Transfer.objects.filter(pk=transfer_id).update(kucoin_order_id=order_id, state=Transfer.State.PROCESSING,
                                                           error_code="", error_message="")
        state = _apply_detail(transfer_id, client.broker.get_transfer(order_id))
        transfer.refresh_from_db()
        if run:
            run.succeed(f"{transfer}: {transfer.get_state_display().lower()} (KuCoin order {order_id}).",
                        {"transfer_id": transfer.pk, "state": state})
        return transfer


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
