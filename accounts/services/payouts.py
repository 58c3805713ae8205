"""A customer's payout as one action: a transfer from the sub-account back to the broker account (IN),
then a withdrawal from the broker account, shown as one item with both steps' states.

Sub-accounts cannot withdraw at KuCoin, so this is the only way a customer's money leaves. The transfer
is the transfer service's own (clientOid saved first), sent by the payout's task alone; the withdrawal is
requested at once and waits for approval as any other; it is sent only when it is approved AND the transfer
is done.
Whichever comes last queues the send: the approval, or `payout_advance` once the transfer has ended.
"""
from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import BrokerWithdrawal, Payout, SubAccount, SubAccountBalance, Transfer
from accounts.services import withdrawals
from accounts.services.transfers import transfer_request, transfer_send
from accounts.withdrawal_rules import plain
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import REQUEST_REFUSED
from brokeroffice.leases import LeaseHeld
from brokeroffice.models import Job


class TransferStillRunning(Exception):
    """The payout's transfer has not ended yet: its task looks again a little later."""


class PayoutFailed(Exception):
    """The payout's transfer to the broker account failed: its withdrawal is cancelled, nothing is withdrawn."""


def _balance_problem(sub_account: SubAccount, account_type: str, currency: str, amount: Decimal) -> str | None:
    """What the sub-account's last read balance says, when it was read (KuCoin has the last word)."""
    # KuCoin names the accounts in lower case ("main") in balances, in upper case ("MAIN") in transfers.
    row = SubAccountBalance.objects.filter(sub_account=sub_account, account_type__iexact=account_type,
                                           currency=currency).first()
    if row is None and sub_account.balances_refreshed_at is None:
        return None  # never read: the transfer finds out
    available = row.available if row else Decimal(0)
    if amount > available:
        return (f"{sub_account} has only {plain(available)} {currency} available in {account_type} "
                f"(read {sub_account.balances_refreshed_at:%Y-%m-%d %H:%M} UTC).")
    return None


def payout_request(*, sub_account: SubAccount, currency: str, chain: str, address: str, memo: str = "", amount: Decimal,
                   sub_account_type: str = Transfer.AccountType.MAIN, note: str = "", requested_by) -> tuple[Payout, Job]:
    """Checks both steps, records them, and queues the transfer (the withdrawal waits for approval)."""
    from accounts.tasks import payout_advance_task

    currency = currency.strip().upper()
    short = _balance_problem(sub_account, sub_account_type, currency, amount) if isinstance(amount, Decimal) else None
    if short:
        raise ValidationError({"amount": short})
    with transaction.atomic():
        # The fee comes out of the amount: the customer's money pays for its own withdrawal.
        withdrawal = withdrawals.withdrawal_request(
            currency=currency, chain=chain, address=address, memo=memo, amount=amount,
            fee_deduct_type=BrokerWithdrawal.FeeDeduct.INTERNAL, note=note or f"Payout for {sub_account}",
            requested_by=requested_by, check_balance=False)
        transfer, _ = transfer_request(sub_account=sub_account, direction=Transfer.Direction.IN, currency=currency,
                                       amount=amount, broker_account_type=Transfer.AccountType.MAIN,
                                       sub_account_type=sub_account_type, requested_by=requested_by, purpose="payout",
                                       queue_send=False)
        payout = Payout.objects.create(sub_account=sub_account, transfer=transfer, withdrawal=withdrawal,
                                       requested_by=requested_by)
        withdrawals.audit(withdrawal, "payout", actor=requested_by,
                          detail=f"Payout for {sub_account}: transfer {transfer.client_oid} to the broker account first.",
                          data={"payout_id": payout.pk, "transfer_client_oid": str(transfer.client_oid)})
        job = job_create(kind="payout_advance", label=f"Payout of {plain(amount)} {currency} for {sub_account}",
                         requested_by=requested_by)
        job_enqueue(job=job, task=payout_advance_task, args=(payout.pk,))
    return payout, job


def _after_transfer(payout: Payout) -> None:
    """Once the transfer has ended: a failed one cancels the withdrawal; a done one lets an approved
    withdrawal go (through its own send, idempotent by remark)."""
    withdrawal = payout.withdrawal
    if payout.transfer.state == Transfer.State.FAILED:
        cancelled = BrokerWithdrawal.objects.filter(
            pk=withdrawal.pk, state__in=[BrokerWithdrawal.State.REQUESTED, BrokerWithdrawal.State.APPROVED], sent_at=None,
        ).update(state=BrokerWithdrawal.State.CANCELLED)
        if cancelled:
            withdrawals.audit(withdrawal, "cancelled", detail="The payout's transfer to the broker account failed: "
                                                              "nothing is withdrawn.")
    elif withdrawal.state in BrokerWithdrawal.SENDABLE_STATES:
        withdrawals.withdrawal_send(withdrawal_id=withdrawal.pk)


def payout_advance(*, payout_id: int, run: JobRun | None = None, last_try: bool = False) -> Payout:
    """Moves the transfer on (the transfer service: sends or reads it; `last_try`, the job's last attempt, as
    there), then the withdrawal when approved. Raises TransferStillRunning while KuCoin is still processing
    the transfer; with a job, PayoutFailed when the transfer failed."""
    payout = Payout.objects.select_related("transfer", "withdrawal", "sub_account").get(pk=payout_id)
    if payout.transfer.state not in Transfer.FINAL_STATES:
        try:
            transfer_send(transfer_id=payout.transfer_id, last_try=last_try)
        except REQUEST_REFUSED:
            pass  # the transfer keeps KuCoin's refusal; a failed transfer cancels the withdrawal below
        payout.transfer.refresh_from_db()
    if payout.transfer.state not in Transfer.FINAL_STATES:
        raise TransferStillRunning(f"The transfer of {payout} is {payout.transfer.get_state_display().lower()}.")
    _after_transfer(payout)
    payout.withdrawal.refresh_from_db()
    if run and payout.transfer.state == Transfer.State.FAILED:
        transfer = payout.transfer
        raise PayoutFailed(f"{payout}: the transfer to the broker account failed "
                           f"({transfer.failure_reason or transfer.error_in_words}); the withdrawal is "
                           f"{payout.withdrawal.get_state_display().lower()}, nothing is withdrawn.")
    if run:
        run.succeed(f"{payout}: transfer {payout.transfer.get_state_display().lower()}, withdrawal "
                    f"{payout.withdrawal.get_state_display().lower()}.", {"payout_id": payout.pk})
    return payout


def payout_left_to_schedule(*, payout_id: int, run: JobRun, still: TransferStillRunning) -> None:
    """The job has looked at the transfer long enough. KuCoin still processing it is no failure: the withdrawal
    schedule (`payouts_advance`) moves the payout on once it is done, and the job ends saying so, not failed (a
    payout shown failed may be made again). A transfer in any other state (outcome unknown) fails the job."""
    if not Payout.objects.filter(pk=payout_id, transfer__state=Transfer.State.PROCESSING,
                                 transfer__kucoin_order_id__isnull=False).exists():
        raise still
    run.succeed(f"{still} The schedule “Follow broker withdrawals and payouts” sends the withdrawal once KuCoin "
                "has done the transfer (if it is approved by then).")


def payouts_advance() -> int:
    """For the withdrawal schedule: every payout whose transfer KuCoin is processing, or whose transfer is
    done while its approved withdrawal has not gone out."""
    open_payouts = Payout.objects.filter(
        Q(transfer__state=Transfer.State.PROCESSING, transfer__kucoin_order_id__isnull=False)
        | Q(transfer__state__in=Transfer.FINAL_STATES,
            withdrawal__state__in=[BrokerWithdrawal.State.REQUESTED, BrokerWithdrawal.State.APPROVED], withdrawal__sent_at=None)
    ).values_list("pk", flat=True)
    moved = 0
    for payout_id in list(open_payouts):
        try:
            payout_advance(payout_id=payout_id)
            moved += 1
        except (TransferStillRunning, LeaseHeld):
            continue
    return moved
