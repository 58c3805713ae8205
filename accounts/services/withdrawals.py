"""Withdrawals from the broker's own account, with two-person approval and an append-only audit record.

The flow: a member of staff (operator or broker-admin) requests one; it is checked against what KuCoin
last said about the currency on that chain (quota, minimum, fee: a snapshot fetched by a task) and
against the chain's address format and memo rule; a DIFFERENT broker-admin approves it (confirming
explicitly when the address is not on the allow-list); only then a task sends it.

Sending once: KuCoin's V3 withdraw has no client id. The `remark` carries a token unique to the row,
saved when it is requested; `sent_at` is written before the request goes out. A task that finds
`sent_at` set without a KuCoin id looks the withdrawal up by that remark before anything else, and only
an empty answer lets it send again, and only once KuCoin has had time to list what it made
(LISTING_LAG after the last attempt that may have reached it): right after a lost answer KuCoin may still
be making the withdrawal, and its history does not show it yet. Row leases keep two executions apart; the
withdraw request only goes out inside a lease the sending execution has just renewed, checked in the same
UPDATE, so that no other execution can take the row over, look the withdrawal up and send it meanwhile.
A first send that never reached KuCoin (NOTHING_EXECUTED) is not a send: the withdrawal is approved again,
`sent_at` cleared, so that it can still be cancelled here.
"""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.clients import broker_client
from accounts.services.single_attempts import attempt_lease_seconds, in_attempts, one_attempt_transport
from accounts.models import AllowedWithdrawalAddress, BrokerWithdrawal, Transfer, WithdrawalAuditRecord, WithdrawalQuotaSnapshot
from accounts.withdrawal_rules import address_problems, plain
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import NOTHING_EXECUTED, error_code, error_in_words
from brokeroffice.leases import Lease, LeaseHeld, LeaseLost, leased
from brokeroffice.models import Job
from brokeroffice.roles import BROKER_ADMIN, OPERATOR, has_role
from brokeroffice.tasking import TRANSIENT_ERRORS
from kucoin.account import AccountAPI
from kucoin.errors import (AuthenticationError, BadRequestError, OutcomeUnknownError, PartnerSignatureError, ServerError,
                           ServiceUnavailableError)
from kucoin.models import WithdrawalQuota, WithdrawalRecord

# A quota older than this is fetched again before a request is accepted (KuCoin's figures move).
QUOTA_FRESH_FOR = timedelta(minutes=10)
STATUS_TO_STATE = {"SUCCESS": BrokerWithdrawal.State.SUCCEEDED, "FAILURE": BrokerWithdrawal.State.FAILED}
# The sync leaves a row that was just queued to its own task.
SYNC_GRACE = timedelta(seconds=30)
# How long KuCoin may take, after a withdraw request reached it, before its withdrawal history lists the
# withdrawal: a request whose answer was lost (a 504 or a read timeout) may still be being executed. Until
# then an empty look-up by remark proves nothing, and sending again could make a second withdrawal. KuCoin
# documents no figure; minutes, not seconds. Three minutes also lets the send task's own tries (1, 2, 4 …
# 128 s apart, about 4 minutes in all) reach the end of it, so that its job need not give up first.
LISTING_LAG = timedelta(minutes=3)
WORKER = "worker"

# KuCoin's gateway refused the broker's key or partner headers: nothing was executed, and trying again does
# not help until staff fix the key.
KEY_REFUSED = (AuthenticationError, PartnerSignatureError)


class NotListedYet(OutcomeUnknownError):
    """An earlier attempt's answer was lost and KuCoin does not list the withdrawal yet, while it may still be
    making it: looked up again later (by the task's next try, or the schedule), never sent again meanwhile."""


def _changed(**changes) -> dict:
    """QuerySet.update() leaves the auto_now `updated_at` alone, and the sync's grace reads it."""
    return {**changes, "updated_at": timezone.now()}


# -- the audit record ------------------------------------------------------------------------------
def audit(withdrawal: BrokerWithdrawal, action: str, *, actor=None, actor_label: str = WORKER, detail: str = "",
          data: dict | None = None) -> WithdrawalAuditRecord:
    """Appends one step to the withdrawal's record (never changed afterwards)."""
    label = actor.get_username() if actor is not None else actor_label
    return WithdrawalAuditRecord.objects.create(withdrawal=withdrawal, actor=actor, actor_label=label, action=action,
                                                detail=detail[:2000], data=data or {})


# -- quotas ----------------------------------------------------------------------------------------
def quota_of(snapshot: WithdrawalQuotaSnapshot) -> WithdrawalQuota:
    return WithdrawalQuota.parse(snapshot.raw)


def fresh_quota(currency: str, chain: str) -> WithdrawalQuotaSnapshot | None:
    return WithdrawalQuotaSnapshot.objects.filter(
        currency=currency.upper(), chain=chain.lower(), fetched_at__gte=timezone.now() - QUOTA_FRESH_FOR).first()


def withdrawal_quota_fetch_start(*, currency: str, chain: str, requested_by=None) -> Job:
    """Queues the task that asks KuCoin for the quota (a view never calls KuCoin)."""
    from accounts.tasks import withdrawal_quota_fetch_task

    currency, chain = currency.strip().upper(), chain.strip().lower()
    with transaction.atomic():
        job = job_create(kind="withdrawal_quota_fetch", label=f"Withdrawal quota of {currency} on {chain}",
                         requested_by=requested_by)
        job_enqueue(job=job, task=withdrawal_quota_fetch_task, args=(currency, chain))
    return job


def withdrawal_quota_fetch(*, currency: str, chain: str, run: JobRun | None = None) -> WithdrawalQuotaSnapshot:
    quota = broker_client().account.get_withdrawal_quotas(currency, chain)
    snapshot, _ = WithdrawalQuotaSnapshot.objects.update_or_create(
        currency=currency.upper(), chain=chain.lower(), defaults={"raw": quota.raw, "fetched_at": timezone.now()})
    if run:
        run.succeed(f"{currency} on {chain}: minimum {quota.min_size}, fee {quota.min_fee}, "
                    f"{quota.available_amount} available now.", {"snapshot_id": snapshot.pk})
    return snapshot


# -- checks ----------------------------------------------------------------------------------------
def amount_problem(quota: WithdrawalQuota, amount: Decimal, fee_deduct_type: str, *, check_balance: bool = True) -> str | None:
    """Why KuCoin would refuse `amount` under `quota`, in words; None when it would not.
    `check_balance=False` for a payout, whose funds reach the broker account by its transfer first."""
    if not check_balance:
        quota = dataclasses.replace(quota, available_amount=max(quota.remain_amount, amount))
    refusal = quota.refusal_for(amount)
    if refusal:
        return refusal[0].upper() + refusal[1:] + "."
    fee = quota.min_fee
    if fee_deduct_type == BrokerWithdrawal.FeeDeduct.INTERNAL and amount <= fee:
        return f"The amount must be more than the fee of {fee} {quota.currency} when the fee is taken out of it."
    if check_balance and fee_deduct_type == BrokerWithdrawal.FeeDeduct.EXTERNAL and amount + fee > quota.available_amount:
        return (f"Only {quota.available_amount} {quota.currency} is available: with the fee of {fee} on top, "
                f"at most {quota.available_amount - fee} can be withdrawn.")
    return None


def withdrawal_problems(*, currency: str, chain: str, address: str, memo: str, amount: Decimal, fee_deduct_type: str,
                        quota: WithdrawalQuota, check_balance: bool = True) -> dict[str, str]:
    """{field: words} of everything KuCoin would refuse; empty when the withdrawal can be requested."""
    problems = address_problems(chain=chain, address=address, memo=memo)
    if not quota.is_withdraw_enabled:
        problems["chain"] = (f"KuCoin has withdrawals of {currency} on {chain} disabled"
                             + (f": {quota.reason}." if quota.reason else "."))
        return problems
    why = amount_problem(quota, amount, fee_deduct_type, check_balance=check_balance)
    if why:
        problems["amount"] = why
    return problems


def on_allow_list(withdrawal: BrokerWithdrawal) -> bool:
    return AllowedWithdrawalAddress.objects.filter(
        currency=withdrawal.currency, chain=withdrawal.chain, address=withdrawal.address
    ).filter(Q(memo="") | Q(memo=withdrawal.memo)).exists()


# -- request, approve, refuse, cancel (staff) -------------------------------------------------------
def _clean_inputs(currency: str, chain: str, address: str, memo: str, amount) -> tuple[str, str, str, str]:
    currency, chain, address, memo = currency.strip().upper(), chain.strip().lower(), address.strip(), (memo or "").strip()
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": "The amount must be a positive number."})
    if not address:
        raise ValidationError({"address": "The address is required."})
    return currency, chain, address, memo


def withdrawal_check(*, currency: str, chain: str, address: str, memo: str, amount: Decimal, fee_deduct_type: str,
                     check_balance: bool = True) -> WithdrawalQuotaSnapshot:
    """Raises ValidationError (by field) for what KuCoin would refuse; -> the quota snapshot used."""
    snapshot = fresh_quota(currency, chain)
    if snapshot is None:
        raise ValidationError({"chain": f"KuCoin's current quota for {currency} on {chain} is needed first: "
                                        "it is fetched when the form is sent."})
    problems = withdrawal_problems(currency=currency, chain=chain, address=address, memo=memo, amount=amount,
                                   fee_deduct_type=fee_deduct_type, quota=quota_of(snapshot), check_balance=check_balance)
    if problems:
        raise ValidationError(problems)
    return snapshot


def withdrawal_request(*, currency: str, chain: str, address: str, memo: str = "", amount: Decimal,
                       fee_deduct_type: str = BrokerWithdrawal.FeeDeduct.EXTERNAL, note: str = "", requested_by,
                       check_balance: bool = True) -> BrokerWithdrawal:
    """Records a withdrawal waiting for approval (nothing is sent). The remark token is chosen here."""
    if requested_by is None or not has_role(requested_by, OPERATOR):
        raise ValidationError("Only an operator or a broker-admin can request a withdrawal.")
    currency, chain, address, memo = _clean_inputs(currency, chain, address, memo, amount)
    snapshot = withdrawal_check(currency=currency, chain=chain, address=address, memo=memo, amount=amount,
                                fee_deduct_type=fee_deduct_type, check_balance=check_balance)
    with transaction.atomic():
        withdrawal = BrokerWithdrawal.objects.create(
            remark=f"bo-{uuid.uuid4().hex}", currency=currency, chain=chain, address=address, memo=memo, amount=amount,
            fee_deduct_type=fee_deduct_type, expected_fee=quota_of(snapshot).min_fee, note=note[:200],
            requested_by=requested_by,
        )
        audit(withdrawal, "requested", actor=requested_by,
              detail=f"{plain(amount)} {currency} on {chain} to {address}" + (f" memo {memo}" if memo else ""),
              data={"amount": str(amount), "currency": currency, "chain": chain, "address": address, "memo": memo,
                    "fee_deduct_type": fee_deduct_type, "quota": snapshot.raw,
                    "quota_fetched_at": snapshot.fetched_at.isoformat()})
    return withdrawal


def ready_to_send(withdrawal: BrokerWithdrawal) -> bool:
    """Approved, and for a payout, its transfer to the broker account is done."""
    payout = getattr(withdrawal, "payout", None)
    return payout is None or payout.transfer.state == Transfer.State.SUCCEEDED


def _send_job(withdrawal: BrokerWithdrawal, requested_by=None) -> Job:
    from accounts.tasks import broker_withdrawal_send_task

    job = job_create(kind="broker_withdrawal_send", label=f"Send: {withdrawal}", requested_by=requested_by)
    job_enqueue(job=job, task=broker_withdrawal_send_task, args=(withdrawal.pk,))
    return job


def withdrawal_approve(*, withdrawal: BrokerWithdrawal, approver, confirm_unlisted: bool = False) -> Job | None:
    """A different broker-admin approves; the send is queued when ready (a payout waits for its transfer).
    A refused attempt is recorded too."""
    if not has_role(approver, BROKER_ADMIN):
        raise ValidationError("Only a broker-admin can approve a withdrawal.")
    if approver.pk == withdrawal.requested_by_id:
        audit(withdrawal, "approval_refused", actor=approver,
              detail="The requester tried to approve their own withdrawal: a different broker-admin must approve it.")
        raise ValidationError("You requested this withdrawal: a different broker-admin must approve it.")
    listed = on_allow_list(withdrawal)
    if not listed and not confirm_unlisted:
        raise ValidationError({"confirm_unlisted": f"{withdrawal.address} is not on the {withdrawal.currency} allow-list: "
                                                   "tick the box to confirm that this address is intended."})
    with transaction.atomic():
        approved = BrokerWithdrawal.objects.filter(pk=withdrawal.pk, state=BrokerWithdrawal.State.REQUESTED).update(
            **_changed(state=BrokerWithdrawal.State.APPROVED, approved_by=approver, approved_at=timezone.now(),
                       unlisted_address_confirmed=not listed))
        if not approved:
            raise ValidationError(f"It is {withdrawal.get_state_display().lower()}: only a withdrawal waiting for "
                                  "approval can be approved.")
        withdrawal.refresh_from_db()
        audit(withdrawal, "approved", actor=approver,
              detail="Address on the allow-list." if listed else "Address NOT on the allow-list; the approver confirmed it.",
              data={"on_allow_list": listed})
        return _send_job(withdrawal, approver) if ready_to_send(withdrawal) else None


def withdrawal_refuse(*, withdrawal: BrokerWithdrawal, by, reason: str) -> None:
    if not has_role(by, BROKER_ADMIN):
        raise ValidationError("Only a broker-admin can refuse a withdrawal.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why it is refused: the requester will read it."})
    with transaction.atomic():
        refused = BrokerWithdrawal.objects.filter(pk=withdrawal.pk, state=BrokerWithdrawal.State.REQUESTED).update(
            **_changed(state=BrokerWithdrawal.State.REFUSED, decided_by=by, decision_reason=reason,
                       completed_at=timezone.now()))
        if not refused:
            raise ValidationError("Only a withdrawal waiting for approval can be refused.")
        audit(withdrawal, "refused", actor=by, detail=reason)


def withdrawal_cancel(*, withdrawal: BrokerWithdrawal, by) -> Job | None:
    """Before it is sent: cancelled here. At KuCoin: a task asks KuCoin to cancel it, which KuCoin
    allows only while the withdrawal is PROCESSING."""
    from accounts.tasks import broker_withdrawal_cancel_task

    if not (has_role(by, BROKER_ADMIN) or (has_role(by, OPERATOR) and by.pk == withdrawal.requested_by_id)):
        raise ValidationError("Only the requester or a broker-admin can cancel a withdrawal.")
    with transaction.atomic():
        not_sent = BrokerWithdrawal.objects.filter(
            pk=withdrawal.pk, state__in=[BrokerWithdrawal.State.REQUESTED, BrokerWithdrawal.State.APPROVED], sent_at=None,
        ).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())).update(
            **_changed(state=BrokerWithdrawal.State.CANCELLED, decided_by=by, completed_at=timezone.now()))
        if not_sent:
            audit(withdrawal, "cancelled", actor=by, detail="Cancelled before it was sent.")
            return None
        withdrawal.refresh_from_db()
        if withdrawal.state in (BrokerWithdrawal.State.REQUESTED, BrokerWithdrawal.State.APPROVED) and withdrawal.sent_at is None:
            raise ValidationError("It is being sent right now: try again in a moment.")
        cancellable = (withdrawal.state == BrokerWithdrawal.State.PROCESSING and withdrawal.kucoin_withdrawal_id
                       and withdrawal.kucoin_status == "PROCESSING" and withdrawal.cancel_type != "NON_CANCELABLE")
        if not cancellable:
            raise ValidationError(f"KuCoin no longer allows cancelling it (status {withdrawal.kucoin_status or withdrawal.state}): "
                                  "a withdrawal can be cancelled only while KuCoin reports it PROCESSING.")
        # Only asked: who cancelled it is recorded once KuCoin reports it cancelled (see _apply_record).
        audit(withdrawal, "cancel_requested", actor=by, detail="Asked KuCoin to cancel it.")
        job = job_create(kind="broker_withdrawal_cancel", label=f"Cancel: {withdrawal}", requested_by=by)
        job_enqueue(job=job, task=broker_withdrawal_cancel_task, args=(withdrawal.pk,))
    return job


# -- in the worker ---------------------------------------------------------------------------------
def _fail(withdrawal: BrokerWithdrawal, words: str, *, code: str = "", message: str = "", lease: Lease | None = None) -> None:
    """With `lease`: only while the row is still this execution's (LeaseLost otherwise, nothing written)."""
    changes = _changed(state=BrokerWithdrawal.State.FAILED, error_code=code, error_message=message or words,
                       completed_at=timezone.now())
    if lease is None:
        BrokerWithdrawal.objects.filter(pk=withdrawal.pk).update(**changes)
    elif not lease.update(**changes):
        raise LeaseLost(f"{withdrawal} was taken over by another execution: not marked failed by this one.")
    audit(withdrawal, "failed", detail=words, data={"code": code})


def _cancelled_at_kucoin(withdrawal: BrokerWithdrawal, record: WithdrawalRecord) -> bool:
    """A FAILURE is a cancel when KuCoin's reason says so; with no reason given, when KuCoin accepted our
    request to cancel it. Any other reason is a failure, even while a cancel was asked."""
    if record.failure_reason:
        return "CANCEL" in record.failure_reason.upper()
    return withdrawal.audit_records.filter(action="cancel_accepted").exists()


def _cancel_asker(withdrawal: BrokerWithdrawal):
    """Who last asked KuCoin to cancel it (None when it was cancelled elsewhere)."""
    asked = withdrawal.audit_records.filter(action="cancel_requested").order_by("-at", "-id").first()
    return asked.actor if asked else None


def _apply_record(withdrawal: BrokerWithdrawal, record: WithdrawalRecord) -> BrokerWithdrawal:
    """KuCoin's view of the withdrawal onto the row; a status change is recorded."""
    state = STATUS_TO_STATE.get(record.status, BrokerWithdrawal.State.PROCESSING)
    changes = {"kucoin_status": record.status, "cancel_type": record.cancel_type or "",
               "failure_reason": record.failure_reason or "", "wallet_tx_id": record.wallet_tx_id or ""}
    if state == BrokerWithdrawal.State.FAILED and _cancelled_at_kucoin(withdrawal, record):
        state = BrokerWithdrawal.State.CANCELLED
        changes["decided_by"] = _cancel_asker(withdrawal)
    elif state in BrokerWithdrawal.FINAL_STATES:
        changes["decided_by"] = None  # ended otherwise: nobody cancelled it (a row from before may name who asked)
    changes["state"] = state
    if record.fee is not None:
        changes["fee"] = record.fee
    if state in BrokerWithdrawal.FINAL_STATES:
        changes["completed_at"] = timezone.now()
    BrokerWithdrawal.objects.filter(pk=withdrawal.pk).update(**_changed(**changes))
    if record.status != withdrawal.kucoin_status:
        audit(withdrawal, "status", detail=f"KuCoin: {record.status}" + (f" ({record.failure_reason})" if record.failure_reason else ""),
              data={"status": record.status, "failure_reason": record.failure_reason, "wallet_tx_id": record.wallet_tx_id})
    withdrawal.refresh_from_db()
    return withdrawal


def _record_id(withdrawal: BrokerWithdrawal, withdrawal_id: str, how: str) -> None:
    BrokerWithdrawal.objects.filter(pk=withdrawal.pk).update(**_changed(
        kucoin_withdrawal_id=withdrawal_id, state=BrokerWithdrawal.State.PROCESSING, error_code="", error_message=""))
    audit(withdrawal, how, detail=f"KuCoin withdrawal id {withdrawal_id}", data={"withdrawal_id": withdrawal_id})


def _last_attempt_ended(client, withdrawal: BrokerWithdrawal) -> datetime:
    """The latest time the last attempt may have reached KuCoin. `updated_at` is that attempt's start: it is
    written with the lease's renewal just before each attempt, and nothing else writes a row that was sent
    and has no KuCoin id. The attempt ended when its lost answer was recorded; when no such record follows
    its start (its worker died during it), it may have lasted as long as its lease."""
    started = withdrawal.updated_at
    ended = (withdrawal.audit_records.filter(action="outcome_unknown", at__gte=started)
             .order_by("-at").values_list("at", flat=True).first())
    return ended or started + timedelta(seconds=attempt_lease_seconds(client.transport))


def _found_by_remark(client, withdrawal: BrokerWithdrawal) -> str | None:
    """After an attempt whose answer was lost: the id of the withdrawal KuCoin made with our remark, or None
    (not executed) once KuCoin has had LISTING_LAG to list it. NotListedYet before that."""
    found = client.account.find_withdrawals(withdrawal.currency, since=withdrawal.sent_at, remark=withdrawal.remark)
    trusted_from = _last_attempt_ended(client, withdrawal) + LISTING_LAG
    too_early = not found and timezone.now() < trusted_from
    if found:
        detail = f"Found at KuCoin by its remark: {found[0].id}"
    elif too_early:
        detail = (f"Not listed at KuCoin yet; KuCoin may still be making it. Looked up again later, and sent again "
                  f"only if still not listed from {timezone.localtime(trusted_from):%H:%M:%S}.")
    else:
        detail = "Not at KuCoin: the earlier attempt was not executed."
    audit(withdrawal, "looked_up", detail=detail, data={"found": [r.id for r in found]})
    if too_early:
        raise NotListedYet(f"not in KuCoin's withdrawal history yet, looked up again until "
                           f"{timezone.localtime(trusted_from):%H:%M:%S} before it may be sent again",
                           endpoint="GET /api/v1/withdrawals")
    return found[0].id if found else None


# Sent only while nothing else settled it: not cancelled, not found or made at KuCoin by another execution.
_STILL_TO_SEND = Q(state__in=BrokerWithdrawal.SENDABLE_STATES, kucoin_withdrawal_id__isnull=True)


def _renew_for_attempt(lease: Lease, withdrawal: BrokerWithdrawal, seconds: int, **changes) -> None:
    if not lease.renew(seconds, only_if=_STILL_TO_SEND, **_changed(**changes)):
        raise LeaseLost(f"{withdrawal}: this execution's lease ran out and the row was taken over; not sent by it.")


def _withdraw(client, lease: Lease, withdrawal: BrokerWithdrawal) -> str:
    """The withdraw request, one attempt at a time, each inside the lease renewed just before it (no room at
    the rate limiter soon: the task tries again later, after a look-up)."""
    account, seconds = AccountAPI(one_attempt_transport(client.transport)), attempt_lease_seconds(client.transport)
    return in_attempts(
        lambda: account.withdraw(withdrawal.currency, withdrawal.chain, withdrawal.address, withdrawal.amount,
                                 memo=withdrawal.memo or None, remark=withdrawal.remark,
                                 fee_deduct_type=withdrawal.fee_deduct_type),
        before_next=lambda: _renew_for_attempt(lease, withdrawal, seconds))


def _not_sent(lease: Lease, withdrawal: BrokerWithdrawal, exc: Exception) -> None:
    """The first send never reached KuCoin: approved again, `sent_at` cleared (it can still be cancelled here;
    the task's next try, or the schedule, sends it). Only while the row is still this execution's."""
    if lease.update(only_if=_STILL_TO_SEND, **_changed(sent_at=None, state=BrokerWithdrawal.State.APPROVED)):
        audit(withdrawal, "not_sent", detail=f"Not sent: {error_in_words(exc)} Nothing reached KuCoin; it is sent "
                                             "again later, unless cancelled meanwhile.", data={"code": error_code(exc)})


def _send(client, lease: Lease, withdrawal: BrokerWithdrawal) -> str:
    """The one place a withdrawal request goes out. -> KuCoin's id."""
    first_send = withdrawal.sent_at is None
    if first_send:
        # KuCoin's figures may have moved since the request: ask again right before the first send.
        quota = client.account.get_withdrawal_quotas(withdrawal.currency, withdrawal.chain)
        why = amount_problem(quota, withdrawal.amount, withdrawal.fee_deduct_type)
        if why:
            _fail(withdrawal, f"Not sent: {why}", lease=lease)
            raise ValidationError(f"Not sent: {why}")
    if client.transport.clock.needs_sync():
        client.sync_clock()  # now, rather than inside the attempt's lease
    # In the UPDATE that checks the row is still this execution's, before anything can reach KuCoin; the
    # first attempt's time is kept, as the look-up starts from it.
    _renew_for_attempt(lease, withdrawal, attempt_lease_seconds(client.transport),
                       sent_at=Coalesce("sent_at", Value(timezone.now())), state=BrokerWithdrawal.State.UNKNOWN)
    withdrawal.refresh_from_db()
    audit(withdrawal, "sending", detail=f"Sending to KuCoin with remark {withdrawal.remark}")
    try:
        return _withdraw(client, lease, withdrawal)
    except NOTHING_EXECUTED as exc:
        if first_send:
            _not_sent(lease, withdrawal, exc)
        elif isinstance(exc, ServiceUnavailableError):
            audit(withdrawal, "outcome_unknown", detail=f"{error_in_words(exc)} It is looked up by its remark before any retry.")
        raise  # worth another try (TRANSIENT_ERRORS)
    except KEY_REFUSED as exc:
        # Failed rather than approved again: the task does not retry a refused key, so its job fails at once,
        # and an approved withdrawal would be sent by the schedule every 2 minutes, refused each time, then
        # sent whenever the key is fixed, long after staff were told it failed. Nothing was sent: staff fix
        # the key and request it again (its quota checked and approved anew).
        if first_send:
            words = (f"Not sent: KuCoin refused the broker's key ({error_in_words(exc)}). Nothing was withdrawn: "
                     "fix the key, then request the withdrawal again.")
            _fail(withdrawal, words, code=error_code(exc), message=words, lease=lease)
        raise
    except BadRequestError as exc:
        # Sent only after a look-up found nothing: KuCoin's refusal is final.
        _fail(withdrawal, f"KuCoin refused it: {error_in_words(exc)}", code=error_code(exc), message=exc.msg, lease=lease)
        raise
    except (OutcomeUnknownError, ServerError) as exc:
        # A lost answer or a 5xx: KuCoin may have made it. Retried by the task, after a look-up.
        audit(withdrawal, "outcome_unknown", detail=f"{error_in_words(exc)} It is looked up by its remark before any retry.")
        raise


def withdrawal_send(*, withdrawal_id: int, run: JobRun | None = None, last_try: bool = False) -> BrokerWithdrawal:
    """Sends an approved withdrawal once, then reads its status. `last_try`: the job's last attempt; a transient
    failure then hands the withdrawal to the follow-up schedule, and the job ends saying so."""
    try:
        return _send_and_read(withdrawal_id, run)
    except TRANSIENT_ERRORS as exc:
        if not (last_try and run):
            raise
        return _left_to_schedule(withdrawal_id, run, exc)


def _left_to_schedule(withdrawal_id: int, run: JobRun, exc: Exception) -> BrokerWithdrawal:
    """An approved withdrawal, or one whose outcome is unknown, is the schedule's to send or look up: the job ends
    saying so, not failed (staff told "failed" may request it again, and then two go out)."""
    withdrawal = BrokerWithdrawal.objects.get(pk=withdrawal_id)
    schedule = "the schedule “Follow broker withdrawals and payouts”"
    if isinstance(exc, LeaseHeld) and withdrawal.state in BrokerWithdrawal.SENDABLE_STATES:
        run.succeed(f"{withdrawal}: another execution is sending it now, and {schedule} follows it to the end: do "
                    "not request it again.", {"state": withdrawal.state})
    elif withdrawal.state == BrokerWithdrawal.State.APPROVED and withdrawal.sent_at is None:
        run.succeed(f"{withdrawal}: not sent yet ({error_in_words(exc)}). Nothing reached KuCoin. It stays approved, "
                    f"and {schedule} sends it within minutes, unless it is cancelled first.", {"state": withdrawal.state})
    elif withdrawal.state in BrokerWithdrawal.SENDABLE_STATES:
        run.succeed(f"{withdrawal}: KuCoin's answer is not known yet ({error_in_words(exc)}). {schedule.capitalize()} "
                    "looks it up by its remark and sends it only if KuCoin never received it: do not request it "
                    "again.", {"state": withdrawal.state})
    else:
        raise exc
    return withdrawal


def _send_and_read(withdrawal_id: int, run: JobRun | None) -> BrokerWithdrawal:
    with leased(BrokerWithdrawal, withdrawal_id) as lease:
        withdrawal = BrokerWithdrawal.objects.select_related("payout__transfer").get(pk=withdrawal_id)
        if withdrawal.state in BrokerWithdrawal.SENDABLE_STATES and not ready_to_send(withdrawal):
            if run:
                run.succeed(f"{withdrawal}: waiting for the payout's transfer to the broker account.")
            return withdrawal
        client = broker_client()
        if withdrawal.state in BrokerWithdrawal.SENDABLE_STATES and not withdrawal.kucoin_withdrawal_id:
            found = _found_by_remark(client, withdrawal) if withdrawal.sent_at else None
            if found:
                _record_id(withdrawal, found, "found")
            else:
                _record_id(withdrawal, _send(client, lease, withdrawal), "sent")
            withdrawal.refresh_from_db()
        if withdrawal.kucoin_withdrawal_id and not withdrawal.is_final:
            _apply_record(withdrawal, client.account.get_withdrawal(withdrawal.kucoin_withdrawal_id))
        if run:
            run.succeed(f"{withdrawal}: {withdrawal.get_state_display().lower()}"
                        + (f" (KuCoin id {withdrawal.kucoin_withdrawal_id})." if withdrawal.kucoin_withdrawal_id else "."),
                        {"withdrawal_id": withdrawal.pk, "state": withdrawal.state})
        return withdrawal


def withdrawal_cancel_send(*, withdrawal_id: int, run: JobRun | None = None) -> BrokerWithdrawal:
    with leased(BrokerWithdrawal, withdrawal_id):
        withdrawal = BrokerWithdrawal.objects.get(pk=withdrawal_id)
        client = broker_client()
        if not withdrawal.is_final:
            try:
                client.account.cancel_withdrawal(withdrawal.kucoin_withdrawal_id)
            except BadRequestError as exc:
                # Too late (KuCoin moved it on): it carries on; the refusal is on the record.
                audit(withdrawal, "cancel_refused", detail=f"KuCoin refused to cancel it: {error_in_words(exc)}")
                _apply_record(withdrawal, client.account.get_withdrawal(withdrawal.kucoin_withdrawal_id))
                raise
            # What lets a FAILURE without a reason count as this cancel (see _cancelled_at_kucoin).
            audit(withdrawal, "cancel_accepted", detail="KuCoin accepted the request to cancel it.")
            _apply_record(withdrawal, client.account.get_withdrawal(withdrawal.kucoin_withdrawal_id))
        if run:
            run.succeed(f"{withdrawal}: {withdrawal.get_state_display().lower()}.", {"state": withdrawal.state})
        return withdrawal


def broker_withdrawals_sync(*, run: JobRun) -> int:
    """Follows every withdrawal that has not ended: sends approved ones whose task was lost, resolves
    unknown outcomes by remark, reads KuCoin's status of the others. Payouts are moved on first."""
    from accounts.services.payouts import payouts_advance

    payouts_advance()
    grace = timezone.now() - SYNC_GRACE
    open_ids = list(BrokerWithdrawal.objects.exclude(state__in=[*BrokerWithdrawal.FINAL_STATES, BrokerWithdrawal.State.REQUESTED])
                    .filter(Q(kucoin_withdrawal_id__isnull=False) | Q(updated_at__lt=grace))
                    .order_by("pk").values_list("pk", flat=True))
    for done, withdrawal_id in enumerate(open_ids, start=1):
        try:
            withdrawal_send(withdrawal_id=withdrawal_id)
        except LeaseHeld:
            pass  # another worker is on it
        except NotListedYet:
            pass  # KuCoin may still be making it: looked up again by a later run
        except (BadRequestError, ValidationError):
            pass  # recorded on the withdrawal, in words
        run.progress(done, len(open_ids), f"{done} of {len(open_ids)} open withdrawals")
    run.succeed(f"Followed {len(open_ids)} open withdrawal(s).", {"checked": len(open_ids)})
    return len(open_ids)
