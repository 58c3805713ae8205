"""Secrets are stored encrypted, decrypt with any configured key, rotate to the first, and never show."""
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import BrokerProfile
from brokeroffice.fields import DecryptionError

MADE_UP_SECRET = "made-up-secret-for-tests-4f1c"


def raw_column(pk: int, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM accounts_brokerprofile WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def profile(db):
    return BrokerProfile.objects.create(broker_name="Made-up Broker", api_key="made-up-key", api_secret=MADE_UP_SECRET)


def test_round_trip_and_the_column_holds_no_plaintext(profile):
    assert BrokerProfile.objects.get(pk=profile.pk).api_secret == MADE_UP_SECRET
    stored = raw_column(profile.pk, "api_secret")
    assert MADE_UP_SECRET not in stored
    assert stored.startswith("gAAAA")  # a Fernet token


def test_a_secret_never_shows_in_a_repr(profile):
    loaded = BrokerProfile.objects.get(pk=profile.pk)
    assert MADE_UP_SECRET not in repr(loaded.api_secret)
    assert MADE_UP_SECRET not in repr(loaded.__dict__)


def test_a_token_no_key_opens_raises_instead_of_returning_ciphertext(profile, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError, match="accounts.BrokerProfile.api_secret") as raised:
        BrokerProfile.objects.get(pk=profile.pk)
    assert MADE_UP_SECRET not in str(raised.value)


def test_rotation_re_encrypts_every_secret_with_the_first_key(profile, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))

    stored = raw_column(profile.pk, "api_secret")
    assert Fernet(new_key.encode()).decrypt(stored.encode()).decode() == MADE_UP_SECRET
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can now go
    assert BrokerProfile.objects.get(pk=profile.pk).api_secret == MADE_UP_SECRET


def test_the_admin_form_never_renders_a_stored_secret_and_blank_keeps_it(profile, make_staff, client):
    client.force_login(make_staff("broker-admin"))
    url = f"/admin/accounts/brokerprofile/{profile.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert MADE_UP_SECRET not in page.content.decode()

    form = {
        "broker_name": "Renamed Broker", "spot_partner": "", "spot_broker_key": "", "futures_partner": "",
        "futures_broker_key": "", "api_key": "made-up-key", "api_secret": "", "api_passphrase": "",
        "key_version": "2", "sub_account_prefix": "",
    }
    assert client.post(url, form).status_code == 302
    saved = BrokerProfile.objects.get(pk=profile.pk)
    assert saved.broker_name == "Renamed Broker"
    assert saved.api_secret == MADE_UP_SECRET


def test_rotation_without_the_key_that_opens_a_secret_stops_in_words(profile, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the key that encrypted it is gone
    with pytest.raises(CommandError) as stopped:
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))
    message = str(stopped.value)
    assert "accounts.BrokerProfile.api_secret" in message and "run the command again" in message
    assert MADE_UP_SECRET not in message
