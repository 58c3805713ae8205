"""The broker's credentials: from the environment when KUCOIN_* are set, otherwise from the profile a
broker-admin entered. Read only by services and tasks; the secrets stay encrypted everywhere else."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from accounts.models import BrokerProfile
from kucoin import Credentials, PartnerCredentials

BROKER_CREDENTIAL_ID = "broker"


class BrokerNotConfigured(Exception):
    """The broker's API key or identity is missing."""


@dataclass(frozen=True)
class BrokerIdentity:
    credentials: Credentials
    spot_partner: PartnerCredentials | None
    futures_partner: PartnerCredentials | None
    source: str  # "environment" or "profile"


def broker_profile() -> BrokerProfile:
    profile, _ = BrokerProfile.objects.get_or_create(pk=1)
    return profile


def credentials_from_environment() -> bool:
    return bool(settings.KUCOIN_API_KEY and settings.KUCOIN_API_SECRET and settings.KUCOIN_API_PASSPHRASE)


def _partner(partner: str, broker_key: str, broker_name: str) -> PartnerCredentials | None:
    if partner and broker_key and broker_name:
        return PartnerCredentials(partner=partner, broker_key=broker_key, broker_name=broker_name)
    return None


def broker_identity() -> BrokerIdentity:
    if credentials_from_environment():
        name = settings.KUCOIN_BROKER_NAME
        spot = _partner(settings.KUCOIN_BROKER_PARTNER, settings.KUCOIN_BROKER_KEY, name)
        futures = _partner(settings.KUCOIN_FUTURES_PARTNER, settings.KUCOIN_FUTURES_BROKER_KEY, name) or spot
        credentials = Credentials(
            api_key=settings.KUCOIN_API_KEY,
            api_secret=settings.KUCOIN_API_SECRET,
            api_passphrase=settings.KUCOIN_API_PASSPHRASE,
            key_version=settings.KUCOIN_KEY_VERSION,
            credential_id=BROKER_CREDENTIAL_ID,
        )
        return BrokerIdentity(credentials, spot, futures, "environment")
    profile = broker_profile()
    if not (profile.api_key and profile.api_secret and profile.api_passphrase):
        raise BrokerNotConfigured(
            "The broker's API key is not set: a broker-admin enters it in the admin (Broker profile), "
            "or the KUCOIN_API_* environment variables provide it."
        )
    spot = _partner(profile.spot_partner, profile.spot_broker_key, profile.broker_name)
    futures = _partner(profile.futures_partner, profile.futures_broker_key, profile.broker_name) or spot
    credentials = Credentials(
        api_key=profile.api_key,
        api_secret=profile.api_secret,
        api_passphrase=profile.api_passphrase,
        key_version=profile.key_version,
        credential_id=BROKER_CREDENTIAL_ID,
    )
    return BrokerIdentity(credentials, spot, futures, "profile")


def sub_account_prefix() -> str:
    return broker_profile().sub_account_prefix
