"""The account/deposit (V3 address) and account/withdrawal endpoints on the spot host, signed with
the account's own key (a sub-account's key for its deposit address, the broker's for withdrawals).

Codes (KuCoin documents few of them; choices marked in README.md):
  260000  deposit address already exists (ccxt's note of KuCoin's answer)
  900014  Invalid chainId: the currency has no such chain (ccxt's note)
  400007  the key lacks the Withdrawal permission, or the key is a sub-account's (cannot withdraw)
  400100  bad address, memo missing, under the minimum, precision, over the quota, disabled chain,
          MAIL/PHONE withdrawals (not in the sandbox), cancel after PROCESSING, unknown withdrawalId
  200004  MAIN balance short (the balances section's code)
"""
from __future__ import annotations

from .errors import ApiError, param_error
from .money import parse_amount
from .routes import ANY_FAMILY, route
from .wallet import WalletSection, WalletWithdrawal
from .wallet_chains import (CURRENCY_CHAINS, CurrencyChain, currency_chains, known_currency, valid_address,
                            valid_memo)

DEPOSIT_TO = {"main": "MAIN", "trade": "TRADE"}
FEE_DEDUCT_TYPES = ("INTERNAL", "EXTERNAL")


def _wallet(world) -> WalletSection:
    return world.section("wallet")


def _currency_chain(currency: str | None, chain: str | None) -> CurrencyChain:
    """The rules of (currency, chain). Without a chain: the only one, else `eth` (KuCoin's default)."""
    currency = (currency or "").upper()
    if not known_currency(currency):
        raise param_error("currency is invalid")
    if not chain:
        options = currency_chains(currency)
        chain = options[0].chain_id if len(options) == 1 else "eth"
    cc = CURRENCY_CHAINS.get((currency, chain.lower()))
    if cc is None:
        raise ApiError("900014", "Invalid chainId")
    return cc


def address_view(a) -> dict:
    cc = CURRENCY_CHAINS[(a.currency, a.chainId)]
    return {"address": a.address, "memo": a.memo, "chainId": a.chainId, "to": a.to, "expirationDate": 0,
            "currency": a.currency, "contractAddress": cc.contract_address, "chainName": cc.chain.chain_name}


def withdrawal_item(w: WalletWithdrawal) -> dict:
    """One item of GET /api/v1/withdrawals."""
    return {"id": w.id, "currency": w.currency, "chain": w.chainId, "status": w.status, "address": w.address,
            "memo": w.memo, "isInner": w.isInner, "amount": w.amount, "fee": w.fee, "walletTxId": w.walletTxId,
            "createdAt": w.createdAt, "updatedAt": w.updatedAt, "remark": w.remark}


def withdrawal_detail(w: WalletWithdrawal) -> dict:
    """GET /api/v1/withdrawals/{withdrawalId}."""
    cc = CURRENCY_CHAINS[(w.currency, w.chainId)]
    return {"id": w.id, "uid": w.uid, "currency": w.currency, "chainId": w.chainId,
            "chainName": cc.chain.chain_name, "currencyName": w.currency, "status": w.status,
            "failureReason": w.failureReason, "failureReasonMsg": None, "address": w.address, "memo": w.memo,
            "isInner": w.isInner, "amount": w.amount, "fee": w.fee, "walletTxId": w.walletTxId,
            "addressRemark": None, "remark": w.remark, "createdAt": w.createdAt,
            "cancelType": "CANCELABLE" if w.status == "PROCESSING" else "NON_CANCELABLE",
            "taxes": None, "taxDescription": None, "returnStatus": "NOT_RETURN", "returnAmount": None,
            "returnCurrency": w.currency}


# -- deposit addresses (the customer's own key: a sub-account's) ------------------------------------
@route("spot", "POST", "/api/v3/deposit-address/create", permission="General")
def create_deposit_address(req, world):
    b = req.body
    cc = _currency_chain(b["currency"], b.get("chain"))
    a = _wallet(world).create_address(req.uid, cc, DEPOSIT_TO[b.get("to") or "main"], req.now_ms)
    view = address_view(a)
    del view["contractAddress"]             # not in this answer (OpenAPI)
    return view


@route("spot", "GET", "/api/v3/deposit-addresses", permission="General")
def get_deposit_addresses(req, world):
    currency = req.args["currency"].upper()
    chain = (req.args.get("chain") or "").lower() or None
    if not known_currency(currency):
        return []                           # "If the returned data is empty, add the address first"
    return [address_view(a) for a in _wallet(world).addresses_of(req.uid, currency, chain)]


# -- withdrawals (the broker's own key) ---------------------------------------------------------------
@route("spot", "GET", "/api/v1/withdrawals/quotas", permission="General")
def withdrawal_quotas(req, world):
    cc = _currency_chain(req.args["currency"], req.args.get("chain"))
    return _wallet(world).quota_view(req.uid, cc, req.now_ms)


def _check_withdrawal(req, world) -> dict:
    """Everything KuCoin refuses before it accepts a withdrawal; -> the normalised request."""
    if req.account.broker_uid is not None:
        raise ApiError("400007", "Sub-accounts cannot withdraw; transfer the funds to the broker account first")
    b = req.body
    cc = _currency_chain(b["currency"], b.get("chain") or "eth")
    withdraw_type = b["withdrawType"]
    if withdraw_type in ("MAIL", "PHONE"):
        raise param_error(f"withdrawType {withdraw_type} is not supported by the sandbox")
    if fee_type := b.get("feeDeductType"):
        if fee_type not in FEE_DEDUCT_TYPES:
            raise param_error("feeDeductType must be INTERNAL or EXTERNAL")
    if not cc.withdraw_enabled:
        raise param_error(f"Withdrawals of {cc.currency} on {cc.chain_id} are suspended: {cc.reason}")
    to_address = b["toAddress"]
    if withdraw_type == "UID":
        target = world.accounts.accounts.get(to_address)
        if target is None or to_address == req.uid:
            raise param_error("Incorrect withdrawal address: no such uid")
    elif not valid_address(cc.chain, to_address):
        raise param_error(f"Incorrect withdrawal address for chain {cc.chain_id}")
    memo = b.get("memo") or ""
    if withdraw_type == "ADDRESS" and cc.chain.needs_memo and not valid_memo(cc.chain, memo):
        raise param_error(f"memo is required for chain {cc.chain_id}" if not memo else "memo is invalid")
    amount = parse_amount(b["amount"], "amount")
    if -amount.as_tuple().exponent > cc.precision:
        raise param_error(f"amount precision: at most {cc.precision} decimal places for {cc.currency}")
    if amount < cc.min_size:
        raise param_error("The withdrawal amount is below the minimum requirement.")
    return dict(amount=amount, to_address=to_address, withdraw_type=withdraw_type, memo=memo,
                is_inner=bool(b.get("isInner")), remark=b.get("remark") or "", fee_deduct_type=fee_type or None,
                cc=cc)


@route("spot", "POST", "/api/v3/withdrawals", permission="Withdrawal")
def withdraw(req, world):
    checked = _check_withdrawal(req, world)
    cc = checked.pop("cc")
    w = _wallet(world).withdraw(req.uid, cc, now_ms=req.now_ms, **checked)
    return {"withdrawalId": w.id}


@route("spot", "DELETE", "/api/v1/withdrawals/{withdrawalId}", permission="Withdrawal")
def cancel_withdrawal(req, world):
    _wallet(world).cancel(req.uid, req.path_params["withdrawalId"], req.now_ms)
    return None                             # KuCoin's example answers "data": null


@route("spot", "GET", "/api/v1/withdrawals/{withdrawalId}", permission="General")
def withdrawal_by_id(req, world):
    wallet = _wallet(world)
    wallet.advance(req.now_ms)
    return withdrawal_detail(wallet.own(req.uid, req.path_params["withdrawalId"]))


@route("spot", "GET", "/api/v1/withdrawals", permission="General")
def withdrawal_history(req, world):
    a = req.args
    currency = a["currency"].upper()
    start = int(a["startAt"]) if a.get("startAt") else None
    end = int(a["endAt"]) if a.get("endAt") else None
    page, size = int(a.get("currentPage") or 1), int(a.get("pageSize") or 50)
    if page < 1:
        raise param_error("currentPage must be at least 1")
    wallet = _wallet(world)
    wallet.advance(req.now_ms)
    rows = [w for w in sorted(wallet.withdrawals.values(), key=lambda w: (w.createdAt, w.id), reverse=True)
            if w.uid == int(req.uid) and w.currency == currency
            and (not a.get("status") or w.status == a["status"])
            and (start is None or w.createdAt >= start) and (end is None or w.createdAt <= end)]
    total = len(rows)
    return {"currentPage": page, "pageSize": size, "totalNum": total, "totalPage": -(-total // size),
            "items": [withdrawal_item(w) for w in rows[(page - 1) * size:page * size]]}


# -- control ----------------------------------------------------------------------------------------
@route(ANY_FAMILY, "POST", "/_sandbox/withdrawals/status", auth="none", validate=False)
def control_withdrawal_status(req, world):
    """Move a running withdrawal on now: {"id", "status": "WALLET_PROCESSING"|"SUCCESS"|"FAILURE"}."""
    b = req.body or {}
    if b.get("status") not in ("WALLET_PROCESSING", "SUCCESS", "FAILURE"):
        raise param_error("status must be WALLET_PROCESSING, SUCCESS or FAILURE")
    w = _wallet(world).set_status(str(b.get("id")), b["status"], world.clock.now_ms())
    return withdrawal_detail(w)

