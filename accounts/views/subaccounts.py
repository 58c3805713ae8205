"""Sub-accounts: the list (search, filter, create, sync), the detail page, retry and retire."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import ApiKeyForm, ConfirmByTypingForm, SubAccountCreateForm, SubAccountFilterForm
from accounts.models import SubAccount, SubAccountApiKey
from accounts.services.retire import subaccount_retire
from accounts.services.subaccounts import subaccount_create, subaccount_create_retry
from accounts.tasks import balances_refresh_task, subaccounts_sync_task
from accounts.views.transfers import STALLED_AFTER, mark_retryable
from accounts.views.common import PAGE_SIZE, add_service_error, job_in_request, keyset_page, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import OPERATOR, VIEWER, role_required
from brokeroffice.sorting import chosen_sort, sorted_page
from rebates.selectors import rebate_totals_of
from trading.selectors import orders_of_sub_account

DETAIL_ROWS = 20  # the detail page shows the latest rows of each kind; the lists have the rest
SORTABLE = {"name": "account_name", "uid": "uid", "state": "state", "level": "level", "created": "kucoin_created_at"}


def _filtered_sub_accounts(filters: SubAccountFilterForm):
    rows = SubAccount.objects.only("pk", "account_name", "uid", "level", "state", "kucoin_created_at", "created_at")
    if not filters.is_valid():
        return rows
    q, state = filters.cleaned_data["q"].strip(), filters.cleaned_data["state"]
    if q:
        # A prefix search on the unique name index, or an exact UID: both indexed, no full scan.
        rows = rows.filter(Q(account_name__startswith=q) | Q(uid=q)) if q.isdigit() else rows.filter(account_name__startswith=q)
    if state:
        rows = rows.filter(state=state)
    return rows


def _list_page(request, create_form: SubAccountCreateForm, status: int = 200):
    filters = SubAccountFilterForm(request.GET or None)
    rows, sort = _filtered_sub_accounts(filters), chosen_sort(request, SORTABLE)
    page = sorted_page(request, rows, sort, PAGE_SIZE) if sort else keyset_page(request, rows)
    context = {"filters": filters, "page": page, "create_form": create_form, "job": job_in_request(request)}
    return render(request, "accounts/subaccount_list.html", context, status=status)


@role_required(VIEWER)
def subaccount_list(request):
    return _list_page(request, SubAccountCreateForm())


@require_POST
@role_required(OPERATOR)
def subaccount_create_view(request):
    form = SubAccountCreateForm(request.POST)
    if form.is_valid():
        try:
            sub_account, job = subaccount_create(name=form.cleaned_data["name"], requested_by=request.user)
        except ValidationError as exc:
            add_service_error(form, exc, "name")
        else:
            messages.success(request, f"Creating {sub_account.account_name} at KuCoin.")
            return redirect_to_job("accounts:subaccount-detail", job, pk=sub_account.pk)
    return _list_page(request, form, status=400)


@require_POST
@role_required(OPERATOR)
def subaccounts_sync_view(request):
    job = job_start(kind="subaccounts_sync", label="Sync sub-accounts from KuCoin", task=subaccounts_sync_task,
                    requested_by=request.user)
    return redirect_to_job("accounts:subaccount-list", job)


def creation_retryable(sub_account: SubAccount) -> bool:
    """Failed at KuCoin, or still pending long after it was asked for (its job gave up): the name is looked up
    before anything is resent, so trying again never makes a second sub-account."""
    if sub_account.state == SubAccount.State.FAILED:
        return True
    return sub_account.state == SubAccount.State.PENDING and sub_account.updated_at < timezone.now() - STALLED_AFTER


@role_required(VIEWER)
def subaccount_detail(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    transfers = list(sub_account.transfers.all()[:DETAIL_ROWS])
    mark_retryable(transfers)
    context = {
        "sub_account": sub_account,
        "job": job_in_request(request),
        "can_retry_creation": creation_retryable(sub_account),
        "api_keys": list(sub_account.api_keys.exclude(state=SubAccountApiKey.State.DELETED).defer("secret", "passphrase")),
        "balances": list(sub_account.balances.all()),
        "transfers": transfers,
        "deposits": list(sub_account.deposits.all()[:DETAIL_ROWS]),
        "withdrawals": list(sub_account.withdrawals.all()[:DETAIL_ROWS]),
        "kyc_submissions": list(sub_account.kyc_submissions.defer("personal_data")[:5]),
        "key_form": ApiKeyForm(),
        "orders": orders_of_sub_account(sub_account.pk, limit=DETAIL_ROWS),
        "rebates": rebate_totals_of(sub_account.uid, days=30) if sub_account.uid else [],
    }
    return render(request, "accounts/subaccount_detail.html", context)


@require_POST
@role_required(OPERATOR)
def subaccount_retry_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    if not creation_retryable(sub_account):
        messages.error(request, f"{sub_account} is {sub_account.get_state_display().lower()}: there is nothing to try again.")
        return redirect("accounts:subaccount-detail", pk=pk)
    job = subaccount_create_retry(sub_account=sub_account, requested_by=request.user)
    return redirect_to_job("accounts:subaccount-detail", job, pk=pk)


@require_POST
@role_required(OPERATOR)
def balances_refresh_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    job = job_start(kind="balances_refresh", label=f"Refresh balances of {sub_account}", task=balances_refresh_task,
                    args=(sub_account.pk,), requested_by=request.user)
    return redirect_to_job("accounts:subaccount-detail", job, pk=pk)


@role_required(OPERATOR)
def subaccount_retire_view(request, pk: int):
    """GET: what retiring does, and the confirmation form; POST: retire, once the name was typed."""
    sub_account = get_object_or_404(SubAccount, pk=pk)
    form = ConfirmByTypingForm(request.POST or None, expected=sub_account.account_name, what="sub-account's name")
    if request.method == "POST" and form.is_valid():
        try:
            job = subaccount_retire(sub_account=sub_account, requested_by=request.user)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            return redirect_to_job("accounts:subaccount-detail", job, pk=pk)
    context = {"sub_account": sub_account, "form": form,
               "keys_to_delete": sub_account.api_keys.exclude(state=SubAccountApiKey.State.DELETED).count()}
    return render(request, "accounts/subaccount_retire.html", context, status=400 if form.errors else 200)
