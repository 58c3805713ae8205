"""The admin of orders: verification by state, market, symbol, sub-account and date, an action that
verifies tags now, and the share of tagged orders per day and per sub-account above the list.

The list never counts the whole table (a capped count) and reads its filter choices from small tables
or the newest rows, so it stays fast with millions of orders.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from brokeroffice.admin_base import capped_count_paginator
from brokeroffice.roles import OPERATOR, has_role
from trading import selectors
from trading.models import Order
from trading.services.orders import (
    MAX_ORDERS_PER_JOB,
    orders_sync_request,
    orders_verify_request,
)

COUNT_CAP = 2000


# At most COUNT_CAP orders are counted: the page links stop at 40 pages (narrow the filters to go further back).
CappedCountPaginator = capped_count_paginator(COUNT_CAP)


class SymbolFilter(admin.SimpleListFilter):
    """Symbols of the newest orders (a DISTINCT over millions of rows would be slow); any symbol works in the URL."""

    title = "symbol"
    parameter_name = "symbol"

    def lookups(self, request, model_admin):
        recent = Order.objects.order_by("-pk").values_list("symbol", flat=True)[:500]
        return [(s, s) for s in sorted(set(recent))]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(symbol=value) if value else queryset


class SubAccountUidFilter(admin.SimpleListFilter):
    title = "sub-account"
    parameter_name = "uid"

    def lookups(self, request, model_admin):
        """The sub-accounts with orders in the share's window (read already for the share table); any UID
        works in the URL."""
        share = getattr(request, "_trading_share", None) or selectors.tagged_share()
        return [(row["sub_account__uid"], row["sub_account__account_name"]) for row in share["per_account"]
                if row["sub_account__uid"]]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(sub_account__uid=value) if value else queryset


class ConnectedAccountFilter(admin.SimpleListFilter):
    """Orders signed with a Fast API connected account's key, by the customer reference."""

    title = "connected account"
    parameter_name = "customer"

    def lookups(self, request, model_admin):
        """The connected accounts with orders in the share's window; any customer reference works in the URL."""
        share = getattr(request, "_trading_share", None) or selectors.tagged_share()
        return [(row["fast_api_connection__customer_ref"], row["fast_api_connection__customer_ref"])
                for row in share["per_account"] if row["fast_api_connection__customer_ref"]]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(fast_api_connection__customer_ref=value) if value else queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_display = ("client_oid", "account", "market", "symbol", "side", "type", "state", "verification_badge",
                    "tags", "error_code", "created_at")
    list_filter = ("verification", "market", SymbolFilter, SubAccountUidFilter, ConnectedAccountFilter, "state", "purpose",
                   ("created_at", admin.DateFieldListFilter))
    search_fields = ("client_oid__exact", "kucoin_order_id__exact")
    list_select_related = ("sub_account", "fast_api_connection")
    readonly_fields = (
        "client_oid", "market", "sub_account", "api_key", "fast_api_connection", "purpose", "symbol", "side", "type", "price", "size",
        "funds", "qty", "value_qty", "time_in_force", "cancel_after", "post_only", "hidden", "iceberg",
        "visible_size", "stp", "leverage", "margin_mode", "reduce_only", "close_order", "force_hold", "stop",
        "stop_price", "stop_price_type", "state", "kucoin_order_id", "deal_size", "deal_funds", "fee",
        "fee_currency", "tags", "verification", "verified_at", "error_code", "error_message", "sent_at",
        "synced_at", "created_at", "updated_at", "requested_by",
    )
    # What an operator may change: the remark (a note); everything else is KuCoin's.
    fields = readonly_fields[:15] + ("remark",) + readonly_fields[15:]
    actions = ["verify_tags_now", "sync_now"]
    change_list_template = "admin/trading/order/change_list.html"

    def has_add_permission(self, request):
        return False  # orders are placed from the staff page, which validates and queues them

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request) -> bool:
        return has_role(request.user, OPERATOR)

    @admin.display(description="account")
    def account(self, obj):
        """The sub-account, or the connected account's customer reference (no extra query: both are joined)."""
        return obj.account_name

    @admin.display(description="broker tag", ordering="verification")
    def verification_badge(self, obj):
        return format_html('<span class="badge state-{}">{}</span>',
                           "not-verified" if obj.verification == Order.Verification.UNVERIFIED else obj.verification,
                           obj.get_verification_display())

    def changelist_view(self, request, extra_context=None):
        request._trading_share = selectors.tagged_share(accounts=selectors.ADMIN_ACCOUNTS)
        shown = request._trading_share["per_account"]
        extra_context = {**(extra_context or {}), "share": request._trading_share, "share_accounts": shown,
                         # capped: a count over every account that trades is not worth a page load
                         "all_accounts": (selectors.share_accounts()[:COUNT_CAP].count()
                                          if len(shown) == selectors.ADMIN_ACCOUNTS else len(shown))}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Verify tags now", permissions=["operate"])
    def verify_tags_now(self, request, queryset):
        ids = list(queryset.order_by("-pk").values_list("pk", flat=True)[: MAX_ORDERS_PER_JOB + 1])
        if len(ids) > MAX_ORDERS_PER_JOB:
            self.message_user(request, f"Select at most {MAX_ORDERS_PER_JOB} orders for this action.", messages.ERROR)
            return
        try:
            job = orders_verify_request(order_ids=ids, requested_by=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"Queued: {job.label}; its progress is on the Jobs page.", messages.SUCCESS)

    @admin.action(description="Sync status from KuCoin", permissions=["operate"])
    def sync_now(self, request, queryset):
        ids = list(queryset.order_by("-pk").values_list("pk", flat=True)[: MAX_ORDERS_PER_JOB + 1])
        if len(ids) > MAX_ORDERS_PER_JOB:
            self.message_user(request, f"Select at most {MAX_ORDERS_PER_JOB} orders for this action.", messages.ERROR)
            return
        job = orders_sync_request(order_ids=ids, requested_by=request.user)
        self.message_user(request, f"Queued: {job.label}; its progress is on the Jobs page.", messages.SUCCESS)
