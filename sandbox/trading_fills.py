"""A fill, as the rest of the sandbox hears about it.

Both order books report every fill through a `FillListener`; the rebate ledger is the listener that
matters (`sandbox/rebates.py`): it pays the broker a share of the fee of every fill of a tagged order.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Optional


@dataclass(frozen=True)
class Fill:
    uid: str
    kind: str                 # trading_markets.SPOT or FUTURES
    symbol: str
    order_id: str
    time_ms: int              # sandbox clock at the fill
    volume: Decimal           # traded value in the fee currency (quote / settle currency)
    fee: Decimal
    fee_currency: str
    liquidity: str            # "maker" or "taker"
    partner: Optional[str]    # partner id the order was attributed to, None when untagged


FillListener = Callable[[Fill], None]


def ignore_fill(fill: Fill) -> None:
    pass
