"""Deposits into sub-accounts and withdrawals from them, in one list, with their syncs."""
from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.forms import DepositFilterForm
from accounts.models import Deposit, Withdrawal
from accounts.tasks import deposits_sync_task, withdrawals_sync_task
from accounts.views.common import PAGE_SIZE, job_in_request, keyset_page, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import OPERATOR, VIEWER, role_required


def _filtered(queryset, filters: DepositFilterForm):
    if not filters.is_valid():
        return queryset
    data = filters.cleaned_data
    if data["currency"].strip():
        queryset = queryset.filter(currency=data["currency"].strip().upper())
    if data["status"]:
        queryset = queryset.filter(status=data["status"])
    if data["uid"].strip():
        queryset = queryset.filter(uid=data["uid"].strip())
    return queryset


@role_required(VIEWER)
def deposit_list(request):
    filters = DepositFilterForm(request.GET or None)
    deposits = _filtered(Deposit.objects.select_related("sub_account"), filters)
    withdrawals = _filtered(Withdrawal.objects.select_related("sub_account"), filters).order_by("-id")[:PAGE_SIZE]
    context = {"filters": filters, "page": keyset_page(request, deposits), "withdrawals": list(withdrawals),
               "job": job_in_request(request)}
    return render(request, "accounts/deposit_list.html", context)


@require_POST
@role_required(OPERATOR)
def deposits_sync_view(request):
    job = job_start(kind="deposits_sync", label="Sync deposits from KuCoin", task=deposits_sync_task,
                    requested_by=request.user)
    return redirect_to_job("accounts:deposit-list", job)


@require_POST
@role_required(OPERATOR)
def withdrawals_sync_view(request):
    job = job_start(kind="withdrawals_sync", label="Sync open withdrawals from KuCoin", task=withdrawals_sync_task,
                    requested_by=request.user)
    return redirect_to_job("accounts:deposit-list", job)
