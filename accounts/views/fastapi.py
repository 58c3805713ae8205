"""Fast API ("Log in with KuCoin"): the customer's start URL, callback and status page (no staff login), and
the staff pages of connections and settings. No view calls KuCoin: the callback keeps the code for a task."""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import FastApiConnectionFilterForm, FastApiDisconnectForm, FastApiSettingsForm
from accounts.models import FastApiConnection
from accounts.services.fastapi import (STALLED_AFTER, STATE_TTL, Refusal, browser_nonce_new, browser_nonce_valid,
                                       failure_for_customer, failure_for_staff, fastapi_callback_accept,
                                       fastapi_connect_start, fastapi_disconnect, fastapi_key_retry, fastapi_settings,
                                       key_retry_refusal)
from accounts.tasks import fastapi_tokens_refresh_task
from accounts.views.common import add_service_error, job_in_request, keyset_page, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import BROKER_ADMIN, OPERATOR, VIEWER, role_required
from trading.selectors import orders_of_connection

logger = logging.getLogger("accounts.fastapi")
# The public start URL: at most this many new logins per client address per minute.
STARTS_PER_MINUTE = 20
# Ties a login to the browser that started it (RFC 6749 10.12); sent back only to the start and callback URLs.
LOGIN_COOKIE = "kucoin_login"
State = FastApiConnection.State


def _start_again(customer_ref: str) -> str:
    return f"{reverse('accounts:fastapi-start')}?{urlencode({'customer': customer_ref})}"


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def _too_many_starts(request) -> bool:
    key = f"fastapi-start:{_client_address(request)}"
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) > STARTS_PER_MINUTE
    except ValueError:  # expired between add and incr
        return False


def _refused(request, refusal: Refusal):
    start_again = None
    if refusal.customer_ref and refusal.kind not in ("start_already_connected", "start_bad_redirect"):
        start_again = _start_again(refusal.customer_ref)
    return render(request, "accounts/fastapi/customer_message.html",
                  {"title": refusal.title, "message": refusal.message, "start_again": start_again,
                   "refused": refusal.status >= 400}, status=refusal.status)


# -- customer-facing --------------------------------------------------------------------------------

@login_not_required
@never_cache
@require_GET
def connect_start(request):
    """/connect/kucoin/?customer=REF: a pending connection, then KuCoin's login page."""
    if _too_many_starts(request):
        logger.warning("Fast API start refused (start_rate_limited): too many starts from one address")
        return _refused(request, Refusal("start_rate_limited", "too many starts from one address",
                                         "Please wait a minute", "Too many connection attempts came from your "
                                         "network. Wait a minute, then try again.", 429))
    # The browser's own nonce is kept when it has one, so that two logins started in one browser both finish.
    nonce = request.COOKIES.get(LOGIN_COOKIE, "")
    nonce = nonce if browser_nonce_valid(nonce) else browser_nonce_new()
    try:
        _, authorize_url = fastapi_connect_start(customer_ref=request.GET.get("customer", ""), browser_nonce=nonce,
                                                 redirect_uri=request.GET.get("redirect_uri"),
                                                 signature=request.GET.get("sig"))
    except Refusal as refusal:
        return _refused(request, refusal)
    response = HttpResponseRedirect(authorize_url)
    # SameSite=Lax: KuCoin's redirect back is a top-level GET, which carries it; HttpOnly: no script reads it.
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=int(STATE_TTL.total_seconds()),
                        path=reverse("accounts:fastapi-start"), secure=request.is_secure(), httponly=True,
                        samesite="Lax")
    return response


@login_not_required
@never_cache
@require_GET
def connect_callback(request):
    """Where KuCoin sends the customer back: the code is kept (encrypted) for the worker, never used here."""
    callback_url = request.build_absolute_uri(request.path)
    try:
        connection, _ = fastapi_callback_accept(params=request.GET, callback_url=callback_url,
                                                browser_nonce=request.COOKIES.get(LOGIN_COOKIE))
    except Refusal as refusal:
        return _refused(request, refusal)
    # Away from the URL that carried the code: the status page's own URL names no secret.
    return redirect("accounts:fastapi-status", public_id=connection.public_id)


@login_not_required
@never_cache
@require_GET
def connect_status(request, public_id):
    """The customer's page while the connection completes: refreshes itself until it is done."""
    connection = get_object_or_404(FastApiConnection, public_id=public_id)
    working = (connection.state in (State.PENDING, State.CONNECTED, State.RECONNECT_NEEDED)
               and connection.code_received_at is not None and not connection.failure_kind)
    # Untouched for longer than the task's whole retry schedule: KuCoin kept failing and the task gave up.
    stalled = working and connection.updated_at < timezone.now() - STALLED_AFTER
    working = working and not stalled
    done = connection.state == State.KEY_CREATED
    failed = bool(connection.failure_kind) or connection.state == State.FAILED
    context = {
        "connection": connection, "working": working, "stalled": stalled, "done": done, "failed": failed,
        "failure": failure_for_customer(connection) if failed else "",
        "start_again": _start_again(connection.customer_ref),
    }
    response = render(request, "accounts/fastapi/customer_status.html", context)
    if working:
        response["Refresh"] = "3"  # the browser reloads the page until the worker is done (no script needed)
    return response


# -- staff -------------------------------------------------------------------------------------------

@role_required(VIEWER)
def connection_list(request):
    filters = FastApiConnectionFilterForm(request.GET or None)
    connections = FastApiConnection.objects.defer(
        "code", "access_token", "refresh_token", "api_secret", "api_passphrase")
    if filters.is_valid():
        if filters.cleaned_data["customer"].strip():
            connections = connections.filter(customer_ref=filters.cleaned_data["customer"].strip())
        if filters.cleaned_data["state"]:
            connections = connections.filter(state=filters.cleaned_data["state"])
    settings_row = fastapi_settings()
    context = {"filters": filters, "page": keyset_page(request, connections), "job": job_in_request(request),
               "configured": settings_row.is_configured, "now": timezone.now(), "signed": bool(settings_row.link_secret),
               "start_url": request.build_absolute_uri(reverse("accounts:fastapi-start")) + "?customer=…"}
    return render(request, "accounts/fastapi/connection_list.html", context)


@role_required(VIEWER)
def connection_detail(request, pk: int):
    connection = get_object_or_404(FastApiConnection, pk=pk)
    no_retry = key_retry_refusal(connection)
    context = {"connection": connection, "job": job_in_request(request), "failure": failure_for_staff(connection),
               "now": timezone.now(), "orders": orders_of_connection(connection.pk), "can_retry": not no_retry,
               # Said only where a retry could be expected: a connection without its key.
               "no_retry": no_retry if connection.state in (State.FAILED, State.CONNECTED) and not connection.api_key
               else ""}
    return render(request, "accounts/fastapi/connection_detail.html", context)


@role_required(OPERATOR)
def connection_disconnect(request, pk: int):
    connection = get_object_or_404(FastApiConnection, pk=pk)
    form = FastApiDisconnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fastapi_disconnect(connection=connection, mark_key_unused=form.cleaned_data["mark_key_unused"])
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Disconnected customer {connection.customer_ref}: its tokens are deleted"
                             + (" and its key is no longer used." if form.cleaned_data["mark_key_unused"] else "."))
            return redirect("accounts:connection-detail", pk=pk)
    return render(request, "accounts/fastapi/connection_disconnect.html", {"connection": connection, "form": form},
                  status=400 if form.errors else 200)


@require_POST
@role_required(OPERATOR)
def connection_retry(request, pk: int):
    connection = get_object_or_404(FastApiConnection, pk=pk)
    try:
        job = fastapi_key_retry(connection=connection, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:connection-detail", pk=pk)
    return redirect_to_job("accounts:connection-detail", job, pk=pk)


@require_POST
@role_required(OPERATOR)
def tokens_refresh_view(request):
    job = job_start(kind="fastapi_tokens_refresh", label="Refresh Fast API tokens", task=fastapi_tokens_refresh_task,
                    requested_by=request.user)
    return redirect_to_job("accounts:connection-list", job)


@role_required(BROKER_ADMIN)
def fastapi_settings_view(request):
    row = fastapi_settings()
    form = FastApiSettingsForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the Fast API settings.")
        return redirect("accounts:fastapi-settings")
    context = {"form": form, "settings_row": row, "has_secret": bool(row.client_secret),
               "has_link_secret": bool(row.link_secret),
               "callback_url": request.build_absolute_uri(reverse("accounts:fastapi-callback"))}
    return render(request, "accounts/fastapi/settings.html", context, status=400 if form.errors else 200)
