"""The admin of rebate files and records: read-only mirrors of what KuCoin sent, with actions (operator role)
to parse a stored file again and to pull days again. The daily schedule is edited under Periodic tasks."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from brokeroffice.admin_base import ReadOnlyMirrorAdmin
from rebates.models import RebateFile, RebateRecord
from rebates.services import rebate_file_reparse_request, rebate_sync_request

MAX_PER_ACTION = 50


class ReadOnlyAdmin(ReadOnlyMirrorAdmin):
    """Files and records change only through pulls and re-parses."""


class SubAccountFilter(admin.SimpleListFilter):
    """By sub-account, matched on the uid (indexed), so it also finds records read before the sub-account
    was synced."""

    title = "sub-account"
    parameter_name = "uid"

    def lookups(self, request, model_admin):
        from accounts.models import SubAccount

        known = list(SubAccount.objects.exclude(uid=None).order_by("account_name").values_list("uid", "account_name")[:500])
        if self.value() and self.value() not in {uid for uid, _ in known}:
            known.append((self.value(), f"UID {self.value()}"))
        return known

    def queryset(self, request, queryset):
        return queryset.filter(uid=self.value()) if self.value() else queryset


def _too_many(model_admin, request, count: int, what: str) -> bool:
    """Refused whole, in words, rather than quietly cut at the limit."""
    if count > MAX_PER_ACTION:
        model_admin.message_user(request, f"Select at most {MAX_PER_ACTION} {what} for this action "
                                          f"({count} selected); nothing was queued.", messages.ERROR)
        return True
    return False


def _repull(model_admin, request, ranges, what: str) -> None:
    ranges = sorted(set(ranges))
    if _too_many(model_admin, request, len(ranges), what):
        return
    jobs, errors = 0, []
    for begin, end, trade_type in ranges:
        try:
            rebate_sync_request(begin=begin, end=end, trade_types=[trade_type], requested_by=request.user)
            jobs += 1
        except ValidationError as exc:
            errors.append(f"{trade_type} {begin} to {end}: {' '.join(exc.messages)}")
    if jobs:
        model_admin.message_user(request, f"Queued {jobs} pull(s); their progress is on the Jobs page.", messages.SUCCESS)
    for error in errors:
        model_admin.message_user(request, error, messages.ERROR)


@admin.register(RebateFile)
class RebateFileAdmin(ReadOnlyAdmin):
    list_display = ("id", "trade_type", "begin", "end", "state", "row_count", "size", "fetched_at", "attempts", "short_error")
    list_filter = ("state", "trade_type", ("begin", admin.DateFieldListFilter))
    date_hierarchy = "begin"
    exclude = ("url",)  # a live download link: not shown
    readonly_fields = ("trade_type", "begin", "end", "state", "url_asked_at", "fetched_at", "content", "size", "sha256",
                       "row_count", "parsed_at", "error", "error_line", "attempts", "job", "requested_by_label",
                       "created_at", "updated_at")
    actions = ["reparse", "repull"]

    @admin.display(description="Error")
    def short_error(self, obj) -> str:
        return obj.error[:120]

    @admin.action(description="Parse the stored file again (no KuCoin call)", permissions=["operate"])
    def reparse(self, request, queryset):
        if _too_many(self, request, queryset.count(), "files"):
            return
        jobs = 0
        for rebate_file in queryset:
            try:
                rebate_file_reparse_request(rebate_file=rebate_file, requested_by=request.user)
                jobs += 1
            except ValidationError as exc:
                self.message_user(request, f"{rebate_file}: {' '.join(exc.messages)}", messages.ERROR)
        if jobs:
            self.message_user(request, f"Queued {jobs} re-parse(s); their progress is on the Jobs page.", messages.SUCCESS)

    @admin.action(description="Pull the days of the selected files again", permissions=["operate"])
    def repull(self, request, queryset):
        _repull(self, request, queryset.values_list("begin", "end", "trade_type"), "files (of different days)")


@admin.register(RebateRecord)
class RebateRecordAdmin(ReadOnlyAdmin):
    list_display = ("date", "trade_type", "uid", "sub_account", "rebate_amount", "rebate_currency", "volume", "fee", "file", "line")
    list_filter = (("date", admin.DateFieldListFilter), "trade_type", SubAccountFilter)
    search_fields = ("uid__exact",)
    list_select_related = ("sub_account", "file")
    readonly_fields = [f.name for f in RebateRecord._meta.fields]
    actions = ["repull_days"]
    ordering = ("-date", "uid")

    @admin.action(description="Pull the days of the selected records again", permissions=["operate"])
    def repull_days(self, request, queryset):
        _repull(self, request, ((d, d, t) for d, t in queryset.order_by().values_list("date", "trade_type").distinct()),
                "days (per trade type)")
