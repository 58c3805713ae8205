"""Address formats and memo rules of the chains KuCoin withdraws on, so that a bad address or a missing
memo is refused in words before anything is sent.

KuCoin refuses a withdrawal to an address that does not fit its chain ("Incorrect withdrawal address")
and one without the memo (tag) a memo chain needs; its quotas call does not say which format a chain
has, so the formats of the common chains are written down here. A chain that is not listed is left to
KuCoin to check when the withdrawal is sent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ChainRule:
    chain_id: str
    name: str
    address: re.Pattern
    example: str
    memo_required: bool = False
    memo: re.Pattern | None = None  # the memo's own format, when it has one
    memo_words: str = ""


_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
_EVM_EXAMPLE = "0x followed by 40 hexadecimal digits"
_BASE58 = "1-9A-HJ-NP-Za-km-z"

RULES: dict[str, ChainRule] = {r.chain_id: r for r in (
    ChainRule("eth", "ERC20", _EVM, _EVM_EXAMPLE),
    ChainRule("bsc", "BEP20", _EVM, _EVM_EXAMPLE),
    ChainRule("arbitrum", "ARBITRUM", _EVM, _EVM_EXAMPLE),
    ChainRule("optimism", "OPTIMISM", _EVM, _EVM_EXAMPLE),
    ChainRule("kcc", "KCC", _EVM, _EVM_EXAMPLE),
    ChainRule("matic", "Polygon", _EVM, _EVM_EXAMPLE),
    ChainRule("base", "Base", _EVM, _EVM_EXAMPLE),
    ChainRule("trx", "TRC20", re.compile(rf"^T[{_BASE58}]{{33}}$"), "T followed by 33 base58 characters"),
    ChainRule("btc", "BTC", re.compile(rf"^(bc1[02-9ac-hj-np-z]{{11,71}}|[13][{_BASE58}]{{25,34}})$"),
              "bc1… (bech32) or a legacy address starting with 1 or 3"),
    ChainRule("ton", "TON", re.compile(r"^(EQ|UQ)[A-Za-z0-9_-]{46}$"), "EQ or UQ followed by 46 characters",
              memo_required=True, memo=re.compile(r"^.{1,64}$"), memo_words="at most 64 characters"),
    ChainRule("xrp", "XRP", re.compile(rf"^r[{_BASE58}]{{24,34}}$"), "r followed by 24 to 34 base58 characters",
              memo_required=True, memo=re.compile(r"^\d{1,10}$"), memo_words="a destination tag: a whole number"),
)}

XRP_MAX_TAG = 0xFFFFFFFF


def address_problems(*, chain: str, address: str, memo: str) -> dict[str, str]:
    """{field: what is wrong, in words} for `address` and `memo` on `chain`; empty when fine or unknown."""
    rule = RULES.get(chain.lower())
    if rule is None:
        return {}
    problems = {}
    if not rule.address.match(address):
        problems["address"] = (f"“{address}” is not a {rule.name} address ({rule.chain_id}): "
                               f"it should be {rule.example}.")
    if rule.memo_required and not memo:
        problems["memo"] = f"{rule.name} withdrawals need a memo (tag): without it the funds cannot be credited."
    elif memo and rule.memo and (not rule.memo.match(memo) or (rule.chain_id == "xrp" and int(memo) > XRP_MAX_TAG)):
        problems["memo"] = f"“{memo}” is not a valid {rule.name} memo: it should be {rule.memo_words}."
    return problems


def plain(amount: Decimal) -> str:
    """A Decimal in plain digits without trailing zeros: 10 for 10.000 (str() of a normalized 10 is 1E+1)."""
    return format(amount.normalize(), "f")
