"""Shared by the funding tests (deposit addresses, withdrawals, payouts): seeded customers' keys as an
operator would import them, sandbox state readers, and made-up quota answers. No tests here."""
from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from accounts.models import SubAccount, SubAccountApiKey, WithdrawalQuotaSnapshot


def import_seeded_key(dump: dict, sub_account: SubAccount) -> SubAccountApiKey:
    """The sandbox's seeded key of the sub-account (no IP whitelist), stored as an imported key."""
    key = next(k for k in dump["accounts"]["keys"] if k["uid"] == sub_account.uid and not k["ip_whitelist"])
    return SubAccountApiKey.objects.create(
        sub_account=sub_account, api_key=key["api_key"], label=key["label"], permissions=key["permissions"],
        secret=key["secret"], passphrase=key["passphrase"], api_version=3,
        source=SubAccountApiKey.Source.IMPORTED, state=SubAccountApiKey.State.ACTIVE)


def customer_with_key(sub_accounts, dump: dict) -> tuple[SubAccount, SubAccountApiKey]:
    usable = {k["uid"] for k in dump["accounts"]["keys"] if not k["ip_whitelist"]}
    sub_account = next(s for s in sub_accounts.order_by("uid") if s.uid in usable)
    return sub_account, import_seeded_key(dump, sub_account)


def wallet_addresses(dump: dict, uid: str, currency: str) -> list[dict]:
    return [a for a in dump["wallet"]["addresses"] if str(a["uid"]) == uid and a["currency"] == currency]


def wallet_withdrawals(dump: dict, remark: str) -> list[dict]:
    """The withdrawals KuCoin (the sandbox) holds with this remark: there must never be two."""
    return [w for w in dump["wallet"]["withdrawals"] if w["remark"] == remark]


def quota_answer(currency: str = "USDT", chain: str = "TRC20", *, min_size="10", fee="1", precision=6,
                 remain="100000", available="5000", enabled=True, reason=None) -> dict:
    """A made-up answer of KuCoin's quotas call, in its field names."""
    return {"currency": currency, "limitBTCAmount": "1.5", "usedBTCAmount": "0", "quotaCurrency": "USDT",
            "limitQuotaCurrencyAmount": "100000", "usedQuotaCurrencyAmount": "0", "remainAmount": remain,
            "availableAmount": available, "withdrawMinFee": fee, "innerWithdrawMinFee": "0", "withdrawMinSize": min_size,
            "isWithdrawEnabled": enabled, "precision": precision, "chain": chain, "reason": reason, "lockedAmount": "0"}


def quota_snapshot(currency: str = "USDT", chain: str = "trx", **answer) -> WithdrawalQuotaSnapshot:
    """A quota as if the fetch task had just stored it."""
    snapshot, _ = WithdrawalQuotaSnapshot.objects.update_or_create(
        currency=currency, chain=chain, defaults={"raw": quota_answer(currency, **answer), "fetched_at": timezone.now()})
    return snapshot


# Well-formed made-up addresses of the sandbox's chains.
TRX_ADDRESS = "T" + "9" * 33
EVM_ADDRESS = "0x" + "ab" * 20
TON_ADDRESS = "EQ" + "A" * 46
XRP_ADDRESS = "r" + "9" * 30
AMOUNT = Decimal("25")


def approved_withdrawal(*, operator, approver, amount: Decimal = Decimal("25")):
    """A withdrawal to TRX_ADDRESS, requested and approved, its send task not run yet (nothing is queued
    inside a test's transaction)."""
    from accounts.services.withdrawals import withdrawal_approve, withdrawal_request

    quota_snapshot()
    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=amount,
                                    requested_by=operator)
    withdrawal_approve(withdrawal=withdrawal, approver=approver, confirm_unlisted=True)
    return withdrawal
