"""Transfers between a broker and its sub-accounts, deposits and withdrawals (kucoin-api.md 3.8-3.12).

Transfer idempotence: a clientOid is remembered per broker; the same clientOid with the same
parameters answers the first transfer's orderId and moves nothing; with other parameters it is
refused (400100). [OPEN: KuCoin's answer to a repeated clientOid is not documented.]
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from decimal import Decimal

from .errors import param_error
from .money import fmt, parse_amount
from .ndbroker import own_sub, require_broker
from .routes import ANY_FAMILY, route
from .world import Section, register_section

MAX_DECIMALS = 8
CHAINS = {"USDT": ["trx", "eth", "bsc"], "BTC": ["btc"], "ETH": ["eth"], "KCS": ["kcc"]}
DEPOSIT_STATUSES = ("PROCESSING", "SUCCESS", "FAILURE")
WITHDRAW_STATUSES = ("PROCESSING", "WALLET_PROCESSING", "REVIEW", "SUCCESS", "FAILURE")


@dataclass
class Transfer:
    orderId: str
    clientOid: str
    brokerUid: str
    currency: str
    amount: str
    fromUid: int
    fromAccountType: str
    toUid: int
    toAccountType: str
    status: str
    reason: str | None
    createdAt: int


@dataclass
class Deposit:
    uid: int
    hash: str
    address: str
    memo: str
    amount: str
    fee: str
    currency: str
    isInner: bool
    walletTxId: str
    status: str
    remark: str
    chain: str
    createdAt: int
    updatedAt: int
    toAccount: str = "MAIN"     # credited account: the deposit address's `to` (wallet section), else MAIN


@dataclass
class Withdrawal:
    id: str
    uid: int
    chain: str
    walletTxId: str
    amount: str
    memo: str
    fee: str
    address: str
    remark: str
    isInner: bool
    currency: str
    status: str
    createdAt: int
    updatedAt: int


def _hash(rng: random.Random) -> str:
    return "%064x" % rng.getrandbits(256)


def _address(rng: random.Random, chain: str) -> str:
    if chain == "trx":
        return "T" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789") for _ in range(33))
    if chain == "btc":
        return "bc1q" + "".join(rng.choice("023456789acdefghjklmnpqrstuvwxyz") for _ in range(38))
    return "0x" + "%040x" % rng.getrandbits(160)


@register_section
class FundingSection(Section):
    name = "funding"
    order = 30

    def __init__(self, world):
        super().__init__(world)
        self.transfers: dict[str, Transfer] = {}
        self.by_client_oid: dict[tuple[str, str], str] = {}
        self.deposits: list[Deposit] = []
        self.withdrawals: dict[str, Withdrawal] = {}

    # -- actions -------------------------------------------------------------------------------
    def transfer(self, broker_uid: str, *, currency: str, amount: Decimal, direction: str, account_type: str,
                 special_uid: str, special_account_type: str, client_oid: str, now_ms: int) -> Transfer:
        key = (broker_uid, client_oid)
        if key in self.by_client_oid:
            t = self.transfers[self.by_client_oid[key]]
            same = (t.currency == currency and Decimal(t.amount) == amount
                    and (t.fromUid, t.fromAccountType, t.toUid, t.toAccountType) ==
                    self._ends(broker_uid, direction, account_type, special_uid, special_account_type))
            if not same:
                raise param_error("clientOid is duplicated with different parameters")
            return t
        from_uid, from_type, to_uid, to_type = self._ends(broker_uid, direction, account_type, special_uid,
                                                          special_account_type)
        self.world.balances.move(str(from_uid), from_type, str(to_uid), to_type, currency, amount)
        t = Transfer(self.world.new_hex_id(), client_oid, broker_uid, currency, fmt(amount), from_uid, from_type,
                     to_uid, to_type, "SUCCESS", None, now_ms)
        self.transfers[t.orderId] = t
        self.by_client_oid[key] = t.orderId
        return t

    @staticmethod
    def _ends(broker_uid, direction, account_type, special_uid, special_account_type):
        if direction == "OUT":
            return int(broker_uid), account_type, int(special_uid), special_account_type
        return int(special_uid), special_account_type, int(broker_uid), account_type

    def add_deposit(self, uid: str, currency: str, amount: Decimal, *, chain: str | None, address: str | None,
                    status: str, now_ms: int, rng: random.Random | None = None, inner: bool = False,
                    memo: str = "", to_account: str = "MAIN") -> Deposit:
        rng = rng or self.world.rng
        chain = chain if chain is not None else ("" if inner else CHAINS.get(currency, ["eth"])[0])
        h = _hash(rng)
        d = Deposit(int(uid), h, address or (f"sandbox-user-{rng.randint(1000, 9999)}@example.invalid" if inner
                                              else _address(rng, chain)),
                    memo, fmt(amount), "0", currency, inner, h + ("@inner" if inner else f"@{chain}"), status,
                    "", chain, now_ms, now_ms, to_account)
        self.deposits.append(d)
        if status == "SUCCESS":
            self.world.balances.credit(uid, to_account, currency, amount)
        return d

    def set_deposit_status(self, hash_: str, status: str, now_ms: int) -> Deposit:
        for d in self.deposits:
            if d.hash == hash_:
                if d.status != "PROCESSING":
                    raise param_error(f"deposit is already {d.status}")
                d.status, d.updatedAt = status, now_ms
                if status == "SUCCESS":
                    self.world.balances.credit(str(d.uid), d.toAccount, d.currency, Decimal(d.amount))
                return d
        raise param_error("no deposit with this hash")

    # -- seed / dump / load --------------------------------------------------------------------
    def seed(self, rng: random.Random) -> None:
        accts = self.world.accounts
        now = self.world.anchor_ms
        day = 86_400_000
        subs = accts.sub_accounts(accts.broker_uid)
        for _ in range(60):   # 90 days of deposits to sub-accounts (history only: balances are seeded)
            sub = rng.choice(subs)
            cur = rng.choice(["USDT", "USDT", "USDT", "BTC", "ETH"])
            amount = {"USDT": Decimal(rng.randint(10, 5000)), "BTC": Decimal(rng.randint(1, 300)) / 1000,
                      "ETH": Decimal(rng.randint(1, 400)) / 100}[cur]
            status = rng.choices(DEPOSIT_STATUSES, weights=[1, 12, 1])[0]
            t = now - rng.randint(1, 90 * 24 * 60) * 60_000
            inner = rng.random() < 0.1
            h = _hash(rng)
            chain = "" if inner else rng.choice(CHAINS[cur])
            self.deposits.append(Deposit(
                int(sub.uid), h, f"sandbox-user-{rng.randint(1000, 9999)}@example.invalid" if inner else _address(rng, chain),
                "", fmt(amount), "0", cur, inner, h + ("@inner" if inner else f"@{chain}"), status, "", chain,
                t, t + (rng.randint(1, 60) * 60_000 if status != "PROCESSING" else 0)))
        self.deposits.sort(key=lambda d: d.createdAt)
        for _ in range(15):
            sub = rng.choice(subs)
            cur = rng.choice(["USDT", "USDT", "BTC"])
            chain = rng.choice(CHAINS[cur])
            amount = Decimal(rng.randint(20, 2000)) if cur == "USDT" else Decimal(rng.randint(1, 100)) / 1000
            status = rng.choices(WITHDRAW_STATUSES, weights=[1, 1, 1, 10, 1])[0]
            t = now - rng.randint(1, 90 * 24 * 60) * 60_000
            wid = "%08x%016x" % (t // 1000, rng.getrandbits(64))
            self.withdrawals[wid] = Withdrawal(
                wid, int(sub.uid), chain, _hash(rng) + f"@{chain}" if status == "SUCCESS" else "", fmt(amount), "",
                "1" if cur == "USDT" else "0.0005", _address(rng, chain), "", False, cur, status, t,
                t + rng.randint(1, 120) * 60_000)
        broker = accts.broker_uid
        for i in range(8):
            sub = rng.choice(subs)
            t = now - rng.randint(1, 60) * day
            out = rng.random() < 0.7
            amt = Decimal(rng.randint(10, 1000))
            oid = "%08x%016x" % (t // 1000, rng.getrandbits(64))
            ends = self._ends(broker, "OUT" if out else "IN", "MAIN", sub.uid, rng.choice(["MAIN", "TRADE"]))
            self.transfers[oid] = Transfer(oid, f"sandbox-seed-{i:03d}", broker, "USDT", fmt(amt), *ends, "SUCCESS",
                                           None, t)
            self.by_client_oid[(broker, f"sandbox-seed-{i:03d}")] = oid

    def to_json(self) -> dict:
        return {"transfers": [asdict(t) for t in self.transfers.values()],
                "deposits": [asdict(d) for d in self.deposits],
                "withdrawals": [asdict(w) for w in self.withdrawals.values()]}

    def load(self, data: dict) -> None:
        self.transfers = {t["orderId"]: Transfer(**t) for t in data.get("transfers", [])}
        self.by_client_oid = {(t.brokerUid, t.clientOid): t.orderId for t in self.transfers.values()}
        self.deposits = [Deposit(**d) for d in data.get("deposits", [])]
        self.withdrawals = {w["id"]: Withdrawal(**w) for w in data.get("withdrawals", [])}


def _funding(world) -> FundingSection:
    return world.section("funding")


def transfer_view(t: Transfer) -> dict:
    return {"orderId": t.orderId, "currency": t.currency, "amount": t.amount, "fromUid": t.fromUid,
            "fromAccountType": t.fromAccountType, "fromAccountTag": "DEFAULT", "toUid": t.toUid,
            "toAccountType": t.toAccountType, "toAccountTag": "DEFAULT", "status": t.status,
            "reason": t.reason, "createdAt": t.createdAt}


def deposit_view(d: Deposit) -> dict:
    return {"uid": d.uid, "hash": d.hash, "address": d.address, "memo": d.memo, "amount": d.amount,
            "fee": d.fee, "currency": d.currency, "isInner": d.isInner, "walletTxId": d.walletTxId,
            "status": d.status, "remark": d.remark, "chain": d.chain, "createdAt": d.createdAt,
            "updatedAt": d.updatedAt}


# -- 3.8 / 3.9 transfers --------------------------------------------------------------------------
@route("broker", "POST", "/api/v1/broker/nd/transfer", permission="General")
def transfer(req, world):
    broker = require_broker(req)
    b = req.body
    sub = own_sub(req, world, b["specialUid"])
    amount = parse_amount(b["amount"], "amount")
    if -amount.as_tuple().exponent > MAX_DECIMALS:
        raise param_error(f"amount has more than {MAX_DECIMALS} decimal places")
    currency = b["currency"].upper()
    if not b["clientOid"]:
        raise param_error("clientOid is required")
    t = _funding(world).transfer(broker.uid, currency=currency, amount=amount, direction=b["direction"],
                                 account_type=b["accountType"], special_uid=sub.uid,
                                 special_account_type=b["specialAccountType"], client_oid=b["clientOid"],
                                 now_ms=req.now_ms)
    return {"orderId": t.orderId}


@route("broker", "GET", "/api/v3/broker/nd/transfer/detail", permission="General")
def transfer_detail(req, world):
    broker = require_broker(req)
    t = _funding(world).transfers.get(req.args["orderId"])
    if t is None or t.brokerUid != broker.uid:
        raise param_error("orderId is invalid: no such transfer")
    return transfer_view(t)


# -- 3.10 / 3.11 deposits, 3.12 withdrawals -------------------------------------------------------
def _broker_sub_uids(world, broker_uid) -> set[int]:
    return {int(a.uid) for a in world.accounts.sub_accounts(broker_uid)}


@route("broker", "GET", "/api/v1/asset/ndbroker/deposit/list", permission="General")
def deposit_list(req, world):
    broker = require_broker(req)
    a = req.args
    limit = int(a.get("limit", 1000))
    if not 1 <= limit <= 1000:
        raise param_error("limit must be between 1 and 1000")
    if a.get("status") and a["status"] not in DEPOSIT_STATUSES:
        raise param_error("status is invalid")
    uids = _broker_sub_uids(world, broker.uid)
    start = int(a["startTimestamp"]) if a.get("startTimestamp") else None
    end = int(a["endTimestamp"]) if a.get("endTimestamp") else None
    out = []
    for d in sorted(_funding(world).deposits, key=lambda d: d.createdAt, reverse=True):
        if d.uid not in uids:
            continue
        if a.get("currency") and d.currency != a["currency"].upper():
            continue
        if a.get("status") and d.status != a["status"]:
            continue
        if a.get("hash") and d.hash != a["hash"]:
            continue
        if start is not None and d.createdAt < start:
            continue
        if end is not None and d.createdAt > end:
            continue
        out.append(deposit_view(d))
        if len(out) >= limit:
            break
    return out


@route("broker", "GET", "/api/v3/broker/nd/deposit/detail", permission="General")
def deposit_detail(req, world):
    broker = require_broker(req)
    uids = _broker_sub_uids(world, broker.uid)
    for d in _funding(world).deposits:
        if d.hash == req.args["hash"] and d.currency == req.args["currency"].upper() and d.uid in uids:
            v = deposit_view(d)
            return {k: v[k] for k in ("chain", "hash", "walletTxId", "uid", "updatedAt", "amount", "memo", "fee",
                                      "address", "remark", "isInner", "currency", "status", "createdAt")}
    raise param_error("no deposit with this currency and hash")


@route("broker", "GET", "/api/v3/broker/nd/withdraw/detail", permission="General")
def withdraw_detail(req, world):
    broker = require_broker(req)
    w = _funding(world).withdrawals.get(req.args["withdrawalId"])
    if w is None or w.uid not in _broker_sub_uids(world, broker.uid):
        raise param_error("withdrawalId is invalid: no such withdrawal")
    return {"id": w.id, "chain": w.chain, "walletTxId": w.walletTxId, "uid": w.uid, "updatedAt": w.updatedAt,
            "amount": w.amount, "memo": w.memo, "fee": w.fee, "address": w.address, "remark": w.remark,
            "isInner": w.isInner, "currency": w.currency, "status": w.status, "createdAt": w.createdAt}


# -- control: make a deposit arrive ------------------------------------------------------------
@route(ANY_FAMILY, "POST", "/_sandbox/deposits", auth="none", validate=False)
def control_deposit(req, world):
    """A deposit arrives. To a deposit address the wallet section handed out (with its memo on memo
    chains), it is credited to that address's account (uid, chain and MAIN/TRADE taken from it);
    otherwise to `uid`'s MAIN account."""
    b = req.body or {}
    uid = str(b.get("uid", ""))
    currency = str(b.get("currency", "USDT")).upper()
    chain, to_account, memo = b.get("chain"), "MAIN", str(b.get("memo") or "")
    owner = (world.section("wallet").owner_of(b["address"], currency, memo)
             if b.get("address") and world.has_section("wallet") else None)
    if owner is not None:
        if b.get("uid") is not None and uid != str(owner.uid):
            raise param_error("uid does not own this deposit address")
        uid, chain, to_account, memo = str(owner.uid), owner.chainId, owner.to, owner.memo
    if uid not in world.accounts.accounts:
        raise param_error("uid: no such account")
    status = b.get("status", "SUCCESS")
    if status not in DEPOSIT_STATUSES:
        raise param_error("status must be PROCESSING, SUCCESS or FAILURE")
    d = _funding(world).add_deposit(uid, currency, parse_amount(b.get("amount"), "amount"), chain=chain,
                                    address=b.get("address"), status=status, now_ms=world.clock.now_ms(),
                                    inner=bool(b.get("isInner", False)), memo=memo, to_account=to_account)
    return deposit_view(d)


@route(ANY_FAMILY, "POST", "/_sandbox/deposits/status", auth="none", validate=False)
def control_deposit_status(req, world):
    """Finish a PROCESSING deposit: {"hash", "status": "SUCCESS"|"FAILURE"}."""
    b = req.body or {}
    if b.get("status") not in ("SUCCESS", "FAILURE"):
        raise param_error("status must be SUCCESS or FAILURE")
    return deposit_view(_funding(world).set_deposit_status(str(b.get("hash")), b["status"], world.clock.now_ms()))
