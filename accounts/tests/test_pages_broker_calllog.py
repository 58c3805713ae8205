"""The broker profile (broker-admin, never a secret) and the call log (viewer, keyset pages)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import BrokerProfile
from accounts.tests.test_pages_support import html, login
from brokeroffice.models import Job, KuCoinCall

pytestmark = pytest.mark.django_db

PROFILE_SECRETS = {"api_secret": "made-up-broker-secret-5b1e", "api_passphrase": "made-up-broker-pass-9c2d",
                   "spot_broker_key": "made-up-spot-broker-key-1a", "futures_broker_key": "made-up-fut-broker-key-2b"}


@pytest.fixture
def profile(settings):
    for name in ("KUCOIN_API_KEY", "KUCOIN_API_SECRET", "KUCOIN_API_PASSPHRASE"):
        setattr(settings, name, "")
    return BrokerProfile.objects.create(
        pk=1, broker_name="MadeUpBroker", spot_partner="made-up-partner", api_key="made-up-broker-api-key",
        checked_at=timezone.now(), check_ok=False, check_message="KuCoin 400005: Invalid signature", **PROFILE_SECRETS,
    )


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_a_broker_admin_reaches_the_broker_page(client, make_staff, profile, role):
    login(client, make_staff, role)
    assert client.get("/broker/").status_code == 403
    assert client.post("/broker/check/").status_code == 403
    assert not Job.objects.exists()


def test_the_broker_page_shows_the_identity_and_the_last_check_but_no_secret(client, make_staff, profile):
    login(client, make_staff, "broker-admin")
    page = html(client.get("/broker/"))
    assert "MadeUpBroker" in page and "made-up-partner" in page and "made-up-broker-api-key" in page
    assert "stored in this <strong>profile</strong>" in page
    assert "KuCoin 400005: Invalid signature" in page and "Problem" in page
    assert f"/admin/accounts/brokerprofile/{profile.pk}/change/" in page
    for secret in PROFILE_SECRETS.values():
        assert secret not in page


def test_the_broker_page_says_when_credentials_come_from_the_environment(client, make_staff, profile, settings):
    settings.KUCOIN_API_KEY, settings.KUCOIN_API_SECRET, settings.KUCOIN_API_PASSPHRASE = "env-key", "made-up-env-secret", "p"
    settings.KUCOIN_BROKER_NAME = "EnvBroker"
    login(client, make_staff, "broker-admin")
    page = html(client.get("/broker/"))
    assert "come from the <strong>environment</strong>" in page and "EnvBroker" in page and "made-up-env-secret" not in page


def test_check_connection_queues_the_check(client, make_staff, profile):
    login(client, make_staff, "broker-admin")
    response = client.post("/broker/check/")
    job = Job.objects.get(kind="broker_check")
    assert response["Location"] == f"/broker/?job={job.pk}"
    assert "job-progress" in html(client.get(response["Location"]))


def calls(count, **fields):
    now = timezone.now()
    KuCoinCall.objects.bulk_create(
        KuCoinCall(at=now - timedelta(seconds=count - n), method="GET", family="broker", path=f"/api/v1/made-up/{n}",
                   http_status=200, code="200000", latency_ms=12, credential="broker", actor="alice", **fields)
        for n in range(count)
    )


def test_the_call_log_filters_and_pages_by_id_with_few_queries(client, make_staff, django_assert_max_num_queries):
    calls(300)
    KuCoinCall.objects.create(at=timezone.now(), method="POST", family="spot", path="/api/v1/orders", http_status=200,
                              code="400005", latency_ms=40, credential="apikey:7", actor="bob", weight=2)
    login(client, make_staff, "viewer")
    with django_assert_max_num_queries(10):
        first = client.get("/calls/")
    page = html(first)
    assert "/api/v1/orders" in page and "400005" in page and "apikey:7" in page
    assert "/api/v1/made-up/299" in page and "/api/v1/made-up/200" not in page
    with django_assert_max_num_queries(10):
        older = html(client.get("/calls/", {"before": first.context["page"].older_cursor}))
    assert "/api/v1/made-up/249" in older and "/api/v1/orders" not in older

    failures = html(client.get("/calls/", {"failures": "on"}))
    assert "/api/v1/orders" in failures and "/api/v1/made-up/" not in failures
    for name, value in [("code", "400005"), ("family", "spot"), ("credential", "apikey:7"), ("actor", "bob")]:
        filtered = html(client.get("/calls/", {name: value}))
        assert "/api/v1/orders" in filtered and "/api/v1/made-up/" not in filtered, name
