"""What the apps' admin pages share: counts that stay cheap on tables of millions, and read-only mirrors
of KuCoin whose actions only operators may run."""
from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from brokeroffice.roles import OPERATOR, has_role

COUNT_CAP = 10_000


def capped_count_paginator(cap: int = COUNT_CAP) -> type[Paginator]:
    """A paginator that counts at most `cap` rows (a bounded subquery): never a full COUNT(*) over millions."""

    class CappedCountPaginator(Paginator):
        @cached_property
        def count(self) -> int:
            return self.object_list[:cap].count()

    return CappedCountPaginator


CappedCountPaginator = capped_count_paginator()


class ReadOnlyMirrorAdmin(admin.ModelAdmin):
    """Rows that mirror KuCoin: changed only through the pages and their services, never edited here."""

    paginator = CappedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request) -> bool:
        return has_role(request.user, OPERATOR)
