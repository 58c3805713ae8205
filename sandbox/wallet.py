"""An account's own wallet: deposit addresses (V3) and withdrawals (V3) with quotas, as KuCoin's
account/deposit and account/withdrawal endpoints see them. Routes are in `wallet_routes.py`.

Choices where KuCoin's behaviour is not documented (also in README.md):
- One deposit address per (uid, currency, chain); creating it again answers 260000
  "Deposit address already exists." (ccxt's note of KuCoin's answer); GET lists them.
- Withdrawals come out of the MAIN account. The amount (plus the fee when it is paid on top) is
  held while the withdrawal runs, spent on SUCCESS, released on FAILURE or cancel.
- Status follows the sandbox clock: PROCESSING for 60 s (cancellable), WALLET_PROCESSING until
  120 s, then SUCCESS. A remark containing "SANDBOX-FAIL" ends in FAILURE instead; the control
  call POST /_sandbox/withdrawals/status sets a status at once.
- Quota: QUOTA_LIMIT_USDT of USDT value per account per rolling 24 h (wallet_chains.py).
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal

from .errors import ApiError, param_error
from .money import fmt
from .wallet_chains import (CURRENCY_CHAINS, QUOTA_LIMIT_USDT, USDT_PRICE, CurrencyChain, deposit_address,
                            valid_address)
from .world import Section, register_section

PROCESSING_MS = 60_000          # PROCESSING -> WALLET_PROCESSING
WALLET_MS = 120_000             # WALLET_PROCESSING -> SUCCESS / FAILURE
DAY_MS = 86_400_000
FAIL_SWITCH = "SANDBOX-FAIL"    # in the remark: the withdrawal ends in FAILURE
FINAL = ("SUCCESS", "FAILURE")


@dataclass
class DepositAddress:
    uid: int
    currency: str
    chainId: str
    address: str
    memo: str
    to: str                     # MAIN | TRADE: the account a deposit to this address is credited to
    createdAt: int


@dataclass
class WalletWithdrawal:
    id: str
    uid: int
    currency: str
    chainId: str
    withdrawType: str           # ADDRESS | UID
    address: str
    memo: str
    amount: str                 # as requested
    fee: str
    feeDeductType: str          # INTERNAL (fee out of the amount) | EXTERNAL (fee on top), as resolved
    held: str                   # what is held on MAIN while it runs
    quotaUsdt: str              # what it counts against the 24 h quota
    isInner: bool
    remark: str
    status: str
    failureReason: str
    walletTxId: str | None
    createdAt: int
    updatedAt: int
    willFail: bool = False


@register_section
class WalletSection(Section):
    name = "wallet"
    order = 35                  # after accounts, balances and funding

    def __init__(self, world):
        super().__init__(world)
        self.addresses: dict[tuple[int, str, str], DepositAddress] = {}
        self.withdrawals: dict[str, WalletWithdrawal] = {}

    # -- deposit addresses -------------------------------------------------------------------
    def create_address(self, uid: str, cc: CurrencyChain, to: str, now_ms: int) -> DepositAddress:
        key = (int(uid), cc.currency, cc.chain_id)
        if key in self.addresses:
            raise ApiError("260000", "Deposit address already exists.")
        address, memo = deposit_address(self.world.seed_value, uid, cc.currency, cc.chain_id)
        a = DepositAddress(int(uid), cc.currency, cc.chain_id, address, memo, to, now_ms)
        self.addresses[key] = a
        return a

    def addresses_of(self, uid: str, currency: str, chain_id: str | None) -> list[DepositAddress]:
        return [a for (u, cur, ch), a in self.addresses.items()
                if u == int(uid) and cur == currency and (chain_id is None or ch == chain_id)]

    def owner_of(self, address: str, currency: str, memo: str | None) -> DepositAddress | None:
        """The deposit address a deposit to (address, memo) of `currency` lands on, if any."""
        for a in self.addresses.values():
            if a.address == address and a.currency == currency and (not a.memo or a.memo == (memo or "")):
                return a
        return None

    # -- quota -------------------------------------------------------------------------------
    def quota_used_usdt(self, uid: str, now_ms: int) -> Decimal:
        return sum((Decimal(w.quotaUsdt) for w in self.withdrawals.values()
                    if w.uid == int(uid) and w.status != "FAILURE" and w.createdAt > now_ms - DAY_MS), Decimal(0))

    def quota_view(self, uid: str, cc: CurrencyChain, now_ms: int) -> dict:
        self.advance(now_ms)
        used = self.quota_used_usdt(uid, now_ms)
        left = max(Decimal(0), QUOTA_LIMIT_USDT - used)
        price, btc = USDT_PRICE[cc.currency], USDT_PRICE["BTC"]
        step = Decimal(1).scaleb(-cc.precision)
        in_ccy = (left / price).quantize(step, rounding=ROUND_DOWN)
        _, available, holds = self.world.balances.get(uid, "MAIN", cc.currency)
        return {
            "currency": cc.currency,
            "limitBTCAmount": fmt((QUOTA_LIMIT_USDT / btc).quantize(Decimal("1E-8"), rounding=ROUND_DOWN)),
            "usedBTCAmount": fmt((used / btc).quantize(Decimal("1E-8"), rounding=ROUND_DOWN)),
            "quotaCurrency": "USDT",
            "limitQuotaCurrencyAmount": fmt(QUOTA_LIMIT_USDT),
            "usedQuotaCurrencyAmount": fmt(used),
            "remainAmount": fmt(in_ccy),
            "availableAmount": fmt(min(available, in_ccy)),
            "withdrawMinFee": fmt(cc.fee),
            "innerWithdrawMinFee": fmt(cc.inner_fee),
            "withdrawMinSize": fmt(cc.min_size),
            "isWithdrawEnabled": cc.withdraw_enabled,
            "precision": cc.precision,
            "chain": cc.chain.chain_name,
            "reason": cc.reason,
            "lockedAmount": fmt(holds),
        }

    # -- withdrawals -------------------------------------------------------------------------
    def withdraw(self, uid: str, cc: CurrencyChain, *, amount: Decimal, to_address: str, withdraw_type: str,
                 memo: str, is_inner: bool, remark: str, fee_deduct_type: str | None, now_ms: int
                 ) -> WalletWithdrawal:
        """Checks in KuCoin's order of concern, then holds the funds. Raises ApiError."""
        self.advance(now_ms)
        inner = is_inner or withdraw_type == "UID"
        fee = cc.inner_fee if inner else cc.fee
        used = self.quota_used_usdt(uid, now_ms)
        value = amount * USDT_PRICE[cc.currency]
        if used + value > QUOTA_LIMIT_USDT:
            raise param_error(f"Exceeded the 24h withdrawal quota: {fmt(QUOTA_LIMIT_USDT - used)} USDT "
                              f"of {fmt(QUOTA_LIMIT_USDT)} USDT left")
        available = self.world.balances.available(uid, "MAIN", cc.currency)
        # feeDeductType: EXTERNAL pays the fee on top out of MAIN; INTERNAL takes it out of the
        # amount; unset: EXTERNAL when MAIN covers amount + fee, else INTERNAL (spec's wording).
        resolved = fee_deduct_type or ("EXTERNAL" if available >= amount + fee else "INTERNAL")
        if resolved == "INTERNAL" and amount <= fee:
            raise param_error("The withdrawal amount must be greater than the fee when the fee is deducted from it")
        held = amount + fee if resolved == "EXTERNAL" else amount
        self.world.balances.hold(uid, "MAIN", cc.currency, held)     # InsufficientFunds -> 200004
        w = WalletWithdrawal(self.world.new_hex_id(), int(uid), cc.currency, cc.chain_id, withdraw_type,
                             to_address, memo or "", fmt(amount), fmt(fee), resolved, fmt(held), fmt(value), inner,
                             remark or "", "PROCESSING", "", None, now_ms, now_ms, FAIL_SWITCH in (remark or ""))
        self.withdrawals[w.id] = w
        return w

    def cancel(self, uid: str, withdrawal_id: str, now_ms: int) -> WalletWithdrawal:
        self.advance(now_ms)
        w = self.own(uid, withdrawal_id)
        if w.status != "PROCESSING":
            raise param_error(f"Only withdrawals in PROCESSING can be cancelled; this one is {w.status}")
        self._finish(w, "FAILURE", now_ms, reason="CANCELLED")
        return w

    def own(self, uid: str, withdrawal_id: str) -> WalletWithdrawal:
        w = self.withdrawals.get(withdrawal_id)
        if w is None or w.uid != int(uid):
            raise param_error("withdrawalId is invalid: no such withdrawal")
        return w

    def set_status(self, withdrawal_id: str, status: str, now_ms: int) -> WalletWithdrawal:
        """Control: move a running withdrawal on at once."""
        w = self.withdrawals.get(withdrawal_id)
        if w is None:
            raise param_error("no withdrawal with this id")
        if w.status in FINAL:
            raise param_error(f"withdrawal is already {w.status}")
        if status == "WALLET_PROCESSING":
            w.status, w.updatedAt = status, now_ms
        else:
            self._finish(w, status, now_ms, reason="WALLET_REJECTED" if status == "FAILURE" else "")
        return w

    def advance(self, now_ms: int) -> None:
        """Move every running withdrawal on as far as the clock says."""
        for w in self.withdrawals.values():
            if w.status == "PROCESSING" and now_ms >= w.createdAt + PROCESSING_MS:
                w.status, w.updatedAt = "WALLET_PROCESSING", w.createdAt + PROCESSING_MS
            if w.status == "WALLET_PROCESSING" and now_ms >= w.createdAt + WALLET_MS:
                self._finish(w, "FAILURE" if w.willFail else "SUCCESS", w.createdAt + WALLET_MS,
                             reason="WALLET_REJECTED" if w.willFail else "")

    def on_time_advanced(self, now_ms: int) -> None:
        self.advance(now_ms)

    def _finish(self, w: WalletWithdrawal, status: str, at_ms: int, reason: str) -> None:
        bal = self.world.balances
        held = Decimal(w.held)
        if status == "SUCCESS":
            bal.spend_held(str(w.uid), "MAIN", w.currency, held)
            if w.withdrawType == "UID" and w.address in self.world.accounts.accounts:
                bal.credit(w.address, "MAIN", w.currency, Decimal(w.amount) - (
                    Decimal(w.fee) if w.feeDeductType == "INTERNAL" else Decimal(0)))
            elif not w.isInner:
                w.walletTxId = hashlib.sha256(f"sandbox-tx:{w.id}".encode()).hexdigest()
        else:
            bal.unhold(str(w.uid), "MAIN", w.currency, held)
        w.status, w.failureReason, w.updatedAt = status, reason, at_ms

    # -- seed / dump / load --------------------------------------------------------------------
    def seed(self, rng: random.Random) -> None:
        """A little history: the broker's own past withdrawals (older than a day, so today's quota
        is untouched) and deposit addresses for a few customers."""
        accts = self.world.accounts
        broker = accts.broker_uid
        for i in range(6):
            cc = CURRENCY_CHAINS[rng.choice([("USDT", "trx"), ("USDT", "eth"), ("BTC", "btc")])]
            t = self.world.anchor_ms - rng.randint(2, 60) * DAY_MS - rng.randint(0, 86_399) * 1000
            amount = Decimal(rng.randint(50, 5000)) if cc.currency == "USDT" else Decimal(rng.randint(2, 90)) / 1000
            status = rng.choices(["SUCCESS", "FAILURE"], weights=[9, 1])[0]
            address, _ = deposit_address(self.world.seed_value, f"elsewhere-{i}", cc.currency, cc.chain_id)
            assert valid_address(cc.chain, address)
            wid = "%08x%016x" % (t // 1000, rng.getrandbits(64))
            self.withdrawals[wid] = WalletWithdrawal(
                wid, int(broker), cc.currency, cc.chain_id, "ADDRESS", address, "", fmt(amount), fmt(cc.fee),
                "EXTERNAL", fmt(amount + cc.fee), fmt(amount * USDT_PRICE[cc.currency]), False, f"payout {i + 1:03d}",
                status, "" if status == "SUCCESS" else "WALLET_REJECTED",
                "%064x" % rng.getrandbits(256) if status == "SUCCESS" else None, t, t + WALLET_MS)
        for sub in accts.sub_accounts(broker)[:5]:
            cc = CURRENCY_CHAINS[("USDT", "trx")]
            address, memo = deposit_address(self.world.seed_value, sub.uid, cc.currency, cc.chain_id)
            self.addresses[(int(sub.uid), cc.currency, cc.chain_id)] = DepositAddress(
                int(sub.uid), cc.currency, cc.chain_id, address, memo, "MAIN", sub.created_at + 3_600_000)

    def to_json(self) -> dict:
        return {"addresses": [asdict(a) for a in self.addresses.values()],
                "withdrawals": [asdict(w) for w in self.withdrawals.values()]}

    def load(self, data: dict) -> None:
        self.addresses = {(a["uid"], a["currency"], a["chainId"]): DepositAddress(**a)
                          for a in data.get("addresses", [])}
        self.withdrawals = {w["id"]: WalletWithdrawal(**w) for w in data.get("withdrawals", [])}
