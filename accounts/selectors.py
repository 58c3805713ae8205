"""Reads of the accounts app that several pages share (the dashboard, reports)."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.broker import broker_profile
from accounts.models import BrokerProfile, SubAccount


def sub_account_counts() -> dict:
    week_ago = timezone.now() - timedelta(days=7)
    counts = SubAccount.objects.aggregate(
        active=Count("pk", filter=Q(state=SubAccount.State.ACTIVE)),
        retired=Count("pk", filter=Q(state=SubAccount.State.RETIRED)),
        failed=Count("pk", filter=Q(state=SubAccount.State.FAILED)),
    )
    counts["created_this_week"] = SubAccount.objects.filter(kucoin_created_at__gte=week_ago).count()
    return counts


def broker_connection() -> BrokerProfile:
    """The broker profile, with the result of its last connection check."""
    return broker_profile()
