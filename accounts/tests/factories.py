"""Rows as the back-office would hold them after earlier actions (test data, made-up values)."""
from __future__ import annotations

import factory

from accounts.models import SubAccount, SubAccountApiKey


class SubAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubAccount

    account_name = factory.Sequence(lambda n: f"made-up-{n:05d}")
    uid = factory.Sequence(lambda n: str(900000000 + n))
    state = SubAccount.State.ACTIVE


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubAccountApiKey

    sub_account = factory.SubFactory(SubAccountFactory)
    api_key = factory.Sequence(lambda n: f"madeupkey{n:015d}")
    label = factory.Sequence(lambda n: f"key-{n:04d}")
    permissions = ["General", "Spot"]
    secret = factory.Sequence(lambda n: f"made-up-secret-{n:06d}")
    passphrase = factory.Sequence(lambda n: f"made-up-passphrase-{n:06d}")
    state = SubAccountApiKey.State.ACTIVE
    api_version = 3
