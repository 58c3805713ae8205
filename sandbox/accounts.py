"""Accounts and API keys: the broker's main account, its sub-accounts, and every key.

Uids are unique exchange-wide (one counter); sub-account names are unique exchange-wide too, so
the section also holds a few names "taken by other users" to make a clash testable.
Partner credentials: one set per product; the futures host checks the futures set, the spot and
broker hosts the spot set (kucoin-api.md 2.1).
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from .world import Section, register_section

# Permission names as KuCoin writes them in responses (kucoin-api.md 3.4). Requests may spell
# them in any case; the extra four are accepted and kept but never shown by GET .../apikey.
SHOWN_PERMISSIONS = ("General", "Spot", "Futures")
KNOWN_PERMISSIONS = SHOWN_PERMISSIONS + ("Margin", "InnerTransfer", "Transfer", "Earn")
_CANON = {p.lower(): p for p in KNOWN_PERMISSIONS}


def canonical_permission(name: str) -> str | None:
    return _CANON.get(str(name).lower())


@dataclass
class Account:
    uid: str
    name: str
    is_broker: bool
    created_at: int
    level: int = 0
    broker_uid: str | None = None       # the broker that created this sub-account


@dataclass
class ApiKey:
    api_key: str
    uid: str
    secret: str
    passphrase: str
    permissions: list[str]
    ip_whitelist: list[str]
    label: str
    created_at: int
    version: int = 3


@dataclass
class Partner:
    partner: str
    broker_key: str
    broker_name: str
    product: str            # "spot" | "futures"
    broker_uid: str


@register_section
class AccountsSection(Section):
    name = "accounts"
    order = 10

    def __init__(self, world):
        super().__init__(world)
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, ApiKey] = {}
        self.partners: dict[tuple[str, str], Partner] = {}     # (product, partner id) -> Partner
        self.taken_names: set[str] = set()                      # names used elsewhere on the exchange
        self.next_uid = 100_000_000
        self.broker_uid: str = ""

    # -- creation ----------------------------------------------------------------------------
    def new_uid(self) -> str:
        self.next_uid += 1
        return str(self.next_uid)

    def name_taken(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in self.taken_names or any(a.name.lower() == lowered for a in self.accounts.values())

    def add_account(self, name: str, *, is_broker: bool = False, broker_uid: str | None = None,
                    created_at: int | None = None, level: int = 0) -> Account:
        acc = Account(self.new_uid(), name, is_broker,
                      created_at if created_at is not None else self.world.clock.now_ms(), level, broker_uid)
        self.accounts[acc.uid] = acc
        return acc

    def new_key_material(self, rng: random.Random) -> tuple[str, str]:
        """(api key, secret): obviously fake, 24-character key as on the live site."""
        api_key = "sandbox" + "%017x" % rng.getrandbits(68)
        secret = "sandbox-secret-%032x" % rng.getrandbits(128)
        return api_key, secret

    def add_key(self, uid: str, *, passphrase: str, permissions: list[str], ip_whitelist: list[str],
                label: str, rng: random.Random | None = None, created_at: int | None = None) -> ApiKey:
        api_key, secret = self.new_key_material(rng or self.world.rng)
        while api_key in self.keys:
            api_key, secret = self.new_key_material(rng or self.world.rng)
        key = ApiKey(api_key, uid, secret, passphrase, list(permissions), list(ip_whitelist), label,
                     created_at if created_at is not None else self.world.clock.now_ms())
        self.keys[api_key] = key
        return key

    # -- reads -------------------------------------------------------------------------------
    @property
    def broker(self) -> Account:
        return self.accounts[self.broker_uid]

    def broker_key(self) -> ApiKey:
        return next(k for k in self.keys.values() if k.uid == self.broker_uid)

    def sub_accounts(self, broker_uid: str) -> list[Account]:
        return [a for a in self.accounts.values() if a.broker_uid == broker_uid]

    def keys_of(self, uid: str) -> list[ApiKey]:
        return [k for k in self.keys.values() if k.uid == uid]

    def partner(self, product: str, partner_id: str) -> Partner | None:
        return self.partners.get((product, partner_id))

    def partners_of(self, broker_uid: str) -> dict[str, Partner]:
        return {p.product: p for p in self.partners.values() if p.broker_uid == broker_uid}

    def credentials(self) -> dict:
        """The seeded broker's made-up credentials, as the CLI prints them and the fixture returns them."""
        key = self.broker_key()
        parts = self.partners_of(self.broker_uid)
        return {
            "uid": self.broker_uid,
            "api_key": key.api_key, "api_secret": key.secret, "api_passphrase": key.passphrase,
            "key_version": str(key.version),
            "broker_name": parts["spot"].broker_name,
            "partner": parts["spot"].partner, "broker_key": parts["spot"].broker_key,
            "futures_partner": parts["futures"].partner, "futures_broker_key": parts["futures"].broker_key,
        }

    # -- seed / dump / load ------------------------------------------------------------------
    def seed(self, rng: random.Random) -> None:
        now = self.world.anchor_ms
        day = 86_400_000
        tag = "%06x" % rng.getrandbits(24)
        broker = self.add_account(f"sandbox-broker-{tag}", is_broker=True, created_at=now - 400 * day, level=2)
        self.broker_uid = broker.uid
        # the broker's own key may withdraw (KuCoin's "Withdrawal" permission); ND sub-account keys never can
        self.add_key(broker.uid, passphrase=f"sandbox-pass-{tag}",
                     permissions=["General", "Spot", "Futures", "Withdrawal"],
                     ip_whitelist=[], label="sandbox broker key", rng=rng, created_at=now - 400 * day)
        name = f"SANDBOXBROKER{tag.upper()}"
        self.partners[("spot", f"sandbox-partner-spot-{tag}")] = Partner(
            f"sandbox-partner-spot-{tag}", "sandbox-brokerkey-spot-%024x" % rng.getrandbits(96), name, "spot", broker.uid)
        self.partners[("futures", f"sandbox-partner-futures-{tag}")] = Partner(
            f"sandbox-partner-futures-{tag}", "sandbox-brokerkey-futures-%024x" % rng.getrandbits(96), name,
            "futures", broker.uid)
        # names other users of the exchange already hold
        self.taken_names = {"taken-elsewhere-001", "taken-elsewhere-002", "demo", "test"}
        # a few dozen customers, created over the past year, some with keys
        for i in range(1, 31):
            created = now - rng.randint(2, 360) * day - rng.randint(0, day // 1000) * 1000
            sub = self.add_account(f"sandbox-cust-{i:04d}", broker_uid=broker.uid, created_at=created,
                                   level=rng.choice([0, 0, 0, 1, 2]))
            for k in range(rng.choice([0, 1, 1, 2])):
                perms = ["General"] + rng.sample(["Spot", "Futures"], rng.randint(1, 2))
                ips = [] if rng.random() < 0.5 else [
                    f"203.0.113.{rng.randint(1, 254)}" for _ in range(rng.randint(1, 3))]
                self.add_key(sub.uid, passphrase=f"sandbox-sub-pass-{i:04d}-{k}", permissions=perms,
                             ip_whitelist=ips, label=f"desk key {i:04d}-{k}", rng=rng,
                             created_at=created + rng.randint(1, 100) * 60_000)

    def to_json(self) -> dict:
        return {
            "brokerUid": self.broker_uid,
            "nextUid": self.next_uid,
            "takenNames": sorted(self.taken_names),
            "accounts": [asdict(a) for a in self.accounts.values()],
            "keys": [asdict(k) for k in self.keys.values()],
            "partners": [asdict(p) for p in self.partners.values()],
        }

    def load(self, data: dict) -> None:
        self.broker_uid = data["brokerUid"]
        self.next_uid = int(data["nextUid"])
        self.taken_names = set(data.get("takenNames", []))
        self.accounts = {a["uid"]: Account(**a) for a in data["accounts"]}
        self.keys = {k["api_key"]: ApiKey(**k) for k in data["keys"]}
        self.partners = {(p["product"], p["partner"]): Partner(**p) for p in data["partners"]}
