"""Balances of a sub-account, read with one of its own keys."""
from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.clients import make_key_client
from accounts.models import SubAccount, SubAccountApiKey, SubAccountBalance
from brokeroffice.fields import DecryptionError
from brokeroffice.jobs import JobRun
from brokeroffice.kucoin_errors import REQUEST_REFUSED, error_in_words


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


# Named in the job's message (the others are counted there, and listed in its result).
REFUSALS_NAMED = 3


def balances_refresh_all(*, run: JobRun) -> int:
    """The scheduled refresh: every active sub-account with an active key whose secret is stored here. One whose
    key KuCoin refuses (an IP whitelist, a key deleted at KuCoin) is named in the job's message; the others are
    still refreshed."""
    # One subquery, not a filter across the keys: "exclude keys without a secret" across a relation would leave
    # out every sub-account that ever had one (a deleted key, a key the sync found).
    keyed = SubAccountApiKey.objects.filter(sub_account=OuterRef("pk"), state=SubAccountApiKey.State.ACTIVE).exclude(secret="")
    sub_accounts = SubAccount.objects.filter(Exists(keyed), state=SubAccount.State.ACTIVE).order_by("pk")
    total = sub_accounts.count()
    refreshed = skipped = 0
    refused: list[str] = []
    for done, sub_account in enumerate(sub_accounts.iterator(), start=1):
        try:
            balances_refresh(sub_account=sub_account)
            refreshed += 1
        except NoUsableKey:
            skipped += 1
        except (*REQUEST_REFUSED, DecryptionError) as exc:
            refused.append(f"{sub_account} ({error_in_words(exc)})")
        run.progress(done, total, f"{done} of {total} sub-accounts")
    message = f"Refreshed the balances of {refreshed} sub-accounts ({skipped} without a usable key)."
    if refused:
        more = f" and {len(refused) - REFUSALS_NAMED} more" if len(refused) > REFUSALS_NAMED else ""
        message += f" Not refreshed, the key refused: {'; '.join(refused[:REFUSALS_NAMED])}{more}."
    run.succeed(message, {"refreshed": refreshed, "without_key": skipped, "refused": refused[:100]})
    return refreshed
