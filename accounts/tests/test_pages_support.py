"""Rows for the page tests, as earlier actions would have left them (made-up values only). No tests here."""
from __future__ import annotations

import itertools
from decimal import Decimal

from django.utils import timezone

from accounts.models import SubAccount, SubAccountApiKey, Transfer

_numbers = itertools.count(1)
MADE_UP_SECRET = "made-up-secret-0f3c9a1e-never-in-a-page"
MADE_UP_PASSPHRASE = "made-up-passphrase-77d1-never-in-a-page"


def sub_account(**fields) -> SubAccount:
    n = next(_numbers)
    defaults = {"account_name": f"made-up-{n:05d}", "uid": str(800000000 + n), "state": SubAccount.State.ACTIVE,
                "kucoin_created_at": timezone.now()}
    return SubAccount.objects.create(**{**defaults, **fields})


def api_key(sub: SubAccount, **fields) -> SubAccountApiKey:
    n = next(_numbers)
    defaults = {"sub_account": sub, "api_key": f"madeupkey{n:015d}", "label": f"key-{n:04d}", "permissions": ["General", "Spot"],
                "secret": MADE_UP_SECRET, "passphrase": MADE_UP_PASSPHRASE, "state": SubAccountApiKey.State.ACTIVE,
                "api_version": 3}
    return SubAccountApiKey.objects.create(**{**defaults, **fields})


def transfer(sub: SubAccount, **fields) -> Transfer:
    defaults = {"sub_account": sub, "direction": Transfer.Direction.OUT, "currency": "USDT", "amount": Decimal("12.5")}
    return Transfer.objects.create(**{**defaults, **fields})


def login(client, make_staff, role: str):
    user = make_staff(role)
    client.force_login(user)
    return user


def html(response) -> str:
    return response.content.decode()
