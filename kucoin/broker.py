"""The sixteen ND-broker operations (spec section 3), on the broker host, signed with the
broker's own key and sent with the broker's partner headers."""
from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Iterator, Sequence

from . import validation as v
from . import weights as w
from .models import (ApiKey, BrokerInfo, Deposit, KycStatus, Page, SubAccount, TransferDetail, Withdrawal)
from .paging import every_page, page_of, to_ms
from .transport import Transport

TRADE_TYPES = {"spot": "1", "futures": "2", "1": "1", "2": "2"}
PERMISSIONS = ("general", "spot", "futures")
ACCOUNT_TYPES = ("MAIN", "TRADE")
DIRECTIONS = ("IN", "OUT")
IDENTITY_TYPES = ("idcard", "drivinglicense", "passport", "bvn")
MAX_PAGE_SIZE = 100


def _trade_type(value: str | int) -> str:
    t = TRADE_TYPES.get(str(value).lower())
    if t is None:
        raise v.ValidationError("tradeType must be 'spot' (1) or 'futures' (2)", field="tradeType")
    return t


def _permissions(perms: Sequence[str]) -> list[str]:
    out = [str(p).lower() for p in perms]
    for p in out:
        v.one_of(p, PERMISSIONS, "permissions")
    return out


def _page_size(size: int) -> int:
    if not 1 <= int(size) <= MAX_PAGE_SIZE:
        raise v.ValidationError(f"page_size must be between 1 and {MAX_PAGE_SIZE}", field="pageSize")
    return int(size)


class BrokerAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    # 1
    def get_info(self, begin: date | str, end: date | str, trade_type: str = "spot") -> BrokerInfo:
        b, e = v.date_span(begin, end)
        data = self._t.call(w.BROKER_INFO, query=[("begin", b), ("end", e), ("tradeType", _trade_type(trade_type))])
        return BrokerInfo.parse(data or {})

    # 2
    def add_sub_account(self, account_name: str) -> SubAccount:
        v.required(account_name, "accountName")
        data = self._t.call(w.BROKER_ADD_SUB_ACCOUNT, body={"accountName": account_name})
        return SubAccount.parse(data)

    # 3
    def get_sub_accounts(self, page: int = 1, page_size: int = 20, uid: str | None = None) -> Page[SubAccount]:
        data = self._t.call(w.BROKER_GET_SUB_ACCOUNTS, query=[("uid", uid), ("currentPage", int(page)),
                                                              ("pageSize", _page_size(page_size))])
        return page_of(data or {}, SubAccount.parse)

    def iter_sub_accounts(self, page_size: int = 100) -> Iterator[SubAccount]:
        return every_page(lambda page: self.get_sub_accounts(page=page, page_size=page_size))

    def get_sub_account(self, uid: str) -> SubAccount | None:
        p = self.get_sub_accounts(uid=uid, page=1, page_size=1)
        return p.items[0] if p.items else None

    def find_sub_account_by_name(self, account_name: str, page_size: int = 100) -> SubAccount | None:
        """After an unknown outcome of add_sub_account: was it created? KuCoin filters by uid only, so this
        reads the first page, then the others from the last back (a new sub-account is listed last)."""
        first = self.get_sub_accounts(page=1, page_size=page_size)
        pages = itertools.chain([first], (self.get_sub_accounts(page=n, page_size=page_size) for n in range(first.total_page, 1, -1)))
        for page in pages:
            for sub in page.items:
                if sub.account_name == account_name:
                    return sub
        return None

    # 4
    def add_api_key(self, uid: str, passphrase: str, permissions: Sequence[str], label: str,
                    ip_whitelist: Sequence[str] = ()) -> ApiKey:
        body = {"uid": str(v.required(uid, "uid")), "passphrase": v.required(passphrase, "passphrase"),
                "ipWhitelist": v.ip_whitelist(ip_whitelist), "permissions": _permissions(permissions),
                "label": v.label(label)}
        return ApiKey.parse(self._t.call(w.BROKER_ADD_API_KEY, body=body))

    # 5
    def get_api_keys(self, uid: str, api_key: str | None = None) -> list[ApiKey]:
        data = self._t.call(w.BROKER_GET_API_KEYS, query=[("uid", v.required(uid, "uid")), ("apiKey", api_key)])
        return [ApiKey.parse(x) for x in data or []]

    # 6
    def modify_api_key(self, uid: str, api_key: str, permissions: Sequence[str], label: str,
                       ip_whitelist: Sequence[str] = ()) -> ApiKey:
        body = {"uid": str(v.required(uid, "uid")), "apiKey": v.required(api_key, "apiKey"),
                "ipWhitelist": v.ip_whitelist(ip_whitelist), "permissions": _permissions(permissions),
                "label": v.label(label)}
        return ApiKey.parse(self._t.call(w.BROKER_MODIFY_API_KEY, body=body))

    # 7
    def delete_api_key(self, uid: str, api_key: str) -> bool:
        data = self._t.call(w.BROKER_DELETE_API_KEY, query=[("uid", v.required(uid, "uid")),
                                                            ("apiKey", v.required(api_key, "apiKey"))])
        return bool(data)

    # 8
    def transfer(self, *, currency: str, amount: Decimal | str, direction: str, account_type: str,
                 special_uid: str, special_account_type: str, client_oid: str) -> str:
        """Move funds between the broker's account and a sub-account; returns KuCoin's orderId.

        direction OUT: broker -> sub-account; IN: sub-account -> broker."""
        if not client_oid or len(client_oid) > 128:
            raise v.ValidationError("clientOid must be 1 to 128 characters long", field="clientOid")
        body = {"currency": v.required(currency, "currency"), "amount": v.positive_decimal(amount, "amount"),
                "direction": v.one_of(direction, DIRECTIONS, "direction"),
                "accountType": v.one_of(account_type, ACCOUNT_TYPES, "accountType"),
                "specialUid": str(v.required(special_uid, "specialUid")),
                "specialAccountType": v.one_of(special_account_type, ACCOUNT_TYPES, "specialAccountType"),
                "clientOid": client_oid}
        data = self._t.call(w.BROKER_TRANSFER, body=body)
        return str(data["orderId"])

    # 9
    def get_transfer(self, order_id: str) -> TransferDetail:
        data = self._t.call(w.BROKER_TRANSFER_DETAIL, query=[("orderId", v.required(order_id, "orderId"))])
        return TransferDetail.parse(data)

    # 10
    def get_deposits(self, *, currency: str | None = None, status: str | None = None, hash: str | None = None,
                     start: datetime | int | None = None, end: datetime | int | None = None,
                     limit: int = 1000) -> list[Deposit]:
        if not 1 <= int(limit) <= 1000:
            raise v.ValidationError("limit must be between 1 and 1000", field="limit")
        data = self._t.call(w.BROKER_DEPOSIT_LIST, query=[
            ("currency", currency), ("status", status), ("hash", hash), ("startTimestamp", to_ms(start)),
            ("endTimestamp", to_ms(end)), ("limit", int(limit))])
        return [Deposit.parse(x) for x in data or []]

    def iter_deposits(self, *, currency: str | None = None, status: str | None = None,
                      start: datetime | int | None = None, end: datetime | int | None = None,
                      limit: int = 1000) -> Iterator[Deposit]:
        """Every deposit in the window: the list has no pages, so walk back in time from `end`
        (results come newest first) until a batch is shorter than `limit`."""
        end_ms = to_ms(end)
        seen: set[tuple] = set()
        while True:
            batch = self.get_deposits(currency=currency, status=status, start=start, end=end_ms, limit=limit)
            fresh = [d for d in batch if (d.hash, d.wallet_tx_id, d.uid, d.created_at) not in seen]
            for d in fresh:
                seen.add((d.hash, d.wallet_tx_id, d.uid, d.created_at))
                yield d
            if len(batch) < limit or not fresh:
                return
            end_ms = min(int(d.raw.get("createdAt")) for d in batch)

    # 11
    def get_deposit(self, currency: str, hash: str) -> Deposit:
        data = self._t.call(w.BROKER_DEPOSIT_DETAIL, query=[("currency", v.required(currency, "currency")),
                                                            ("hash", v.required(hash, "hash"))])
        return Deposit.parse(data)

    # 12
    def get_withdrawal(self, withdrawal_id: str) -> Withdrawal:
        data = self._t.call(w.BROKER_WITHDRAW_DETAIL,
                            query=[("withdrawalId", v.required(withdrawal_id, "withdrawalId"))])
        return Withdrawal.parse(data)

    # 13
    def get_rebate_download_url(self, begin: date | str, end: date | str, trade_type: str = "spot") -> str:
        b, e = v.date_span(begin, end)
        data = self._t.call(w.BROKER_REBATE_DOWNLOAD,
                            query=[("begin", b), ("end", e), ("tradeType", _trade_type(trade_type))])
        return str(data["url"])

    # 14
    def submit_kyc(self, *, client_uid: str, first_name: str, last_name: str, issue_country: str,
                   birth_date: date | str, identity_type: str, identity_number: str, expire_date: date | str,
                   front_photo: str | None, backend_photo: str | None, face_photo: str) -> None:
        v.one_of(identity_type, IDENTITY_TYPES, "identityType")
        if identity_type != "bvn":
            v.required(front_photo, "frontPhoto")
        if identity_type not in ("passport", "bvn"):
            v.required(backend_photo, "backendPhoto")
        fmt = lambda d: d.isoformat() if isinstance(d, date) else str(d)  # noqa: E731
        body = {"clientUid": str(v.required(client_uid, "clientUid")), "firstName": v.required(first_name, "firstName"),
                "lastName": v.required(last_name, "lastName"),
                "issueCountry": v.required(issue_country, "issueCountry"), "birthDate": fmt(birth_date),
                "expireDate": fmt(expire_date), "identityType": identity_type,
                "identityNumber": v.required(identity_number, "identityNumber"),
                "facePhoto": v.required(face_photo, "facePhoto")}
        if front_photo:
            body["frontPhoto"] = front_photo
        if backend_photo:
            body["backendPhoto"] = backend_photo
        self._t.call(w.BROKER_KYC_SUBMIT, body=body)

    # 15
    def get_kyc_status(self, client_uids: Sequence[str]) -> list[KycStatus]:
        uids = [str(u) for u in client_uids]
        if not uids:
            raise v.ValidationError("at least one clientUid is required", field="clientUids")
        data = self._t.call(w.BROKER_KYC_STATUS, query=[("clientUids", ",".join(uids))])
        return [KycStatus.parse(x) for x in data or []]

    # 16
    def get_kyc_status_page(self, page: int = 1, page_size: int = 100) -> Page[KycStatus]:
        data = self._t.call(w.BROKER_KYC_STATUS_PAGE, query=[("pageNumber", int(page)),
                                                             ("pageSize", _page_size(page_size))])
        return page_of(data or {}, KycStatus.parse)

    def iter_kyc_statuses(self, page_size: int = 100) -> Iterator[KycStatus]:
        return every_page(lambda page: self.get_kyc_status_page(page=page, page_size=page_size))
