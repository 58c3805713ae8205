"""The admin of the accounts app.

Rows that mirror KuCoin (sub-accounts, keys, transfers, deposits, withdrawals, KYC, balances) are read-only
here: changing them goes through the staff pages, whose services queue the KuCoin call. The admin adds
actions that queue the sync tasks (operator role), and never displays a secret: encrypted fields are left
out of every read-only view, and their edit boxes never render a value.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts import tasks
from accounts.models import (
    BrokerProfile,
    Deposit,
    KycSubmission,
    SubAccount,
    SubAccountApiKey,
    SubAccountBalance,
    Transfer,
    Withdrawal,
)
from accounts.services.transfers import transfer_retry
from brokeroffice.admin_base import ReadOnlyMirrorAdmin
from brokeroffice.jobs import job_start
from brokeroffice.models import KuCoinCall
from brokeroffice.roles import OPERATOR, has_role

MAX_JOBS_PER_ACTION = 100


class MirrorAdmin(ReadOnlyMirrorAdmin):
    """Read-only rows mirrored from KuCoin, with actions that queue tasks for users holding the operator role."""


def _queued(model_admin, request, jobs: list) -> None:
    if jobs:
        model_admin.message_user(request, f"Queued {len(jobs)} job(s); their progress is on the Jobs page.", messages.SUCCESS)


def _too_many(model_admin, request, queryset) -> bool:
    if queryset.count() > MAX_JOBS_PER_ACTION:
        model_admin.message_user(request, f"Select at most {MAX_JOBS_PER_ACTION} rows for this action.", messages.ERROR)
        return True
    return False


def _start(request, kind: str, label: str, task, args: tuple = ()):
    return job_start(kind=kind, label=label, task=task, args=args, requested_by=request.user)


@admin.register(BrokerProfile)
class BrokerProfileAdmin(admin.ModelAdmin):
    list_display = ("broker_name", "spot_partner", "futures_partner", "api_key", "key_version", "check_ok", "checked_at", "updated_at")
    readonly_fields = ("checked_at", "check_ok", "check_message", "broker_uid", "secrets_stored")
    fieldsets = (
        ("Broker identity", {"fields": ("broker_name", "spot_partner", "spot_broker_key", "futures_partner", "futures_broker_key")}),
        ("Broker account API key", {"fields": ("api_key", "api_secret", "api_passphrase", "key_version")}),
        ("Sub-accounts", {"fields": ("sub_account_prefix",)}),
        ("Last connection check", {"fields": ("checked_at", "check_ok", "check_message", "broker_uid")}),
    )
    SECRETS = ("spot_broker_key", "futures_broker_key", "api_secret", "api_passphrase")
    actions = ["check_connection"]

    def get_fieldsets(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return self.fieldsets  # the secret boxes never render a stored value
        # Read-only views would print a decrypted value: show only whether each secret is set.
        without = [(name, {"fields": [f for f in opts["fields"] if f not in self.SECRETS]}) for name, opts in self.fieldsets]
        return [*without, ("Secrets", {"fields": ("secrets_stored",)})]

    @admin.display(description="Secrets stored")
    def secrets_stored(self, obj) -> str:
        return ", ".join(f"{name.replace('_', ' ')}: {'set' if getattr(obj, name) else 'not set'}" for name in self.SECRETS)

    def has_operate_permission(self, request) -> bool:
        return has_role(request.user, OPERATOR)

    @admin.action(description="Check the connection to KuCoin", permissions=["operate"])
    def check_connection(self, request, queryset):
        _queued(self, request, [_start(request, "broker_check", "Check the connection to KuCoin", tasks.broker_check_task)])


class ApiKeyInline(admin.TabularInline):
    model = SubAccountApiKey
    fields = ("label", "api_key", "state", "permissions", "ip_whitelist", "source")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SubAccount)
class SubAccountAdmin(MirrorAdmin):
    list_display = ("account_name", "uid", "state", "level", "kucoin_created_at", "synced_at", "error_code")
    list_filter = ("state", "level")
    search_fields = ("account_name__startswith", "uid__exact")
    inlines = [ApiKeyInline]
    actions = ["sync_all", "sync_api_keys", "refresh_balances"]

    @admin.action(description="Sync all sub-accounts from KuCoin", permissions=["operate"])
    def sync_all(self, request, queryset):
        _queued(self, request, [_start(request, "subaccounts_sync", "Sync sub-accounts from KuCoin", tasks.subaccounts_sync_task)])

    @admin.action(description="Sync API keys of selected sub-accounts", permissions=["operate"])
    def sync_api_keys(self, request, queryset):
        if _too_many(self, request, queryset):
            return
        jobs = [_start(request, "apikeys_sync", f"Sync API keys of {s}", tasks.apikeys_sync_task, (s.uid,))
                for s in queryset.exclude(uid=None)]
        _queued(self, request, jobs)

    @admin.action(description="Refresh balances of selected sub-accounts", permissions=["operate"])
    def refresh_balances(self, request, queryset):
        if _too_many(self, request, queryset):
            return
        jobs = [_start(request, "balances_refresh", f"Refresh balances of {s}", tasks.balances_refresh_task, (s.pk,))
                for s in queryset.filter(state=SubAccount.State.ACTIVE)]
        _queued(self, request, jobs)


@admin.register(SubAccountApiKey)
class SubAccountApiKeyAdmin(MirrorAdmin):
    list_display = ("label", "api_key", "sub_account", "state", "source", "permissions_list", "created_at")
    list_filter = ("state", "source")
    search_fields = ("api_key__exact", "label", "sub_account__account_name__startswith", "sub_account__uid__exact")
    list_select_related = ("sub_account",)
    # Everything but the secret and passphrase.
    exclude = ("secret", "passphrase")
    actions = ["sync_keys"]

    @admin.display(description="Permissions")
    def permissions_list(self, obj) -> str:
        return ", ".join(obj.permissions or [])

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secret", "passphrase")

    @admin.action(description="Sync the keys of their sub-accounts", permissions=["operate"])
    def sync_keys(self, request, queryset):
        uids = sorted(set(queryset.exclude(sub_account__uid=None).values_list("sub_account__uid", flat=True)))
        if len(uids) > MAX_JOBS_PER_ACTION:
            self.message_user(request, f"Select keys of at most {MAX_JOBS_PER_ACTION} sub-accounts.", messages.ERROR)
            return
        _queued(self, request, [_start(request, "apikeys_sync", f"Sync API keys of UID {uid}", tasks.apikeys_sync_task, (uid,))
                                for uid in uids])


@admin.register(SubAccountBalance)
class SubAccountBalanceAdmin(MirrorAdmin):
    list_display = ("sub_account", "account_type", "currency", "balance", "available", "holds", "refreshed_at")
    list_filter = ("account_type",)
    search_fields = ("currency__exact", "sub_account__account_name__startswith", "sub_account__uid__exact")
    list_select_related = ("sub_account",)
    actions = ["refresh_balances"]

    @admin.action(description="Refresh the balances of their sub-accounts", permissions=["operate"])
    def refresh_balances(self, request, queryset):
        ids = sorted(set(queryset.values_list("sub_account_id", flat=True)))
        if len(ids) > MAX_JOBS_PER_ACTION:
            self.message_user(request, f"Select balances of at most {MAX_JOBS_PER_ACTION} sub-accounts.", messages.ERROR)
            return
        _queued(self, request, [_start(request, "balances_refresh", f"Refresh balances of sub-account #{pk}",
                                       tasks.balances_refresh_task, (pk,)) for pk in ids])


@admin.register(Transfer)
class TransferAdmin(MirrorAdmin):
    list_display = ("client_oid", "sub_account", "direction", "amount", "currency", "state", "kucoin_order_id", "error_code", "created_at")
    list_filter = ("state", "direction", "purpose")
    search_fields = ("client_oid__exact", "kucoin_order_id__exact", "sub_account__account_name__startswith", "sub_account__uid__exact")
    list_select_related = ("sub_account",)
    actions = ["sync_transfers", "try_again"]

    @admin.action(description="Sync open transfers from KuCoin", permissions=["operate"])
    def sync_transfers(self, request, queryset):
        _queued(self, request, [_start(request, "transfers_sync", "Sync open transfers from KuCoin", tasks.transfers_sync_task)])

    @admin.action(description="Try again to send the selected transfers", permissions=["operate"])
    def try_again(self, request, queryset):
        if _too_many(self, request, queryset):
            return
        jobs = []
        for transfer in queryset.exclude(state__in=Transfer.FINAL_STATES):
            try:
                jobs.append(transfer_retry(transfer=transfer, requested_by=request.user))
            except ValidationError as exc:
                self.message_user(request, f"{transfer}: {' '.join(exc.messages)}", messages.ERROR)
        _queued(self, request, jobs)


class FundingAdmin(MirrorAdmin):
    list_filter = ("status", "is_inner")
    list_select_related = ("sub_account",)


@admin.register(Deposit)
class DepositAdmin(FundingAdmin):
    list_display = ("uid", "sub_account", "amount", "currency", "status", "chain", "kucoin_created_at")
    search_fields = ("uid__exact", "hash__exact", "currency__exact")
    actions = ["sync_deposits"]

    @admin.action(description="Sync deposits from KuCoin", permissions=["operate"])
    def sync_deposits(self, request, queryset):
        _queued(self, request, [_start(request, "deposits_sync", "Sync deposits from KuCoin", tasks.deposits_sync_task)])


@admin.register(Withdrawal)
class WithdrawalAdmin(FundingAdmin):
    list_display = ("withdrawal_id", "uid", "sub_account", "amount", "currency", "status", "chain", "kucoin_created_at")
    search_fields = ("withdrawal_id__exact", "uid__exact", "currency__exact")
    actions = ["sync_withdrawals"]

    @admin.action(description="Sync open withdrawals from KuCoin", permissions=["operate"])
    def sync_withdrawals(self, request, queryset):
        _queued(self, request, [_start(request, "withdrawals_sync", "Sync open withdrawals from KuCoin", tasks.withdrawals_sync_task)])


@admin.register(KycSubmission)
class KycSubmissionAdmin(MirrorAdmin):
    list_display = ("sub_account", "identity_type", "issue_country", "state", "kyc_status", "submitted_at", "checked_at")
    list_filter = ("state", "kyc_status", "identity_type")
    search_fields = ("sub_account__account_name__startswith", "sub_account__uid__exact")
    list_select_related = ("sub_account",)
    exclude = ("personal_data",)  # names, document number and photos: encrypted, never displayed
    actions = ["check_status"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("personal_data")

    @admin.action(description="Check KYC status at KuCoin", permissions=["operate"])
    def check_status(self, request, queryset):
        _queued(self, request, [_start(request, "kyc_status_sync", "Check KYC status at KuCoin", tasks.kyc_status_sync_task)])


class FixedChoicesFilter(admin.SimpleListFilter):
    """A filter with known values: Django's default would read SELECT DISTINCT over the whole log."""

    values: tuple[str, ...] = ()

    def lookups(self, request, model_admin):
        return [(value, value) for value in self.values]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class FamilyFilter(FixedChoicesFilter):
    title, parameter_name, values = "family", "family", ("spot", "futures", "broker", "oauth")


class MethodFilter(FixedChoicesFilter):
    title, parameter_name, values = "method", "method", ("GET", "POST", "PUT", "DELETE")


@admin.register(KuCoinCall)
class KuCoinCallAdmin(MirrorAdmin):
    """The call log, read-only. Filters use the indexed columns; the count is capped, never a full COUNT(*)."""

    list_display = ("at", "actor", "credential", "method", "family", "path", "weight", "http_status", "code", "latency_ms", "error")
    list_filter = (FamilyFilter, MethodFilter)
    search_fields = ("code__exact", "actor__exact", "credential__exact")
    readonly_fields = [f.name for f in KuCoinCall._meta.fields]
    actions = None


# -- Fast API (OAuth) --
from django.db import models  # noqa: E402

from accounts.models import FastApiConnection, FastApiSettings  # noqa: E402


@admin.register(FastApiSettings)
class FastApiSettingsAdmin(admin.ModelAdmin):
    """Edited by a broker-admin; the client secret's box never renders the stored value."""

    list_display = ("client_id", "redirect_url", "key_creation_path", "send_api_name", "updated_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = ("client_id", "client_secret", "redirect_url", "key_creation_path", "key_creation_body", "send_api_name",
              "link_secret")
    readonly_view_fields = ("client_id", "redirect_url", "key_creation_path", "key_creation_body", "send_api_name",
                            "secret_stored")

    def get_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return self.fields
        return self.readonly_view_fields  # a read-only view would print the decrypted secret

    def get_readonly_fields(self, request, obj=None):
        return () if self.has_change_permission(request, obj) else self.readonly_view_fields

    @admin.display(description="Secrets stored")
    def secret_stored(self, obj) -> str:
        return (f"client secret: {'set' if obj.client_secret else 'not set'}, "
                f"link signing secret: {'set' if obj.link_secret else 'not set'}")


@admin.register(FastApiConnection)
class FastApiConnectionAdmin(MirrorAdmin):
    """Read-only: connections change through the customer's login, the tasks and the staff pages."""

    SECRETS = ("code", "access_token", "refresh_token", "api_secret", "api_passphrase", "state_digest", "code_digest")
    list_display = ("customer_ref", "state", "api_key", "access_expires_at", "refresh_expires_at", "key_in_use", "created_at")
    list_filter = ("state", "key_in_use")
    search_fields = ("customer_ref__exact", "api_key__exact")
    exclude = SECRETS
    actions = ["refresh_tokens"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*self.SECRETS)

    @admin.action(description="Refresh Fast API tokens now", permissions=["operate"])
    def refresh_tokens(self, request, queryset):
        _queued(self, request, [_start(request, "fastapi_tokens_refresh", "Refresh Fast API tokens",
                                       tasks.fastapi_tokens_refresh_task)])


# -- Customer funding: deposit addresses, withdrawals from the broker account, payouts --
from accounts.models import (  # noqa: E402
    AllowedWithdrawalAddress,
    BrokerWithdrawal,
    DepositAddress,
    Payout,
    WithdrawalAuditRecord,
    WithdrawalQuotaSnapshot,
)


@admin.register(DepositAddress)
class DepositAddressAdmin(MirrorAdmin):
    list_display = ("sub_account", "currency", "chain", "address", "memo", "credited_account", "state", "fetched_at")
    list_filter = ("state", "currency", "chain")
    search_fields = ("address__exact", "memo__exact", "sub_account__account_name__startswith", "sub_account__uid__exact")
    list_select_related = ("sub_account",)


@admin.register(WithdrawalQuotaSnapshot)
class WithdrawalQuotaSnapshotAdmin(MirrorAdmin):
    list_display = ("currency", "chain", "fetched_at")


@admin.register(AllowedWithdrawalAddress)
class AllowedWithdrawalAddressAdmin(admin.ModelAdmin):
    """The allow-list: managed by broker-admins (the role holds every permission), read by the others."""

    list_display = ("label", "currency", "chain", "address", "memo", "added_by", "created_at")
    list_filter = ("currency", "chain")
    search_fields = ("address__exact", "label")
    fields = ("currency", "chain", "address", "memo", "label")

    def save_model(self, request, obj, form, change):
        obj.currency, obj.chain = obj.currency.strip().upper(), obj.chain.strip().lower()
        obj.address, obj.memo = obj.address.strip(), obj.memo.strip()
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)


class WithdrawalAuditInline(admin.TabularInline):
    model = WithdrawalAuditRecord
    fields = ("at", "actor_label", "action", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BrokerWithdrawal)
class BrokerWithdrawalAdmin(MirrorAdmin):
    """Read-only: withdrawals are requested, approved and cancelled on the staff pages, which record every step."""

    list_display = ("pk", "amount", "currency", "chain", "address", "state", "requested_by", "approved_by",
                    "kucoin_withdrawal_id", "created_at")
    list_filter = ("state", "currency")
    search_fields = ("remark__exact", "kucoin_withdrawal_id__exact", "address__exact")
    list_select_related = ("requested_by", "approved_by")
    inlines = [WithdrawalAuditInline]
    actions = ["follow"]

    @admin.action(description="Follow open withdrawals and payouts at KuCoin", permissions=["operate"])
    def follow(self, request, queryset):
        _queued(self, request, [_start(request, "broker_withdrawals_sync", "Follow withdrawals and payouts at KuCoin",
                                       tasks.broker_withdrawals_sync_task)])


@admin.register(WithdrawalAuditRecord)
class WithdrawalAuditRecordAdmin(MirrorAdmin):
    """Append-only: nobody can add, change or delete a record here (the model refuses updates too)."""

    list_display = ("at", "withdrawal", "actor_label", "action", "detail")
    list_filter = ("action",)
    search_fields = ("actor_label__exact", "withdrawal__remark__exact")
    list_select_related = ("withdrawal",)
    readonly_fields = ("withdrawal", "at", "actor", "actor_label", "action", "detail", "data")
    actions = None


@admin.register(Payout)
class PayoutAdmin(MirrorAdmin):
    list_display = ("pk", "sub_account", "transfer", "withdrawal", "requested_by", "created_at")
    list_select_related = ("sub_account", "transfer", "withdrawal", "requested_by")
