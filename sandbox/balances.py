"""Balances per (uid, account type, currency): a total and the part held by open orders.

Account types are KuCoin's transfer names: MAIN (funding), TRADE (spot), CONTRACT (futures),
MARGIN. ``available = balance - holds``. All amounts are Decimal. The primitives raise
``InsufficientFunds`` (an ApiError, 200004 by default) so callers can let it through or catch it
and answer their own code (spot HF 126013, futures 300003 ...).
"""
from __future__ import annotations

import random
from decimal import Context, Decimal, localcontext

# Ledger arithmetic never rounds: sums of amounts with up to 28 significant digits (what Decimal
# division gives callers) stay exact with 80 digits of precision.
_EXACT = Context(prec=80)

from .errors import ApiError
from .world import Section, register_section

ACCOUNT_TYPES = ("MAIN", "TRADE", "CONTRACT", "MARGIN")


class InsufficientFunds(ApiError):
    def __init__(self, uid: str, account_type: str, currency: str, needed: Decimal, available: Decimal):
        super().__init__("200004", "Balance insufficient!")
        self.uid, self.account_type, self.currency = uid, account_type, currency
        self.needed, self.available = needed, available


def _dec(amount) -> Decimal:
    d = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if not d.is_finite() or d < 0:
        raise ValueError(f"amount must be a finite, non-negative Decimal, got {amount!r}")
    return d


def _exact(fn):
    def wrapper(*args, **kwargs):
        with localcontext(_EXACT):
            return fn(*args, **kwargs)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


@register_section
class BalancesSection(Section):
    name = "balances"
    order = 20

    def __init__(self, world):
        super().__init__(world)
        # (uid, account_type, currency) -> [balance, holds]
        self.rows: dict[tuple[str, str, str], list[Decimal]] = {}

    def _row(self, uid: str, account_type: str, currency: str) -> list[Decimal]:
        if account_type not in ACCOUNT_TYPES:
            raise ValueError(f"unknown account type {account_type!r}")
        key = (str(uid), account_type, currency.upper())
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [Decimal(0), Decimal(0)]
        return row

    # -- reads -------------------------------------------------------------------------------
    @_exact
    def get(self, uid: str, account_type: str, currency: str) -> tuple[Decimal, Decimal, Decimal]:
        """-> (balance, available, holds); zeros when the row does not exist."""
        row = self.rows.get((str(uid), account_type, currency.upper()))
        if row is None:
            return Decimal(0), Decimal(0), Decimal(0)
        return row[0], row[0] - row[1], row[1]

    def available(self, uid: str, account_type: str, currency: str) -> Decimal:
        return self.get(uid, account_type, currency)[1]

    def of(self, uid: str) -> list[tuple[str, str, Decimal, Decimal]]:
        """Every row of one account: (account_type, currency, balance, holds), stable order."""
        return [(t, c, b, h) for (u, t, c), (b, h) in sorted(self.rows.items()) if u == str(uid)]

    # -- writes ------------------------------------------------------------------------------
    @_exact
    def credit(self, uid: str, account_type: str, currency: str, amount) -> Decimal:
        row = self._row(uid, account_type, currency)
        row[0] += _dec(amount)
        return row[0]

    @_exact
    def debit(self, uid: str, account_type: str, currency: str, amount) -> Decimal:
        """Take from the available part; InsufficientFunds (nothing changes) when it is short."""
        amount = _dec(amount)
        row = self._row(uid, account_type, currency)
        if row[0] - row[1] < amount:
            raise InsufficientFunds(str(uid), account_type, currency.upper(), amount, row[0] - row[1])
        row[0] -= amount
        return row[0]

    def move(self, from_uid: str, from_type: str, to_uid: str, to_type: str, currency: str, amount) -> None:
        """Debit then credit, atomically (the debit raises before anything changes)."""
        self.debit(from_uid, from_type, currency, amount)
        self.credit(to_uid, to_type, currency, amount)

    @_exact
    def hold(self, uid: str, account_type: str, currency: str, amount) -> None:
        """Reserve part of the available balance (an open order)."""
        amount = _dec(amount)
        row = self._row(uid, account_type, currency)
        if row[0] - row[1] < amount:
            raise InsufficientFunds(str(uid), account_type, currency.upper(), amount, row[0] - row[1])
        row[1] += amount

    @_exact
    def unhold(self, uid: str, account_type: str, currency: str, amount) -> None:
        """Release a reservation (cancel); never below zero."""
        amount = _dec(amount)
        row = self._row(uid, account_type, currency)
        row[1] = max(Decimal(0), row[1] - amount)

    @_exact
    def spend_held(self, uid: str, account_type: str, currency: str, amount) -> None:
        """Take from what was held (a fill): the balance and the hold both go down."""
        amount = _dec(amount)
        row = self._row(uid, account_type, currency)
        if row[1] < amount:
            raise InsufficientFunds(str(uid), account_type, currency.upper(), amount, row[1])
        row[1] -= amount
        row[0] -= amount

    # -- seed / dump / load ------------------------------------------------------------------
    def seed(self, rng: random.Random) -> None:
        accts = self.world.accounts
        b = accts.broker_uid
        for t, c, amt in (("MAIN", "USDT", "250000"), ("MAIN", "BTC", "12.5"), ("MAIN", "ETH", "140"),
                          ("TRADE", "USDT", "50000"), ("TRADE", "BTC", "1.25"), ("MAIN", "KCS", "800")):
            self.credit(b, t, c, Decimal(amt))
        for sub in accts.sub_accounts(b):
            self.credit(sub.uid, "MAIN", "USDT", Decimal(rng.randint(0, 20000)) + Decimal(rng.randint(0, 99)) / 100)
            self.credit(sub.uid, "TRADE", "USDT", Decimal(rng.randint(100, 10000)))
            if rng.random() < 0.6:
                self.credit(sub.uid, "TRADE", "BTC", Decimal(rng.randint(1, 50000)) / Decimal(100000))
            if rng.random() < 0.4:
                self.credit(sub.uid, "MAIN", "ETH", Decimal(rng.randint(1, 3000)) / Decimal(1000))
            if rng.random() < 0.5:
                self.credit(sub.uid, "CONTRACT", "USDT", Decimal(rng.randint(50, 5000)))

    @_exact
    def to_json(self) -> list[dict]:
        return [{"uid": u, "accountType": t, "currency": c, "balance": b, "holds": h,
                 "available": b - h} for (u, t, c), (b, h) in sorted(self.rows.items())]

    def load(self, data: list[dict]) -> None:
        self.rows = {(r["uid"], r["accountType"], r["currency"]): [Decimal(r["balance"]), Decimal(r["holds"])]
                     for r in data}
