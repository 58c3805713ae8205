"""Deposit addresses of sub-accounts: ask for one (a task gets it with the sub-account's key), and its
page with a copy button and a QR code."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from accounts.forms import DepositAddressForm
from accounts.models import DepositAddress, SubAccount
from accounts.selectors import deposits_to
from accounts.services.deposit_addresses import deposit_address_request, signing_key_of
from accounts.views.common import add_service_error, job_in_request, redirect_to_job
from brokeroffice.roles import OPERATOR, VIEWER, role_required


@role_required(OPERATOR)
def deposit_address_create_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    form = DepositAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address, job = deposit_address_request(sub_account=sub_account, requested_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Getting the {address.currency} address on {address.chain} from KuCoin.")
            return redirect_to_job("accounts:deposit-address-detail", job, pk=address.pk)
    context = {"sub_account": sub_account, "form": form, "has_key": signing_key_of(sub_account) is not None}
    return render(request, "accounts/funding/deposit_address_form.html", context, status=400 if form.errors else 200)


@role_required(VIEWER)
def deposit_address_detail(request, pk: int):
    address = get_object_or_404(DepositAddress.objects.select_related("sub_account"), pk=pk)
    context = {"address": address, "sub_account": address.sub_account, "deposits": deposits_to(address, limit=50),
               "job": job_in_request(request)}
    return render(request, "accounts/funding/deposit_address_detail.html", context)


@require_POST
@role_required(OPERATOR)
def deposit_address_refresh_view(request, pk: int):
    """Reads the address again (or makes it, after a failure): the same row, never a second address."""
    address = get_object_or_404(DepositAddress.objects.select_related("sub_account"), pk=pk)
    try:
        address, job = deposit_address_request(sub_account=address.sub_account, currency=address.currency,
                                               chain=address.chain, credited_account=address.credited_account,
                                               requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return render(request, "accounts/funding/deposit_address_detail.html",
                      {"address": address, "sub_account": address.sub_account, "deposits": deposits_to(address)}, status=400)
    return redirect_to_job("accounts:deposit-address-detail", job, pk=address.pk)
