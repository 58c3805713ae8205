"""Withdrawals from the broker account and customer payouts: request (checked against KuCoin's quota,
fetched by a task), approve by a different broker-admin, refuse, cancel, follow, and each one's record."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.forms import BrokerWithdrawalForm, PayoutForm, WithdrawalApproveForm, WithdrawalRefuseForm
from accounts.models import BrokerWithdrawal, SubAccount
from accounts.selectors import withdrawal_with_record, withdrawals_waiting_for
from accounts.services import payouts, withdrawals
from accounts.tasks import broker_withdrawals_sync_task
from accounts.views.common import add_service_error, job_in_request, keyset_page, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import BROKER_ADMIN, OPERATOR, VIEWER, has_role, role_required

KEPT_FIELDS = ("currency", "chain", "address", "memo", "amount", "fee_deduct_type", "note", "sub_account_type")


def _quota_for(form):
    """The fresh quota snapshot of the currency and chain in the form (typed or bound), or None."""
    data = form.data if form.is_bound else form.initial
    currency, chain = str(data.get("currency", "")).strip(), str(data.get("chain", "")).strip()
    if not currency or not chain:
        return None
    snapshot = withdrawals.fresh_quota(currency, chain)
    return withdrawals.quota_of(snapshot) if snapshot else None


def _fetch_quota_and_come_back(request, form, url: str):
    """No fresh quota for this currency and chain: a task fetches it; the form comes back filled in."""
    data = form.cleaned_data
    job = withdrawals.withdrawal_quota_fetch_start(currency=data["currency"], chain=data["chain"], requested_by=request.user)
    kept = {name: str(request.POST.get(name, "")) for name in KEPT_FIELDS if request.POST.get(name)}
    messages.info(request, f"Fetching KuCoin's current withdrawal quota of {data['currency']} on {data['chain']}; "
                           "check the figures below, then send the form again.")
    return HttpResponseRedirect(f"{url}?{urlencode({**kept, 'job': job.pk})}")


@role_required(VIEWER)
def withdrawal_list(request):
    state = request.GET.get("state", "")
    rows = BrokerWithdrawal.objects.select_related("requested_by", "approved_by", "payout__transfer", "payout__sub_account")
    if state in BrokerWithdrawal.State.values:
        rows = rows.filter(state=state)
    context = {"page": keyset_page(request, rows), "state": state, "states": BrokerWithdrawal.State.choices,
               "job": job_in_request(request),
               "waiting_for_me": withdrawals_waiting_for(request.user) if has_role(request.user, BROKER_ADMIN) else 0}
    return render(request, "accounts/funding/withdrawal_list.html", context)


def _initial_kept(request) -> dict:
    """What the form held before a quota fetch sent the user away and back."""
    return {name: request.GET[name] for name in KEPT_FIELDS if name in request.GET}


def _send_with_fresh_quota(request, form, url: str, send):
    """A valid POST is sent by `send(cleaned_data)`, which returns the response; without a fresh quota for its
    currency and chain a task fetches one first and the form comes back filled in. None: show the form (not
    posted, invalid, or refused by the service, the refusal beside its fields)."""
    if request.method != "POST" or not form.is_valid():
        return None
    data = form.cleaned_data
    if withdrawals.fresh_quota(data["currency"], data["chain"]) is None:
        return _fetch_quota_and_come_back(request, form, url)
    try:
        return send(data)
    except ValidationError as exc:
        add_service_error(form, exc)
        return None


def _quota_form_page(request, form, template: str, **extra):
    context = {"form": form, "quota": _quota_for(form), "job": job_in_request(request), **extra}
    return render(request, template, context, status=400 if form.errors else 200)


@role_required(OPERATOR)
def withdrawal_create_view(request):
    form = BrokerWithdrawalForm(request.POST or None, initial=_initial_kept(request))

    def send(data):
        withdrawal = withdrawals.withdrawal_request(requested_by=request.user, **data)
        messages.success(request, "Withdrawal requested: a different broker-admin must approve it before it is sent.")
        return redirect("accounts:broker-withdrawal-detail", pk=withdrawal.pk)

    response = _send_with_fresh_quota(request, form, reverse("accounts:broker-withdrawal-create"), send)
    return response or _quota_form_page(request, form, "accounts/funding/withdrawal_form.html")


@role_required(OPERATOR)
def payout_create_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    form = PayoutForm(request.POST or None, initial=_initial_kept(request))

    def send(data):
        payout, job = payouts.payout_request(sub_account=sub_account, requested_by=request.user, **data)
        messages.success(request, "Payout started: the transfer to the broker account is on its way; the withdrawal "
                                  "waits for a different broker-admin's approval.")
        return redirect_to_job("accounts:broker-withdrawal-detail", job, pk=payout.withdrawal_id)

    response = _send_with_fresh_quota(request, form, reverse("accounts:payout-create", args=[pk]), send)
    return response or _quota_form_page(request, form, "accounts/funding/payout_form.html", sub_account=sub_account)


def _detail(request, pk: int, *, approve_form=None, refuse_form=None, status: int = 200):
    try:
        withdrawal = withdrawal_with_record(pk)
    except BrokerWithdrawal.DoesNotExist:
        raise Http404("No such withdrawal.") from None
    user = request.user
    context = {
        "withdrawal": withdrawal,
        "payout": getattr(withdrawal, "payout", None),
        "records": list(withdrawal.audit_records.all()),
        "on_allow_list": withdrawals.on_allow_list(withdrawal),
        "is_requester": user.pk == withdrawal.requested_by_id,
        "can_decide": has_role(user, BROKER_ADMIN) and withdrawal.state == BrokerWithdrawal.State.REQUESTED,
        "can_cancel": not withdrawal.is_final and (has_role(user, BROKER_ADMIN) or user.pk == withdrawal.requested_by_id),
        "approve_form": approve_form or WithdrawalApproveForm(),
        "refuse_form": refuse_form or WithdrawalRefuseForm(),
        "job": job_in_request(request),
    }
    return render(request, "accounts/funding/withdrawal_detail.html", context, status=status)


@role_required(VIEWER)
def withdrawal_detail(request, pk: int):
    return _detail(request, pk)


@require_POST
@role_required(BROKER_ADMIN)
def withdrawal_approve_view(request, pk: int):
    withdrawal = get_object_or_404(BrokerWithdrawal, pk=pk)
    form = WithdrawalApproveForm(request.POST)
    form.is_valid()
    try:
        job = withdrawals.withdrawal_approve(withdrawal=withdrawal, approver=request.user,
                                             confirm_unlisted=form.cleaned_data.get("confirm_unlisted", False))
    except ValidationError as exc:
        add_service_error(form, exc)
        return _detail(request, pk, approve_form=form, status=400)
    messages.success(request, "Approved." + (" It is being sent." if job else " It is sent once the payout's transfer is done."))
    if job:
        return redirect_to_job("accounts:broker-withdrawal-detail", job, pk=pk)
    return redirect("accounts:broker-withdrawal-detail", pk=pk)


@require_POST
@role_required(BROKER_ADMIN)
def withdrawal_refuse_view(request, pk: int):
    withdrawal = get_object_or_404(BrokerWithdrawal, pk=pk)
    form = WithdrawalRefuseForm(request.POST)
    if form.is_valid():
        try:
            withdrawals.withdrawal_refuse(withdrawal=withdrawal, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Refused; the refusal is on the record.")
            return redirect("accounts:broker-withdrawal-detail", pk=pk)
    return _detail(request, pk, refuse_form=form, status=400)


@require_POST
@role_required(OPERATOR)
def withdrawal_cancel_view(request, pk: int):
    withdrawal = get_object_or_404(BrokerWithdrawal, pk=pk)
    try:
        job = withdrawals.withdrawal_cancel(withdrawal=withdrawal, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:broker-withdrawal-detail", pk=pk)
    if job:
        return redirect_to_job("accounts:broker-withdrawal-detail", job, pk=pk)
    messages.success(request, "Cancelled before it was sent.")
    return redirect("accounts:broker-withdrawal-detail", pk=pk)


@require_POST
@role_required(OPERATOR)
def withdrawals_follow_view(request):
    job = job_start(kind="broker_withdrawals_sync", label="Follow withdrawals and payouts at KuCoin",
                    task=broker_withdrawals_sync_task, requested_by=request.user)
    return redirect_to_job("accounts:broker-withdrawal-list", job)
