"""Transfers between the broker account and sub-accounts: request, list, retry, sync."""
from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import TransferForm
from accounts.models import SubAccount, Transfer
from accounts.services.transfers import transfer_request, transfer_retry
from accounts.tasks import transfers_sync_task
from accounts.views.common import PAGE_SIZE, add_service_error, job_in_request, keyset_page, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import OPERATOR, VIEWER, role_required
from brokeroffice.sorting import chosen_sort, sorted_page

STALLED_AFTER = timedelta(minutes=5)


TRANSFER_COLUMNS = {"sub_account": "sub_account__account_name", "direction": "direction", "amount": "amount",
                    "state": "state", "requested": "created_at"}


@role_required(VIEWER)
def transfer_list(request):
    state = request.GET.get("state", "")
    transfers = Transfer.objects.select_related("sub_account").only(
        "pk", "client_oid", "direction", "currency", "amount", "broker_account_type", "sub_account_type", "state",
        "kucoin_order_id", "error_code", "error_message", "failure_reason", "created_at", "updated_at", "sub_account__account_name",
    )
    if state in Transfer.State.values:
        transfers = transfers.filter(state=state)
    sub_account = request.GET.get("sub_account", "")
    if sub_account.isdigit():
        transfers = transfers.filter(sub_account_id=int(sub_account))
    sort = chosen_sort(request, TRANSFER_COLUMNS)
    page = sorted_page(request, transfers, sort, PAGE_SIZE) if sort else keyset_page(request, transfers)
    mark_retryable(page.object_list)
    context = {"page": page, "state": state, "states": Transfer.State.choices, "job": job_in_request(request)}
    return render(request, "accounts/transfer_list.html", context)


@role_required(OPERATOR)
def transfer_create_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            transfer, job = transfer_request(sub_account=sub_account, requested_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Transfer queued with clientOid {transfer.client_oid}.")
            return redirect_to_job("accounts:subaccount-detail", job, pk=sub_account.pk)
    return render(request, "accounts/transfer_form.html", {"sub_account": sub_account, "form": form},
                  status=400 if form.errors else 200)


@require_POST
@role_required(OPERATOR)
def transfer_retry_view(request, pk: int):
    transfer = get_object_or_404(Transfer, pk=pk)
    try:
        job = transfer_retry(transfer=transfer, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:transfer-list")
    return redirect_to_job("accounts:transfer-list", job)


@require_POST
@role_required(OPERATOR)
def transfers_sync_view(request):
    job = job_start(kind="transfers_sync", label="Sync open transfers from KuCoin", task=transfers_sync_task,
                    requested_by=request.user)
    return redirect_to_job("accounts:transfer-list", job)


def mark_retryable(transfers) -> None:
    """Offers "Try again" on a transfer that has not ended, is not moving at KuCoin, and whose sending failed
    (an error is recorded) or stalled. Retrying is safe: it re-sends with the same clientOid."""
    stalled_before = timezone.now() - STALLED_AFTER
    for transfer in transfers:
        transfer.can_retry = transfer.state in (Transfer.State.PENDING, Transfer.State.UNKNOWN) and (
            bool(transfer.error_code or transfer.error_message) or transfer.updated_at < stalled_before
        )
