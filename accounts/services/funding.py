"""Deposits into sub-accounts and withdrawals from them, as KuCoin's ND broker API reports them."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.clients import broker_client
from accounts.models import Deposit, SubAccount, Withdrawal
from brokeroffice.jobs import JobRun
from kucoin.errors import BadRequestError
from kucoin.models import Deposit as KuCoinDeposit
from kucoin.models import Withdrawal as KuCoinWithdrawal

FIRST_SYNC_DAYS = 90
# Deposits change state (PROCESSING → SUCCESS) after they appear: look back over the last days again.
OVERLAP = timedelta(days=2)
# KuCoin lists a window newest first, with no pages: a sync reads its span one window at a time, oldest first,
# and stores each window whole before asking for the next. Cut off (a 429, a restart), it has stored every
# deposit before the window it was in, and the next sync starts OVERLAP before the newest one stored: no later
# than that window's start, as long as a window is no longer than OVERLAP. (Read newest first in one go, a sync
# cut off had stored only the newest deposits, and the older ones were never asked for again.)
WINDOW = OVERLAP
LIST_LIMIT = 1000  # deposits per call, KuCoin's maximum
BATCH = 500
# A deposit in one of these has ended. The rejections and ROLLBACK are the final ones of the longer status list
# that third-party SDKs give (kucoin-api.md 3.10); anything else may still change.
FINAL_DEPOSIT_STATUSES = ("SUCCESS", "FAILURE", "TRM_MGT_REJECTED", "RISK_MGT_REJECTED", "ROLLBACK")
# How far around its own creation time an internal deposit (no hash to ask the detail by) is looked for.
OWN_MOMENT = timedelta(seconds=1)
DEPOSIT_FIELDS = ["sub_account", "amount", "fee", "address", "memo", "chain", "is_inner", "wallet_tx_id", "status",
                  "remark", "kucoin_created_at", "kucoin_updated_at", "synced_at"]


def _deposit_key(item: KuCoinDeposit) -> str:
    """What tells a deposit apart beside its uid, currency and wallet id: its transaction hash; an internal
    deposit has none (its wallet id, or else its moment, stands in)."""
    if item.hash:
        return item.hash
    if item.wallet_tx_id or not item.created_at:
        return f"inner:{item.wallet_tx_id}"
    return f"inner:{int(item.created_at.timestamp() * 1000)}"


def _deposit_row(item: KuCoinDeposit, sub_accounts: dict[str, int], now) -> Deposit:
    return Deposit(
        sub_account_id=sub_accounts.get(item.uid), uid=item.uid, currency=item.currency, amount=item.amount,
        fee=item.fee, hash=_deposit_key(item), address=item.address, memo=item.memo,
        chain=item.chain, is_inner=item.is_inner, wallet_tx_id=item.wallet_tx_id, status=item.status,
        remark=item.remark, kucoin_created_at=item.created_at, kucoin_updated_at=item.updated_at, synced_at=now,
    )


DEPOSIT_KEY = ("uid", "currency", "hash", "wallet_tx_id")


def _write_deposits(rows: list[Deposit]) -> None:
    # One row per key (the last read wins): PostgreSQL refuses to upsert the same row twice in one statement.
    unique = {tuple(getattr(row, field) for field in DEPOSIT_KEY): row for row in rows}
    with transaction.atomic():
        Deposit.objects.bulk_create(list(unique.values()), update_conflicts=True, unique_fields=list(DEPOSIT_KEY),
                                    update_fields=[f for f in DEPOSIT_FIELDS if f != "wallet_tx_id"])


def _read_again(client, deposit: Deposit) -> KuCoinDeposit | None:
    """KuCoin's current view of one stored deposit; None when KuCoin does not say."""
    if deposit.hash.startswith("inner:"):
        # stored without a hash: the list, over the deposit's own moment, matched by its wallet id
        at = deposit.kucoin_created_at
        found = client.broker.get_deposits(currency=deposit.currency, start=at - OWN_MOMENT, end=at + OWN_MOMENT)
        return next((d for d in found if d.wallet_tx_id == deposit.wallet_tx_id and d.uid == deposit.uid), None)
    try:
        return client.broker.get_deposit(deposit.currency, deposit.hash)
    except BadRequestError:  # KuCoin does not know it by this hash: left as it is, the others are still read
        return None


def _refresh_open_deposits(client, *, before, sub_accounts: dict[str, int], now) -> int:
    """Deposits still open that the window no longer covers (a compliance review can last longer than the
    overlap): each is read again on its own until it reaches a final state."""
    stale = (Deposit.objects.filter(kucoin_created_at__lt=before).exclude(status__in=FINAL_DEPOSIT_STATUSES)
             .order_by("kucoin_created_at"))
    rows = [_deposit_row(item, sub_accounts, now) for item in (_read_again(client, d) for d in stale) if item]
    if rows:
        _write_deposits(rows)
    return len(rows)


def _windows(since, now):
    """(start, end) of each window from `since` to `now`, oldest first."""
    start = since
    while start < now:
        end = min(start + WINDOW, now)
        yield start, end
        start = end


def deposits_sync(*, run: JobRun, since=None) -> int:
    """Upserts every deposit since the last one known (less an overlap), in batches, then re-reads the older
    ones that have not ended."""
    if since is None:
        latest = Deposit.objects.order_by("-kucoin_created_at").values_list("kucoin_created_at", flat=True).first()
        since = (latest - OVERLAP) if latest else timezone.now() - timedelta(days=FIRST_SYNC_DAYS)
    sub_accounts = dict(SubAccount.objects.exclude(uid=None).values_list("uid", "pk"))
    client = broker_client()
    now, count = timezone.now(), 0
    windows = list(_windows(since, now))
    for done, (start, end) in enumerate(windows, start=1):
        rows = [_deposit_row(item, sub_accounts, now)
                for item in client.broker.iter_deposits(start=start, end=end, limit=LIST_LIMIT)]
        # Oldest first, as the windows go: new deposits' ids grow with their time, and the deposit list, newest
        # id first, reads newest first.
        rows.sort(key=lambda row: row.kucoin_created_at.timestamp() if row.kucoin_created_at else 0)
        for first in range(0, len(rows), BATCH):
            _write_deposits(rows[first:first + BATCH])
        count += len(rows)
        run.progress(done, len(windows), f"{count} deposits, up to {end:%Y-%m-%d %H:%M} UTC")
    older = _refresh_open_deposits(client, before=since, sub_accounts=sub_accounts, now=now)
    message = f"Synced {count} deposits since {since:%Y-%m-%d %H:%M} UTC"
    message += f", and read again {older} older ones still open." if older else "."
    run.succeed(message, {"count": count, "older_open": older})
    return count


def _withdrawal_row(item: KuCoinWithdrawal, sub_accounts: dict[str, int], now) -> dict:
    return dict(
        sub_account_id=sub_accounts.get(item.uid), uid=item.uid, currency=item.currency, amount=item.amount,
        fee=item.fee, address=item.address, memo=item.memo, chain=item.chain, is_inner=item.is_inner,
        wallet_tx_id=item.wallet_tx_id, status=item.status, remark=item.remark, kucoin_created_at=item.created_at,
        kucoin_updated_at=item.updated_at, synced_at=now,
    )


def withdrawal_refresh(*, withdrawal_id: str) -> Withdrawal:
    """KuCoin's ND API reports a sub-account withdrawal by its id only."""
    item = broker_client().broker.get_withdrawal(withdrawal_id)
    sub_accounts = dict(SubAccount.objects.filter(uid=item.uid).values_list("uid", "pk"))
    withdrawal, _ = Withdrawal.objects.update_or_create(
        withdrawal_id=withdrawal_id, defaults=_withdrawal_row(item, sub_accounts, timezone.now())
    )
    return withdrawal


FINAL_WITHDRAWAL_STATUSES = ("SUCCESS", "FAILURE")


def withdrawals_sync(*, run: JobRun) -> int:
    """Refreshes every known withdrawal that has not ended."""
    open_ids = list(Withdrawal.objects.exclude(status__in=FINAL_WITHDRAWAL_STATUSES).values_list("withdrawal_id", flat=True))
    for done, withdrawal_id in enumerate(open_ids, start=1):
        withdrawal_refresh(withdrawal_id=withdrawal_id)
        run.progress(done, len(open_ids))
    run.succeed(f"Checked {len(open_ids)} open withdrawals.")
    return len(open_ids)
