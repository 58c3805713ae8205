"""API keys of a sub-account: create (secret shown once), change, delete, import, sync."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.forms import ApiKeyForm, ApiKeyImportForm, ConfirmByTypingForm
from accounts.models import SubAccount, SubAccountApiKey
from accounts.services.apikeys import apikey_create, apikey_delete, apikey_import, apikey_reveal_once, apikey_update
from accounts.tasks import apikeys_sync_task
from accounts.views.common import add_service_error, job_in_request, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import OPERATOR, VIEWER, role_required
from trading.selectors import live_order_count_of_key


def _key(pk: int) -> SubAccountApiKey:
    return get_object_or_404(SubAccountApiKey.objects.select_related("sub_account"), pk=pk)


@role_required(OPERATOR)
def apikey_create_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, job = apikey_create(sub_account=sub_account, requested_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            return redirect_to_job("accounts:apikey-detail", job, pk=key.pk)
    context = {"sub_account": sub_account, "form": form, "title": f"New API key for {sub_account}",
               "submit": "Create key"}
    return render(request, "accounts/apikey_form.html", context, status=400 if form.errors else 200)


@never_cache  # the one response that may carry the secret must not be kept by any cache
@role_required(VIEWER)
def apikey_detail(request, pk: int):
    key = _key(pk)
    revealed = apikey_reveal_once(key=key, user=request.user)
    if revealed:
        key.refresh_from_db(fields=["secret_shown_at"])
    context = {
        "key": key, "sub_account": key.sub_account, "job": job_in_request(request),
        "revealed_secret": revealed[0] if revealed else None,
        "revealed_passphrase": revealed[1] if revealed else None,
        "is_creator": key.requested_by_id == request.user.pk and key.source == SubAccountApiKey.Source.CREATED,
    }
    return render(request, "accounts/apikey_detail.html", context)


@role_required(OPERATOR)
def apikey_edit_view(request, pk: int):
    key = _key(pk)
    form = ApiKeyForm(request.POST or None, initial=ApiKeyForm.initial_for(key))
    if request.method == "POST" and form.is_valid():
        if key.state != SubAccountApiKey.State.ACTIVE:
            form.add_error(None, f"The key is {key.get_state_display().lower()}: only an active key can be changed.")
        else:
            job = apikey_update(key=key, requested_by=request.user, **form.cleaned_data)
            return redirect_to_job("accounts:apikey-detail", job, pk=key.pk)
    context = {"sub_account": key.sub_account, "key": key, "form": form, "title": f"Change the key “{key.label}”",
               "submit": "Save changes"}
    return render(request, "accounts/apikey_form.html", context, status=400 if form.errors else 200)


@role_required(OPERATOR)
def apikey_delete_view(request, pk: int):
    key = _key(pk)
    form = ConfirmByTypingForm(request.POST or None, expected=key.label, what="key's label")
    if request.method == "POST" and form.is_valid():
        if key.state in (SubAccountApiKey.State.DELETING, SubAccountApiKey.State.DELETED):
            form.add_error(None, f"The key is already {key.get_state_display().lower()}.")
        else:
            job = apikey_delete(key=key, requested_by=request.user)
            return redirect_to_job("accounts:apikey-detail", job, pk=key.pk)
    context = {"key": key, "sub_account": key.sub_account, "form": form,
               "live_orders": live_order_count_of_key(key.pk)}
    return render(request, "accounts/apikey_delete.html", context, status=400 if form.errors else 200)


@role_required(OPERATOR)
def apikey_import_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    form = ApiKeyImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, job = apikey_import(sub_account=sub_account, requested_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc, "api_key")
        else:
            messages.info(request, "The key is checked with one signed call before it is kept.")
            return redirect_to_job("accounts:subaccount-detail", job, pk=sub_account.pk)
    return render(request, "accounts/apikey_import.html", {"sub_account": sub_account, "form": form},
                  status=400 if form.errors else 200)


@require_POST
@role_required(OPERATOR)
def apikeys_sync_view(request, pk: int):
    sub_account = get_object_or_404(SubAccount, pk=pk)
    if not sub_account.uid:
        messages.error(request, f"{sub_account} has no UID yet: there are no keys at KuCoin to sync.")
        return redirect("accounts:subaccount-detail", pk=pk)
    job = job_start(kind="apikeys_sync", label=f"Sync API keys of {sub_account}", task=apikeys_sync_task,
                    args=(sub_account.uid,), requested_by=request.user)
    return redirect_to_job("accounts:subaccount-detail", job, pk=pk)
