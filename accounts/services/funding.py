"""Deposits into sub-accounts and withdrawals from them, as KuCoin's ND broker API reports them."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.clients import broker_client
from accounts.models import Deposit, SubAccount, Withdrawal
from brokeroffice.jobs import JobRun
from kucoin.models import Deposit as KuCoinDeposit
from kucoin.models import Withdrawal as KuCoinWithdrawal

FIRST_SYNC_DAYS = 90
# Deposits change state (PROCESSING → SUCCESS) after they appear: look back over the last days again.
OVERLAP = timedelta(days=2)
BATCH = 500
DEPOSIT_FIELDS = ["sub_account", "amount", "fee", "address", "memo", "chain", "is_inner", "wallet_tx_id", "status",
                  "remark", "kucoin_created_at", "kucoin_updated_at", "synced_at"]


def _deposit_row(item: KuCoinDeposit, sub_accounts: dict[str, int], now) -> Deposit:
    return Deposit(
        sub_account_id=sub_accounts.get(item.uid), uid=item.uid, currency=item.currency, amount=item.amount,
        fee=item.fee, hash=item.hash or f"inner:{item.wallet_tx_id}", address=item.address, memo=item.memo,
        chain=item.chain, is_inner=item.is_inner, wallet_tx_id=item.wallet_tx_id, status=item.status,
        remark=item.remark, kucoin_created_at=item.created_at, kucoin_updated_at=item.updated_at, synced_at=now,
    )


def _write_deposits(rows: list[Deposit]) -> None:
    with transaction.atomic():
        Deposit.objects.bulk_create(rows, update_conflicts=True, unique_fields=["uid", "currency", "hash"], update_fields=DEPOSIT_FIELDS)


def deposits_sync(*, run: JobRun, since=None) -> int:
    """Upserts every deposit since the last one known (less an overlap), in batches."""
    if since is None:
        latest = Deposit.objects.order_by("-kucoin_created_at").values_list("kucoin_created_at", flat=True).first()
        since = (latest - OVERLAP) if latest else timezone.now() - timedelta(days=FIRST_SYNC_DAYS)
    sub_accounts = dict(SubAccount.objects.exclude(uid=None).values_list("uid", "pk"))
    now, rows, count = timezone.now(), [], 0
    for item in broker_client().broker.iter_deposits(start=since, end=now):
        rows.append(_deposit_row(item, sub_accounts, now))
        if len(rows) >= BATCH:
            _write_deposits(rows)
            count += len(rows)
            rows = []
            run.progress(count, None, f"{count} deposits")
    if rows:
        _write_deposits(rows)
        count += len(rows)
    run.succeed(f"Synced {count} deposits since {since:%Y-%m-%d %H:%M} UTC.", {"count": count})
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
