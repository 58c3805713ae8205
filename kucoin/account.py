"""The key's own wallet on the spot host: V3 deposit addresses, withdrawal quotas, V3 withdrawals,
cancel, and the withdrawal history (by id and as a list).

Whose key: a customer's deposit address is created and read with the SUB-ACCOUNT's own key (a
client built with that key; the spot partner headers are added as on every spot-host call).
Withdrawals go out of the BROKER's own account with the broker's key: KuCoin's sub-accounts cannot
withdraw (move the funds to the broker with `broker.transfer(direction="IN")` first).

Finding a withdrawal after an unknown outcome: KuCoin's V3 withdraw has no client id (no
clientOid); its only free field is `remark`, which the history list returns. So: put a token
unique to this payout in `remark`, note the time before sending, and on `OutcomeUnknownError`
call `find_withdrawals(currency, since=..., remark=token)` before trying again (never resend
blindly). The list can only be filtered by currency, status and time on KuCoin's side; the
remark (and address/amount, when given) are matched here.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterator

from . import validation as v
from . import weights as w
from .paging import every_page, page_of, to_ms
from .errors import AlreadyExistsError
from .models import DepositAddress, Page, WithdrawalQuota, WithdrawalRecord
from .transport import Transport

DEPOSIT_TO = ("main", "trade")
WITHDRAW_TYPES = ("ADDRESS", "UID", "MAIL", "PHONE")
FEE_DEDUCT_TYPES = ("INTERNAL", "EXTERNAL")
WITHDRAWAL_STATUSES = ("PROCESSING", "REVIEW", "WALLET_PROCESSING", "SUCCESS", "FAILURE")
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 10, 500
# How far before `since` the lookup starts: the caller's clock and KuCoin's createdAt may differ a little.
LOOKUP_SLACK = timedelta(minutes=5)


def _chain(value: str | None, field: str = "chain") -> str | None:
    if value is None:
        return None
    return str(v.required(value, field)).strip().lower()


def _no_blank(value: str | None, field: str) -> str | None:
    """None for None or ""; KuCoin treats an empty memo/remark as not sent anyway."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value != value.strip():
        raise v.ValidationError(f"{field} must be text without leading or trailing spaces", field=field)
    return value


class AccountAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    # -- deposit addresses (the sub-account's own key) -----------------------------------------
    def create_deposit_address(self, currency: str, chain: str | None = None, to: str | None = None,
                               amount: Decimal | str | None = None) -> DepositAddress:
        """Create the address (KuCoin answers 260000, `AlreadyExistsError`, when it exists).
        `chain` is required by KuCoin (its default is eth); `to`: main (default) or trade;
        `amount` only for Lightning invoices."""
        body = {"currency": v.required(currency, "currency").upper(), "chain": _chain(v.required(chain, "chain"))}
        if to is not None:
            body["to"] = v.one_of(str(to).lower(), DEPOSIT_TO, "to")
        if amount is not None:
            body["amount"] = v.positive_decimal(amount, "amount")
        return DepositAddress.parse(self._t.call(w.ACCOUNT_ADD_DEPOSIT_ADDRESS, body=body) or {})

    def get_deposit_addresses(self, currency: str, chain: str | None = None,
                              amount: Decimal | str | None = None) -> list[DepositAddress]:
        """Every address of `currency` (on `chain`); empty when none was created yet."""
        query = [("currency", v.required(currency, "currency").upper()),
                 ("amount", None if amount is None else v.positive_decimal(amount, "amount")),
                 ("chain", _chain(chain))]
        return [DepositAddress.parse(x) for x in self._t.call(w.ACCOUNT_GET_DEPOSIT_ADDRESSES, query=query) or []]

    def ensure_deposit_address(self, currency: str, chain: str, to: str | None = None) -> DepositAddress:
        """The address of (currency, chain), created when there is none. Safe to repeat: after a lost
        answer or a concurrent create, KuCoin's 260000 leads to reading the existing one."""
        found = self.get_deposit_addresses(currency, chain)
        if found:
            return found[0]
        try:
            return self.create_deposit_address(currency, chain, to)
        except AlreadyExistsError:
            found = self.get_deposit_addresses(currency, chain)
            if not found:
                raise
            return found[0]

    # -- withdrawals (the broker's own key) ----------------------------------------------------
    def get_withdrawal_quotas(self, currency: str, chain: str | None = None) -> WithdrawalQuota:
        query = [("currency", v.required(currency, "currency").upper()), ("chain", _chain(chain))]
        return WithdrawalQuota.parse(self._t.call(w.ACCOUNT_WITHDRAWAL_QUOTAS, query=query) or {})

    def withdraw(self, currency: str, chain: str, address: str, amount: Decimal | str, *, memo: str | None = None,
                 is_inner: bool = False, remark: str | None = None, fee_deduct_type: str | None = None,
                 withdraw_type: str = "ADDRESS") -> str:
        """Withdraw from the key's account; -> withdrawalId. `address` is sent as toAddress (an
        address, or a uid/e-mail/phone for those withdraw types). `chain` is required here although
        KuCoin defaults it to eth: a default chain is how funds get lost. Put a token unique to this
        payout in `remark`: it is how `find_withdrawals` finds it after an unknown outcome."""
        body = build_withdraw_body(currency=currency, chain=chain, address=address, amount=amount, memo=memo,
                                   is_inner=is_inner, remark=remark, fee_deduct_type=fee_deduct_type,
                                   withdraw_type=withdraw_type)
        data = self._t.call(w.ACCOUNT_WITHDRAW, body=body)
        return str(data["withdrawalId"])

    def cancel_withdrawal(self, withdrawal_id: str) -> None:
        """Only while PROCESSING (KuCoin refuses later ones)."""
        self._t.call(w.ACCOUNT_CANCEL_WITHDRAWAL,
                     path_params={"withdrawalId": v.required(withdrawal_id, "withdrawalId")})

    def get_withdrawal(self, withdrawal_id: str) -> WithdrawalRecord:
        data = self._t.call(w.ACCOUNT_GET_WITHDRAWAL,
                            path_params={"withdrawalId": v.required(withdrawal_id, "withdrawalId")})
        return WithdrawalRecord.parse(data or {})

    def get_withdrawals(self, currency: str, *, status: str | None = None, start: datetime | int | None = None,
                        end: datetime | int | None = None, page: int = 1,
                        page_size: int = 50) -> Page[WithdrawalRecord]:
        """One page of the history, newest first."""
        if status is not None:
            v.one_of(status, WITHDRAWAL_STATUSES, "status")
        if not MIN_PAGE_SIZE <= int(page_size) <= MAX_PAGE_SIZE:
            raise v.ValidationError(f"page_size must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}",
                                    field="pageSize")
        query = [("currency", v.required(currency, "currency").upper()), ("status", status),
                 ("startAt", to_ms(start)), ("endAt", to_ms(end)), ("currentPage", v.positive_int(page, "page")),
                 ("pageSize", int(page_size))]
        return page_of(self._t.call(w.ACCOUNT_WITHDRAWAL_HISTORY, query=query) or {}, WithdrawalRecord.parse)

    def iter_withdrawals(self, currency: str, *, status: str | None = None, start: datetime | int | None = None,
                         end: datetime | int | None = None, page_size: int = 100) -> Iterator[WithdrawalRecord]:
        return every_page(lambda n: self.get_withdrawals(currency, status=status, start=start, end=end, page=n,
                                                          page_size=page_size))

    def find_withdrawals(self, currency: str, *, since: datetime, remark: str | None = None,
                         address: str | None = None, amount: Decimal | str | None = None) -> list[WithdrawalRecord]:
        """Withdrawals of `currency` created from `since` (less LOOKUP_SLACK) on that match every
        given field; for a withdraw whose outcome is unknown. Empty: it was not executed."""
        if since.tzinfo is None:
            raise v.ValidationError("since must be timezone-aware", field="since")
        if remark is None and address is None:
            raise v.ValidationError("give at least the remark or the address to match", field="remark")
        want_amount = None if amount is None else Decimal(v.positive_decimal(amount, "amount"))
        start = (since - LOOKUP_SLACK).astimezone(timezone.utc)
        return [r for r in self.iter_withdrawals(currency, start=start)
                if (remark is None or r.remark == remark) and (address is None or r.address == address)
                and (want_amount is None or r.amount == want_amount)]


def build_withdraw_body(*, currency, chain, address, amount, memo=None, is_inner=False, remark=None,
                        fee_deduct_type=None, withdraw_type="ADDRESS") -> dict:
    """The V3 withdraw body after the checks that need no KuCoin data (the rest: quota.refusal_for)."""
    v.one_of(withdraw_type, WITHDRAW_TYPES, "withdrawType")
    if fee_deduct_type is not None:
        v.one_of(fee_deduct_type, FEE_DEDUCT_TYPES, "feeDeductType")
    if not isinstance(is_inner, bool):
        raise v.ValidationError("isInner must be True or False", field="isInner")
    to_address = _no_blank(v.required(address, "toAddress"), "toAddress")
    body = {"currency": v.required(currency, "currency").upper(), "chain": _chain(v.required(chain, "chain")),
            "amount": v.positive_decimal(amount, "amount")}
    optional = {"memo": _no_blank(memo, "memo"), "isInner": is_inner, "remark": _no_blank(remark, "remark"),
                "feeDeductType": fee_deduct_type}
    body.update({k: val for k, val in optional.items() if val is not None})
    body["toAddress"] = to_address
    body["withdrawType"] = withdraw_type
    return body
