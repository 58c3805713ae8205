"""Rows holding made-up secrets of every kind the back-office keeps, and the URLs of the project filled in with
their ids: what the security tests render, scan and attack."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

ROLES = ("viewer", "operator", "broker-admin")
PASSWORD = "a-made-up-password-for-tests"


def made_up(kind: str) -> str:
    """A made-up secret, recognisable in a failure message by its kind only (the value is never printed)."""
    import secrets

    return f"mu-{kind}-{secrets.token_hex(12)}"


@dataclass
class World:
    ids: dict[str, object] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # value → what it is

    def keep(self, kind: str) -> str:
        value = made_up(kind)
        self.secrets[value] = kind
        return value


@pytest.fixture
def world(db, make_staff) -> World:
    """One row of each kind that holds a secret or that a page shows, with made-up secrets."""
    from accounts.models import (BrokerProfile, FastApiConnection, FastApiSettings, KycSubmission, SubAccount,
                                 SubAccountApiKey, Transfer)
    from brokeroffice.models import Job, KuCoinCall
    from rebates.models import RebateFile
    from trading.models import Order

    w = World()
    BrokerProfile.objects.create(
        broker_name="made-up-broker", spot_partner="made-up-partner", spot_broker_key=w.keep("spot-broker-key"),
        futures_partner="made-up-fpartner", futures_broker_key=w.keep("futures-broker-key"),
        api_key="made-up-broker-api-key", api_secret=w.keep("broker-api-secret"),
        api_passphrase=w.keep("broker-api-passphrase"), check_ok=True, check_message="Connected as made-up-broker")
    FastApiSettings.objects.create(client_id="made-up-client", client_secret=w.keep("oauth-client-secret"),
                                   redirect_url="https://office.example.com/connect/kucoin/callback/",
                                   link_secret=w.keep("oauth-link-secret"))
    sub = SubAccount.objects.create(account_name="made-up-sec-0001", uid="700000001", state=SubAccount.State.ACTIVE,
                                    kucoin_created_at=timezone.now())
    creator = make_staff("operator", username="key-creator")
    key = SubAccountApiKey.objects.create(
        sub_account=sub, api_key="madeupseckey000000000001", label="made-up-label", permissions=["General", "Spot"],
        secret=w.keep("sub-key-secret"), passphrase=w.keep("sub-key-passphrase"),
        state=SubAccountApiKey.State.ACTIVE, api_version=3, requested_by=creator, secret_shown_at=timezone.now())
    transfer = Transfer.objects.create(sub_account=sub, direction=Transfer.Direction.OUT, currency="USDT",
                                       amount=Decimal("12.5"))
    connection = FastApiConnection.objects.create(
        customer_ref="made-up-customer", state=FastApiConnection.State.KEY_CREATED,
        code=w.keep("oauth-code"), access_token=w.keep("oauth-access-token"),
        refresh_token=w.keep("oauth-refresh-token"), api_key="madeupconnkey00000000001",
        api_secret=w.keep("connection-api-secret"), api_passphrase=w.keep("connection-api-passphrase"),
        access_expires_at=timezone.now() + timedelta(hours=1), refresh_expires_at=timezone.now() + timedelta(days=3))
    kyc = KycSubmission.objects.create(sub_account=sub, identity_type="passport", issue_country="DE",
                                       personal_data='{"name": "%s"}' % w.keep("kyc-personal-data"))
    order = Order.objects.create(market="spot", sub_account=sub, api_key=key, symbol="BTC-USDT", side="buy",
                                 type="limit", price=Decimal("30000"), size=Decimal("0.001"))
    job = Job.objects.create(kind="order_place", label="Place a made-up order", state=Job.State.FAILED,
                             error="KuCoin refused: made-up reason", result={"order_id": order.pk})
    KuCoinCall.objects.create(at=timezone.now(), actor="key-creator", credential=f"subkey:{key.pk}", method="POST",
                              family="spot", path="/api/v1/hf/orders", http_status=200, code="200000", job_id=job.pk)
    rebate_file = RebateFile.objects.create(trade_type="spot", begin=timezone.now().date() - timedelta(days=2),
                                            end=timezone.now().date() - timedelta(days=2))
    w.ids = {"sub": sub, "key": key, "transfer": transfer, "connection": connection, "kyc": kyc, "order": order,
             "job": job, "rebate_file": rebate_file, "creator": creator}
    return w


# -- the URL resolver -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    name: str          # "namespace:name", or the pattern when unnamed
    pattern: str       # e.g. "subaccounts/<int:pk>/"
    view: object

    @property
    def required_role(self) -> str | None:
        view = self.view
        while view is not None:
            role = getattr(view, "required_role", None)
            if role:
                return role
            view = getattr(view, "__wrapped__", None)
        return None

    @property
    def login_not_required(self) -> bool:
        view = self.view
        while view is not None:
            if getattr(view, "login_required", True) is False:
                return True
            view = getattr(view, "__wrapped__", None)
        return False


def project_routes() -> list[Route]:
    """Every URL pattern of the project outside the admin (the admin is walked through its registry)."""
    routes: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin" or getattr(p, "app_name", None) == "admin":
                    continue
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                full = prefix + str(p.pattern)
                routes.append(Route(f"{namespace}{p.name}" if p.name else full, full, p.callback))

    walk(get_resolver().url_patterns, "", "")
    return routes


def fill(pattern: str, world: World) -> str:
    """A concrete URL for the pattern, with the ids of the world's rows."""
    ids = world.ids
    by_prefix = [  # (pattern prefix, the row whose pk fills <int:pk>)
        ("subaccounts/", ids["sub"]), ("keys/", ids["key"]), ("transfers/", ids["transfer"]),
        ("fast-api/", ids["connection"]), ("orders/", ids["order"]), ("rebates/files/", ids["rebate_file"]),
    ]

    def pk_for() -> str:
        for prefix, row in by_prefix:
            if pattern.startswith(prefix):
                return str(row.pk)
        return "1"

    url = pattern
    url = re.sub(r"<int:\w+>", lambda m: pk_for(), url)
    url = re.sub(r"<uuid:job_id>", str(ids["job"].pk), url)
    url = re.sub(r"<uuid:public_id>", str(ids["connection"].public_id), url)
    url = re.sub(r"<slug:report_name>", "period", url)
    url = re.sub(r"<path:\w+>", "", url)
    url = re.sub(r"<(?:str:)?\w+>", "x", url)
    return "/" + url.lstrip("^").rstrip("$")
