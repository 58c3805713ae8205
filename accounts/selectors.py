"""Reads of the accounts app that several pages share (the dashboard, reports)."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.broker import broker_profile
from accounts.models import (
    BrokerProfile,
    BrokerWithdrawal,
    Deposit,
    DepositAddress,
    Payout,
    SubAccount,
    WithdrawalAuditRecord,
)


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


# -- Customer funding: deposit addresses, withdrawals from the broker account, payouts --

DEPOSITS_PER_ADDRESS = 10


def deposits_to(address: DepositAddress, limit: int = DEPOSITS_PER_ADDRESS) -> list[Deposit]:
    """The deposits KuCoin reported into this address (on memo chains: with its memo)."""
    if not address.address:
        return []
    rows = Deposit.objects.filter(sub_account_id=address.sub_account_id, currency=address.currency, address=address.address)
    if address.memo:
        rows = rows.filter(memo=address.memo)
    return list(rows[:limit])


def deposit_addresses_of(sub_account) -> list[DepositAddress]:
    """The sub-account's addresses, each with `.deposits` (its latest deposits): two queries in all."""
    addresses = list(DepositAddress.objects.filter(sub_account=sub_account).order_by("currency", "chain"))
    known = [a for a in addresses if a.address]
    deposits = _latest_deposits_per_address(sub_account, {a.address for a in known}) if known else []
    for address in addresses:
        # On memo chains one address serves many customers: the memo says whose a deposit is.
        address.deposits = [d for d in deposits if d.address == address.address and d.currency == address.currency
                            and (not address.memo or d.memo == address.memo)][:DEPOSITS_PER_ADDRESS]
    return addresses


def _latest_deposits_per_address(sub_account, addresses: set[str]) -> list[Deposit]:
    """The latest deposits of each (address, currency, memo), newest first: a busy address cannot crowd out
    another's. An address without memo takes the newest of its memos' lists, which hold its newest overall."""
    newest_first = Window(RowNumber(), partition_by=[F("address"), F("currency"), F("memo")],
                          order_by=[F("kucoin_created_at").desc(), F("id").desc()])
    return list(Deposit.objects.filter(sub_account=sub_account, address__in=addresses)
                .annotate(newest=newest_first).filter(newest__lte=DEPOSITS_PER_ADDRESS))


def payouts_of(sub_account, limit: int = 10) -> list[Payout]:
    return list(Payout.objects.filter(sub_account=sub_account).select_related("transfer", "withdrawal")[:limit])


def withdrawal_with_record(pk: int) -> BrokerWithdrawal:
    """One withdrawal with its whole audit record and its payout, if any, in few queries."""
    records = Prefetch("audit_records", queryset=WithdrawalAuditRecord.objects.select_related("actor"))
    return (BrokerWithdrawal.objects.select_related("requested_by", "approved_by", "decided_by", "payout__transfer",
                                                    "payout__sub_account")
            .prefetch_related(records).get(pk=pk))


def withdrawals_waiting_for(user) -> int:
    """How many withdrawals this user could approve now (not their own)."""
    return BrokerWithdrawal.objects.filter(state=BrokerWithdrawal.State.REQUESTED).exclude(requested_by=user).count()
