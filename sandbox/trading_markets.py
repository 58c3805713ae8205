"""What can be traded in the sandbox, and what it costs.

The fee rates live here and nowhere else: every fill, seeded or live, takes its rate from
`fee_rate()`. The rebate share the broker earns on those fees lives in `sandbox/rebates.py`.

Numbers are plausible KuCoin values (VIP0 spot 0.1 %/0.1 %, futures 0.02 % maker / 0.06 % taker),
not a copy of any live table.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SPOT = "SPOT"
FUTURES = "FUTURES"

# (market kind, liquidity) -> fee rate. "taker" = filled on arrival, "maker" = rested, then filled
# when the mark price moved through it.
FEE_RATES: dict[tuple[str, str], Decimal] = {
    (SPOT, "taker"): Decimal("0.001"),
    (SPOT, "maker"): Decimal("0.001"),
    (FUTURES, "taker"): Decimal("0.0006"),
    (FUTURES, "maker"): Decimal("0.0002"),
}


def fee_rate(kind: str, liquidity: str) -> Decimal:
    return FEE_RATES[(kind, liquidity)]


def max_fee_rate(kind: str) -> Decimal:
    """What a hold must cover so that the fill can always pay its fee, whichever side it takes."""
    return max(rate for (k, _), rate in FEE_RATES.items() if k == kind)


@dataclass(frozen=True)
class SpotSymbol:
    symbol: str
    base: str
    quote: str
    base_increment: Decimal
    price_increment: Decimal
    quote_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal
    quote_min_size: Decimal
    quote_max_size: Decimal
    initial_price: Decimal


@dataclass(frozen=True)
class FuturesContract:
    symbol: str
    base: str
    settle_currency: str
    multiplier: Decimal  # base currency per lot (linear USDT contracts only)
    tick_size: Decimal
    max_leverage: int
    max_order_lots: int
    initial_price: Decimal


SPOT_SYMBOLS: dict[str, SpotSymbol] = {
    s.symbol: s
    for s in (
        SpotSymbol("BTC-USDT", "BTC", "USDT", Decimal("0.00000001"), Decimal("0.1"), Decimal("0.000001"),
                   Decimal("0.00001"), Decimal("10000"), Decimal("0.1"), Decimal("99999999"), Decimal("60000")),
        SpotSymbol("ETH-USDT", "ETH", "USDT", Decimal("0.0000001"), Decimal("0.01"), Decimal("0.000001"),
                   Decimal("0.0001"), Decimal("10000"), Decimal("0.1"), Decimal("99999999"), Decimal("3000")),
        SpotSymbol("KCS-USDT", "KCS", "USDT", Decimal("0.0001"), Decimal("0.001"), Decimal("0.000001"),
                   Decimal("0.01"), Decimal("10000000"), Decimal("0.1"), Decimal("99999999"), Decimal("10")),
    )
}

FUTURES_CONTRACTS: dict[str, FuturesContract] = {
    c.symbol: c
    for c in (
        FuturesContract("XBTUSDTM", "XBT", "USDT", Decimal("0.001"), Decimal("0.1"), 125, 1_000_000,
                        Decimal("60000")),
        FuturesContract("ETHUSDTM", "ETH", "USDT", Decimal("0.01"), Decimal("0.01"), 100, 1_000_000,
                        Decimal("3000")),
        FuturesContract("SOLUSDTM", "SOL", "USDT", Decimal("0.1"), Decimal("0.001"), 75, 1_000_000,
                        Decimal("150")),
    )
}


def initial_mark_prices() -> dict[str, Decimal]:
    prices = {s.symbol: s.initial_price for s in SPOT_SYMBOLS.values()}
    prices.update({c.symbol: c.initial_price for c in FUTURES_CONTRACTS.values()})
    return prices


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def to_wire(value: Decimal) -> str:
    """A Decimal as KuCoin writes it: plain notation, no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text
