"""KYC of sub-accounts submitted by the broker (kucoin-api.md 3.14).

A submission starts in PROCESS and is decided ``REVIEW_SECONDS`` of sandbox time later (advance
the clock to see it): PASS, or REJECT when the identity number contains "REJECT" (a made-up,
documented switch so a demo and a test can produce a rejection on purpose).
"""
from __future__ import annotations

import base64
import binascii
import math
import random
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from .errors import param_error
from .ndbroker import own_sub, require_broker
from .routes import route
from .world import Section, register_section

REVIEW_SECONDS = 60
MAX_PHOTO_BYTES = 2 * 1024 * 1024
REJECT_REASON = "frontPhoto:Picture is not clear/covered/incomplete"


@dataclass
class KycRecord:
    clientUid: int
    status: str            # PROCESS, PASS, REJECT
    rejectReason: str | None
    submittedAt: int
    decideAt: int
    willReject: bool
    firstName: str
    lastName: str
    issueCountry: str
    identityType: str


@register_section
class KycSection(Section):
    name = "kyc"
    order = 40

    def __init__(self, world):
        super().__init__(world)
        self.records: dict[int, KycRecord] = {}

    def advance(self, now_ms: int) -> None:
        """Decide every submission whose review time has come."""
        for r in self.records.values():
            if r.status == "PROCESS" and now_ms >= r.decideAt:
                r.status = "REJECT" if r.willReject else "PASS"
                r.rejectReason = REJECT_REASON if r.willReject else None

    def on_time_advanced(self, now_ms: int) -> None:
        self.advance(now_ms)

    def status_of(self, uid: int) -> dict:
        r = self.records.get(uid)
        if r is None:
            return {"clientUid": uid, "status": "NONE", "rejectReason": None}
        return {"clientUid": uid, "status": r.status, "rejectReason": r.rejectReason}

    def seed(self, rng: random.Random) -> None:
        accts = self.world.accounts
        now = self.world.anchor_ms
        subs = accts.sub_accounts(accts.broker_uid)
        for sub in subs[:18]:
            status = rng.choices(["PASS", "PROCESS", "REJECT"], weights=[12, 3, 3])[0]
            t = max(sub.created_at, now - rng.randint(1, 30) * 86_400_000)
            self.records[int(sub.uid)] = KycRecord(
                int(sub.uid), status, REJECT_REASON if status == "REJECT" else None, t,
                t + REVIEW_SECONDS * 1000 if status != "PROCESS" else now + rng.randint(2, 4) * 86_400_000,
                status == "REJECT", f"Sandbox{sub.uid[-3:]}", "Customer", rng.choice(["JP", "DE", "BR", "NG", "FR"]),
                rng.choice(["idcard", "passport", "drivinglicense"]))

    def to_json(self) -> list[dict]:
        return [asdict(r) for r in sorted(self.records.values(), key=lambda r: r.clientUid)]

    def load(self, data: list[dict]) -> None:
        self.records = {int(r["clientUid"]): KycRecord(**r) for r in data}


def _kyc(world) -> KycSection:
    return world.section("kyc")


def _check_date(text: str, field: str) -> None:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise param_error(f"{field} must be a date yyyy-MM-dd") from None


def _check_photo(value, field: str, required: bool) -> None:
    if not value:
        if required:
            raise param_error(f"{field} is required")
        return
    data = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise param_error(f"{field} must be a base64 image") from None
    if len(raw) > MAX_PHOTO_BYTES:
        raise param_error(f"{field} must not exceed 2 MB")


@route("broker", "POST", "/api/kyc/ndBroker/proxyClient/submit", permission="General", pool="broker", weight=1,
       lenient=("frontPhoto", "backendPhoto"))
def submit_kyc(req, world):
    require_broker(req)
    b = req.body
    sub = own_sub(req, world, b["clientUid"])
    kyc = _kyc(world)
    kyc.advance(req.now_ms)
    current = kyc.records.get(int(sub.uid))
    if current is not None and current.status in ("PROCESS", "PASS"):
        raise param_error(f"KYC of this sub-account is already {current.status}")
    _check_date(b["birthDate"], "birthDate")
    _check_date(b["expireDate"], "expireDate")
    kind = b["identityType"]
    _check_photo(b.get("frontPhoto"), "frontPhoto", kind != "bvn")
    _check_photo(b.get("backendPhoto"), "backendPhoto", kind not in ("passport", "bvn"))
    _check_photo(b.get("facePhoto"), "facePhoto", True)
    kyc.records[int(sub.uid)] = KycRecord(int(sub.uid), "PROCESS", None, req.now_ms,
                                          req.now_ms + REVIEW_SECONDS * 1000, "REJECT" in b["identityNumber"].upper(),
                                          b["firstName"], b["lastName"], b["issueCountry"], kind)
    return None


@route("broker", "GET", "/api/kyc/ndBroker/proxyClient/status/list", permission="General", pool="broker", weight=1)
def kyc_status(req, world):
    require_broker(req)
    kyc = _kyc(world)
    kyc.advance(req.now_ms)
    out = []
    for part in req.args["clientUids"].split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise param_error(f"clientUids contains an invalid uid: {part}")
        own_sub(req, world, part)
        out.append(kyc.status_of(int(part)))
    return out


@route("broker", "GET", "/api/kyc/ndBroker/proxyClient/status/page", permission="General", pool="broker", weight=1)
def kyc_status_page(req, world):
    broker = require_broker(req)
    kyc = _kyc(world)
    kyc.advance(req.now_ms)
    page = int(req.args.get("pageNumber", 1))
    size = int(req.args.get("pageSize", 100))
    if page < 1 or not 1 <= size <= 100:
        raise param_error("pageNumber must be >= 1 and pageSize between 1 and 100")
    mine = {int(a.uid) for a in world.accounts.sub_accounts(broker.uid)}
    recs = [r for r in sorted(kyc.records.values(), key=lambda r: r.submittedAt, reverse=True) if r.clientUid in mine]
    total = len(recs)
    return {"currentPage": page, "pageSize": size, "totalNum": total,
            "totalPage": math.ceil(total / size) if total else 0,
            "items": [kyc.status_of(r.clientUid) for r in recs[(page - 1) * size: page * size]]}
