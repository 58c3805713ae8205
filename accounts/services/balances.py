"""Balances of a sub-account, read with one of its own keys."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.clients import make_key_client
from accounts.models import SubAccount, SubAccountApiKey, SubAccountBalance
from brokeroffice.jobs import JobRun


class NoUsableKey(Exception):
    """The sub-account has no active key whose secret is stored here."""


def usable_key(sub_account: SubAccount) -> SubAccountApiKey:
    for key in sub_account.api_keys.filter(state=SubAccountApiKey.State.ACTIVE).order_by("-pk"):
        if key.has_secret:
            return key
    raise NoUsableKey(
        f"{sub_account} has no API key whose secret is stored here: create one (or import one) to read its balances."
    )


def balances_refresh(*, sub_account: SubAccount) -> int:
    """Replaces the stored balances with what KuCoin says now; returns how many currencies are held."""
    balances = make_key_client(usable_key(sub_account)).spot.get_balances()
    now = timezone.now()
    with transaction.atomic():
        SubAccountBalance.objects.filter(sub_account=sub_account).delete()
        SubAccountBalance.objects.bulk_create(
            SubAccountBalance(
                sub_account=sub_account, account_type=b.type, currency=b.currency, balance=b.balance,
                available=b.available, holds=b.holds, refreshed_at=now,
            )
            for b in balances
        )
        SubAccount.objects.filter(pk=sub_account.pk).update(balances_refreshed_at=now)
    return len(balances)


def balances_refresh_one(*, sub_account_id: int, run: JobRun) -> int:
    sub_account = SubAccount.objects.get(pk=sub_account_id)
    count = balances_refresh(sub_account=sub_account)
    run.succeed(f"{sub_account} holds {count} currencies.")
    return count


def balances_refresh_all(*, run: JobRun) -> int:
    """The scheduled refresh: every active sub-account that has a usable key."""
    sub_accounts = list(
        SubAccount.objects.filter(state=SubAccount.State.ACTIVE, api_keys__state=SubAccountApiKey.State.ACTIVE)
        .exclude(api_keys__secret="").distinct().order_by("pk")
    )
    refreshed = skipped = 0
    for done, sub_account in enumerate(sub_accounts, start=1):
        try:
            balances_refresh(sub_account=sub_account)
            refreshed += 1
        except NoUsableKey:
            skipped += 1
        run.progress(done, len(sub_accounts), f"{done} of {len(sub_accounts)} sub-accounts")
    run.succeed(f"Refreshed the balances of {refreshed} sub-accounts ({skipped} without a usable key).")
    return refreshed
