"""What the sandbox's wallet knows about currencies and chains: names, withdrawal rules, address
formats, and the made-up deposit addresses it hands out.

Every number here is made up (fees, minimums, prices, the 24 h quota); they only need to be
plausible and stable. Chain ids are KuCoin's lower-case `chainId`s (`trx`, `eth`, ...), chain
names the `chainName`s KuCoin shows next to them (`TRC20`, `ERC20`, ...).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "023456789acdefghjklmnpqrstuvwxyz"
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# The 24 h withdrawal quota of every account, counted in USDT value (rolling 24 h, FAILURE and
# cancelled withdrawals do not count). KuCoin's real quota depends on KYC and VIP level.
QUOTA_CURRENCY = "USDT"
QUOTA_LIMIT_USDT = Decimal("100000")


@dataclass(frozen=True)
class Chain:
    chain_id: str
    chain_name: str
    address_re: re.Pattern
    needs_memo: bool = False


_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
CHAINS: dict[str, Chain] = {c.chain_id: c for c in (
    Chain("eth", "ERC20", _EVM),
    Chain("bsc", "BEP20", _EVM),
    Chain("arbitrum", "ARBITRUM", _EVM),
    Chain("kcc", "KCC", _EVM),
    Chain("trx", "TRC20", re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$")),
    # bech32 (bc1...) or legacy base58 (1... / 3...)
    Chain("btc", "BTC", re.compile(r"^(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$")),
    Chain("ton", "TON", re.compile(r"^(EQ|UQ)[A-Za-z0-9_-]{46}$"), needs_memo=True),
    Chain("xrp", "XRP", re.compile(r"^r[1-9A-HJ-NP-Za-km-z]{24,34}$"), needs_memo=True),
)}


@dataclass(frozen=True)
class CurrencyChain:
    """Withdrawal rules of one currency on one chain."""
    currency: str
    chain_id: str
    min_size: Decimal
    fee: Decimal
    inner_fee: Decimal
    precision: int
    withdraw_enabled: bool = True
    reason: str | None = None
    contract_address: str = ""

    @property
    def chain(self) -> Chain:
        return CHAINS[self.chain_id]


def _cc(currency, chain, min_size, fee, precision, **kw) -> CurrencyChain:
    return CurrencyChain(currency, chain, Decimal(min_size), Decimal(fee), Decimal(0), precision, **kw)


# (currency, chainId) -> rules. ETH on arbitrum is "under maintenance" so that a disabled chain is testable.
CURRENCY_CHAINS: dict[tuple[str, str], CurrencyChain] = {(c.currency, c.chain_id): c for c in (
    _cc("USDT", "trx", "10", "1", 6, contract_address="TSandboxUsdtContractTrc20xxxxxxxx"),
    _cc("USDT", "eth", "10", "4", 6, contract_address="0x5a0d000000000000000000000000000000000001"),
    _cc("USDT", "bsc", "10", "0.8", 6, contract_address="0x5a0d000000000000000000000000000000000002"),
    _cc("USDT", "ton", "1", "0.5", 6, contract_address="EQSandboxUsdtJettonMasterxxxxxxxxxxxxxxxxxxxxxx"),
    _cc("BTC", "btc", "0.001", "0.0005", 8),
    _cc("ETH", "eth", "0.01", "0.002", 8),
    _cc("ETH", "arbitrum", "0.01", "0.0002", 8, withdraw_enabled=False, reason="Wallet maintenance (sandbox)"),
    _cc("KCS", "kcc", "0.1", "0.01", 8),
    _cc("XRP", "xrp", "20", "0.5", 6),
    _cc("TON", "ton", "1", "0.05", 9),
)}

# Made-up USDT prices, for the quota only.
USDT_PRICE: dict[str, Decimal] = {"USDT": Decimal(1), "BTC": Decimal(60000), "ETH": Decimal(3000),
                                  "KCS": Decimal(10), "XRP": Decimal("0.5"), "TON": Decimal(5)}


def currency_chains(currency: str) -> list[CurrencyChain]:
    return [c for (cur, _), c in CURRENCY_CHAINS.items() if cur == currency]


def known_currency(currency: str) -> bool:
    return currency in USDT_PRICE


def valid_address(chain: Chain, address: str) -> bool:
    return bool(chain.address_re.match(address or ""))


def valid_memo(chain: Chain, memo: str | None) -> bool:
    if not memo:
        return False
    if chain.chain_id == "xrp":   # an XRP destination tag is a 32-bit unsigned integer
        return memo.isdigit() and int(memo) <= 0xFFFFFFFF
    return len(memo) <= 64


def _digest(text: str) -> bytes:
    return hashlib.sha512(text.encode("utf-8")).digest()


def _chars(text: str, alphabet: str, n: int) -> str:
    d = _digest(text)
    while len(d) < n:
        d += _digest(d.hex())
    return "".join(alphabet[b % len(alphabet)] for b in d[:n])


def _address_for(chain_id: str, seed_text: str) -> str:
    if chain_id == "trx":
        return "T" + _chars(seed_text, BASE58, 33)
    if chain_id == "btc":
        return "bc1q" + _chars(seed_text, BECH32, 38)
    if chain_id == "ton":
        return "EQ" + _chars(seed_text, BASE64URL, 46)
    if chain_id == "xrp":
        return "r" + _chars(seed_text, BASE58, 33)
    return "0x" + hashlib.sha256(seed_text.encode("utf-8")).hexdigest()[:40]


def deposit_address(seed: int, uid: str, currency: str, chain_id: str) -> tuple[str, str]:
    """-> (address, memo), the same for one (seed, uid, currency, chain) every time.

    Memo chains (TON, XRP) share one exchange address per chain and tell customers apart by a
    10-digit memo, as KuCoin does; other chains get an address of their own per customer."""
    chain = CHAINS[chain_id]
    if chain.needs_memo:
        n = int.from_bytes(_digest(f"memo:{seed}:{uid}:{currency}:{chain_id}")[:8], "big")
        return _address_for(chain_id, f"hot-wallet:{chain_id}"), str(1_000_000_000 + n % 3_000_000_000)
    return _address_for(chain_id, f"deposit:{seed}:{uid}:{currency}:{chain_id}"), ""
