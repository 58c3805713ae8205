"""KYC of a sub-account: the submission form (photos become data URLs here) and the status check."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from accounts.forms import KycForm
from accounts.models import SubAccount
from accounts.services.kyc import kyc_submit
from accounts.tasks import kyc_status_sync_task
from accounts.views.common import add_service_error, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import OPERATOR, role_required


@role_required(OPERATOR)
def kyc_submit_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    form = KycForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if sub_account.state != SubAccount.State.ACTIVE or not sub_account.uid:
            form.add_error(None, f"{sub_account} is {sub_account.get_state_display().lower()}: KYC is sent for active sub-accounts.")
        else:
            try:
                submission, job = kyc_submit(sub_account=sub_account, data=form.service_data(), requested_by=request.user)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, "KYC stored encrypted and queued for KuCoin.")
                return redirect_to_job("accounts:subaccount-detail", job, pk=sub_account.pk)
    return render(request, "accounts/kyc_form.html", {"sub_account": sub_account, "form": form},
                  status=400 if form.errors else 200)


@require_POST
@role_required(OPERATOR)
def kyc_status_sync_view(request, pk: int):
    # KuCoin's status call covers every waiting submission at once: one job for all of them.
    job = job_start(kind="kyc_status_sync", label="Check KYC status at KuCoin", task=kyc_status_sync_task,
                    requested_by=request.user)
    return redirect_to_job("accounts:subaccount-detail", job, pk=pk)
