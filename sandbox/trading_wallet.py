"""The money side of trading: what an order may hold, spend and receive.

Order books talk to a `Wallet`, never to the core's World directly, so that they can be tested with
`InMemoryWallet` and so that the one place that knows the core's balance API is `WorldWallet`
(in `sandbox/trading.py`).

Accounts: spot orders use the sub-account's TRADE account, futures orders its CONTRACT account.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Protocol


class InsufficientFunds(Exception):
    pass


class Wallet(Protocol):
    def hold(self, uid: str, account: str, currency: str, amount: Decimal) -> None:
        """Move `amount` from available to held; InsufficientFunds if available is short."""

    def release(self, uid: str, account: str, currency: str, amount: Decimal) -> None:
        """Move `amount` from held back to available."""

    def spend_held(self, uid: str, account: str, currency: str, amount: Decimal) -> None:
        """Take `amount` out of held funds for good (paid to the counterparty or as a fee)."""

    def credit(self, uid: str, account: str, currency: str, amount: Decimal) -> None:
        """Add `amount` to available."""

    def debit(self, uid: str, account: str, currency: str, amount: Decimal) -> None:
        """Take `amount` from available; InsufficientFunds if short."""


class InMemoryWallet:
    """A wallet with no core behind it, for unit tests and for seeding history."""

    def __init__(self) -> None:
        self.available: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        self.held: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)

    def hold(self, uid, account, currency, amount):
        key = (uid, account, currency)
        if self.available[key] < amount:
            raise InsufficientFunds(key)
        self.available[key] -= amount
        self.held[key] += amount

    def release(self, uid, account, currency, amount):
        key = (uid, account, currency)
        self.held[key] -= amount
        self.available[key] += amount

    def spend_held(self, uid, account, currency, amount):
        self.held[(uid, account, currency)] -= amount

    def credit(self, uid, account, currency, amount):
        self.available[(uid, account, currency)] += amount

    def debit(self, uid, account, currency, amount):
        key = (uid, account, currency)
        if self.available[key] < amount:
            raise InsufficientFunds(key)
        self.available[key] -= amount


class NullWallet:
    """Moves nothing. Seeded history uses it: the seeded balances are already 'after' that history."""

    def hold(self, *args):
        pass

    release = spend_held = credit = debit = hold
