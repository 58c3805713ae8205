"""A month of seeded orders for the broker's sub-accounts, so that the rebate history has orders behind it.

Deterministic from the world seed (and the UTC day the sandbox was reset on): for each of the 30 days
before today, some sub-accounts trade a few spot orders and a futures round trip (open, then close
with reduceOnly). Most carry the broker's partner tag, a few do not (their fills earn nothing).

The orders go through the real order books, fills, fees and rebate ledger, with the mark price set to
a seeded walk, but with a wallet that moves nothing: the seeded balances are what the accounts hold
*after* this history. Every seeded order ends filled or cancelled, and no position is left open, so
that later live trading never touches funds the history did not hold.
"""
from __future__ import annotations

import random
from decimal import ROUND_DOWN, Decimal

from sandbox.trading_futures import parse_futures_order
from sandbox.trading_markets import FUTURES_CONTRACTS, SPOT_SYMBOLS, initial_mark_prices
from sandbox.trading_spot import parse_spot_order
from sandbox.trading_wallet import NullWallet

DAY_MS = 86_400_000
HISTORY_DAYS = 30
UNTAGGED_SHARE = 0.12   # share of seeded orders sent without (valid) partner headers


def _walk(rng: random.Random, start: Decimal, days: int) -> list[Decimal]:
    """A seeded daily price walk, oldest first, within +-3 % a day."""
    prices, price = [], start
    for _ in range(days):
        price = price * (1 + Decimal(rng.randint(-300, 300)) / 10_000)
        prices.append(price)
    return list(reversed(prices))


def seed_history(section, rng: random.Random) -> None:
    world = section.world
    accounts = world.accounts
    broker_uid = accounts.broker_uid
    partners = accounts.partners_of(broker_uid)
    subs = accounts.sub_accounts(broker_uid)
    if not subs or "spot" not in partners or "futures" not in partners:
        return
    spot_partner, futures_partner = partners["spot"].partner, partners["futures"].partner
    today = world.anchor_ms  # start of the UTC day the world was created on: same seed, same history
    walks = {symbol: _walk(rng, price, HISTORY_DAYS) for symbol, price in initial_mark_prices().items()}
    traders = [s for s in subs if rng.random() < 0.7]

    wallets = (section.spot.wallet, section.futures.wallet)
    section.spot.wallet = section.futures.wallet = NullWallet()
    try:
        for day_index in range(HISTORY_DAYS):
            day_start = today - (HISTORY_DAYS - day_index) * DAY_MS
            for symbol, walk in walks.items():
                section.marks[symbol] = walk[day_index]
            for sub in traders:
                if rng.random() < 0.35:
                    continue      # not every customer trades every day
                for _ in range(rng.randint(1, 3)):
                    _seed_spot_order(section, rng, sub.uid, day_start, spot_partner)
                if rng.random() < 0.5:
                    _seed_futures_round_trip(section, rng, sub.uid, day_start, futures_partner)
    finally:
        section.spot.wallet, section.futures.wallet = wallets
        section.marks.update(initial_mark_prices())
        section.futures.positions.clear()


def _when(rng: random.Random, day_start: int) -> int:
    # keep clear of midnight so that a round trip stays on one UTC day
    return day_start + rng.randint(60, 20 * 3600) * 1000 + rng.randint(0, 999)


def _seed_spot_order(section, rng, uid: str, day_start: int, partner: str) -> None:
    symbol = SPOT_SYMBOLS[rng.choice(sorted(SPOT_SYMBOLS))]
    mark = section.marks[symbol.symbol].quantize(symbol.price_increment)
    section.marks[symbol.symbol] = mark
    notional = Decimal(rng.randint(20, 2500))
    size = max((notional / mark).quantize(symbol.base_increment, rounding=ROUND_DOWN), symbol.base_min_size)
    side = rng.choice(["buy", "sell"])
    body = {"clientOid": "seed%028x" % rng.getrandbits(112), "symbol": symbol.symbol, "side": side,
            "size": str(size)}
    roll = rng.random()
    resting = False
    if roll < 0.5:
        body["type"] = "market"
    else:
        # a limit order: crossing ones fill at once, the others rest and are cancelled later
        body["type"] = "limit"
        offset = Decimal(rng.choice([-2, -1, 1, 2])) / 100
        price = (mark * (1 + offset if side == "buy" else 1 - offset)).quantize(symbol.price_increment)
        body["price"] = str(price)
        resting = (side == "buy" and price < mark) or (side == "sell" and price > mark)
    tagged = rng.random() >= UNTAGGED_SHARE
    at = _when(rng, day_start)
    order = section.spot.place(uid, parse_spot_order(body), partner=partner if tagged else None, now_ms=at)
    if resting:
        section.spot.cancel(uid, symbol=symbol.symbol, now_ms=at + rng.randint(1, 3600) * 1000, order_id=order.id)


def _seed_futures_round_trip(section, rng, uid: str, day_start: int, partner: str) -> None:
    contract = FUTURES_CONTRACTS[rng.choice(sorted(FUTURES_CONTRACTS))]
    mark = section.marks[contract.symbol].quantize(contract.tick_size)
    section.marks[contract.symbol] = mark
    side = rng.choice(["buy", "sell"])
    lots = rng.randint(1, 40)
    leverage = rng.choice([1, 2, 3, 5, 10])
    tagged = rng.random() >= UNTAGGED_SHARE
    opened_at = _when(rng, day_start)
    open_body = {"clientOid": "seed%028x" % rng.getrandbits(112), "symbol": contract.symbol, "side": side,
                 "type": "market", "size": lots, "leverage": leverage}
    section.futures.place(uid, parse_futures_order(open_body), partner=partner if tagged else None,
                          now_ms=opened_at)
    # close a few hours later at a moved price, as a reduce-only market order
    section.marks[contract.symbol] = (mark * (1 + Decimal(rng.randint(-150, 150)) / 10_000)
                                      ).quantize(contract.tick_size)
    close_body = {"clientOid": "seed%028x" % rng.getrandbits(112), "symbol": contract.symbol,
                  "side": "sell" if side == "buy" else "buy", "type": "market", "size": lots,
                  "leverage": leverage, "reduceOnly": True}
    section.futures.place(uid, parse_futures_order(close_body), partner=partner if tagged else None,
                          now_ms=opened_at + rng.randint(60, 3 * 3600) * 1000)
