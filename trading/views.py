"""Staff pages for orders: place, list, inspect, cancel, sync, verify tags, and the broker set-up check.
A view never calls KuCoin: it validates, writes the intent, and queues a task; the page shows its progress."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.views.common import add_service_error, job_in_request, keyset_page, redirect_to_job
from brokeroffice.admin_base import CappedCountPaginator
from brokeroffice.roles import OPERATOR, VIEWER, role_required
from trading import selectors
from trading.forms import BrokerVerifyForm, OrderFilterForm, OrderForm
from trading.models import Order
from trading.services.orders import (
    MAX_ORDERS_PER_JOB, order_cancel_request, order_place, orders_sync_request, orders_verify_request,
)
from trading.services.setup_check import broker_verify_request


def _filters(request) -> tuple[OrderFilterForm, dict]:
    form = OrderFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
    else:
        data = {}
    return form, {
        "verification": data.get("verification") or "", "market": data.get("market") or "",
        "state": data.get("state") or "", "symbol": data.get("symbol") or "",
        "sub_account_uid": data.get("sub_account") or "", "customer_ref": data.get("customer") or "",
        "created_from": data.get("created_from"),
        "created_to": data.get("created_to"),
    }


@role_required(VIEWER)
def order_list(request):
    form, filters = _filters(request)
    page = keyset_page(request, selectors.orders_filtered(**filters))
    context = {"page": page, "filter_form": form, "job": job_in_request(request),
               "alert": selectors.untagged_alert(), "max_verify": MAX_ORDERS_PER_JOB}
    return render(request, "trading/order_list.html", context)


@role_required(OPERATOR)
def order_create(request):
    initial = {}
    if request.GET.get("key", "").isdigit():
        initial["api_key"] = int(request.GET["key"])
    if request.GET.get("connection", "").isdigit():
        initial["fast_api_connection"] = int(request.GET["connection"])
    form = OrderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order, job = order_place(api_key=form.cleaned_data["api_key"],
                                     fast_api_connection=form.cleaned_data["fast_api_connection"],
                                     requested_by=request.user, client_oid=form.order.client_oid, **form.order_params())
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Order queued with clientOid {order.client_oid}.")
            return redirect_to_job("trading:order-detail", job, pk=order.pk)
    return render(request, "trading/order_form.html", {"form": form}, status=400 if form.errors else 200)


@role_required(VIEWER)
def order_detail(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("sub_account", "api_key", "fast_api_connection",
                                                           "requested_by"), pk=pk)
    return render(request, "trading/order_detail.html", {"order": order, "job": job_in_request(request)})


@require_POST
@role_required(OPERATOR)
def order_cancel_view(request, pk: int):
    order = get_object_or_404(Order, pk=pk)
    try:
        job = order_cancel_request(order=order, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("trading:order-detail", pk=pk)
    return redirect_to_job("trading:order-detail", job, pk=pk)


@require_POST
@role_required(OPERATOR)
def order_verify_view(request, pk: int):
    order = get_object_or_404(Order, pk=pk)
    job = orders_verify_request(order_ids=[order.pk], requested_by=request.user)
    return redirect_to_job("trading:order-detail", job, pk=pk)


@require_POST
@role_required(OPERATOR)
def order_sync_view(request, pk: int):
    order = get_object_or_404(Order, pk=pk)
    job = orders_sync_request(order_ids=[order.pk], requested_by=request.user)
    return redirect_to_job("trading:order-detail", job, pk=pk)


@require_POST
@role_required(OPERATOR)
def orders_verify_view(request):
    """Verify the ticked orders, or (nothing ticked) the orders the current filters show, newest first."""
    ids = [int(v) for v in request.POST.getlist("order") if v.isdigit()][:MAX_ORDERS_PER_JOB]
    if not ids:
        form, filters = _filters(request)  # the filters travel in the query string
        ids = list(selectors.orders_filtered(**filters).filter(state__in=Order.AT_KUCOIN_STATES)
                   .order_by("-pk").values_list("pk", flat=True)[:MAX_ORDERS_PER_JOB])
    try:
        job = orders_verify_request(order_ids=ids, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("trading:order-list")
    return redirect_to_job("trading:order-list", job)


@require_POST
@role_required(OPERATOR)
def orders_sync_view(request):
    job = orders_sync_request(requested_by=request.user)
    return redirect_to_job("trading:order-list", job)


@role_required(VIEWER)
def verification(request):
    """The share per day, and the accounts one page at a time, worst first (tens of thousands trade)."""
    share = selectors.tagged_share(accounts=0)
    accounts = CappedCountPaginator(selectors.share_accounts(), selectors.ACCOUNTS_PER_PAGE).get_page(
        request.GET.get("page"))
    accounts.object_list = selectors.share_account_rows(accounts.object_list)
    share["per_account"] = accounts.object_list
    context = {"share": share, "accounts": accounts, "alert": selectors.untagged_alert(limit=20),
               "job": job_in_request(request)}
    return render(request, "trading/verification.html", context)


@role_required(OPERATOR)
def broker_verify_view(request):
    form = BrokerVerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order, job = broker_verify_request(uid=data["uid"].strip(), market=data["market"],
                                               symbol=(data.get("symbol") or "").strip().upper(),
                                               price=data.get("price"), size=data.get("size"),
                                               requested_by=request.user)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            return redirect_to_job("trading:broker-verify", job)
    context = {"form": form, "job": job_in_request(request),
               "recent": Order.objects.filter(purpose=Order.Purpose.SETUP_CHECK).select_related("sub_account")
               .order_by("-pk")[:10]}
    return render(request, "trading/broker_verify.html", context, status=400 if form.errors else 200)


@require_POST
@role_required(OPERATOR)
def tag_share_refresh_view(request):
    from brokeroffice.jobs import job_start
    from trading.tasks import tag_share_refresh_task

    job = job_start(kind="tag_share_refresh", label="Count tagged orders", task=tag_share_refresh_task,
                    requested_by=request.user)
    return redirect_to_job("trading:verification", job)
