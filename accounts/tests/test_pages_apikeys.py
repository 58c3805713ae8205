"""API key pages: create, the secret shown exactly once, change, delete, import, sync. No secret leaks."""
import pytest

from accounts.models import SubAccount, SubAccountApiKey
from accounts.tests.test_pages_support import MADE_UP_PASSPHRASE, MADE_UP_SECRET, api_key, html, login, sub_account
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db


def test_an_operator_creates_a_key_and_the_page_shows_its_progress(client, make_staff):
    sub = sub_account()
    user = login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/keys/new/", {
        "label": "trading-bot", "permissions": ["General", "Spot"], "ip_whitelist": "203.0.113.5\n198.51.100.7",
    })
    key = SubAccountApiKey.objects.get()
    assert (key.label, key.permissions, key.ip_whitelist) == ("trading-bot", ["General", "Spot"], ["203.0.113.5", "198.51.100.7"])
    assert key.state == SubAccountApiKey.State.PENDING and key.requested_by == user
    job = Job.objects.get(kind="apikey_create")
    assert response["Location"] == f"/keys/{key.pk}/?job={job.pk}"
    page = html(client.get(response["Location"]))
    assert "job-progress" in page and "reload this page" in page
    assert key.passphrase not in page  # generated, stored encrypted, not shown before the key exists


@pytest.mark.parametrize("data,words", [
    ({"label": "abc", "permissions": ["General"], "ip_whitelist": ""}, "4 to 32 characters long"),
    ({"label": "good-label", "permissions": ["General"], "ip_whitelist": "not-an-ip"}, "Not an IP address: not-an-ip"),
    ({"label": "good-label", "permissions": ["General"], "ip_whitelist": " ".join(f"10.0.0.{n}" for n in range(21))},
     "At most 20 addresses"),
    ({"label": "good-label", "permissions": ["Margin"], "ip_whitelist": ""}, "Select a valid choice"),
])
def test_bad_key_input_is_refused_in_words_and_kept(client, make_staff, data, words):
    sub = sub_account()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/keys/new/", data)
    assert response.status_code == 400
    page = html(response)
    assert words in page
    assert f'value="{data["label"]}"' in page
    if data["ip_whitelist"]:
        assert data["ip_whitelist"] in page
    assert not SubAccountApiKey.objects.exists() and not Job.objects.exists()


def test_a_key_for_a_sub_account_that_is_not_active_is_refused(client, make_staff):
    sub = sub_account(state=SubAccount.State.RETIRED)
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/keys/new/", {"label": "good-label", "permissions": ["General"]})
    assert response.status_code == 400
    assert "keys are made for active sub-accounts" in html(response)
    assert not SubAccountApiKey.objects.exists()


def test_the_creator_sees_the_secret_exactly_once(client, make_staff):
    user = login(client, make_staff, "operator")
    key = api_key(sub_account(), requested_by=user, source=SubAccountApiKey.Source.CREATED)
    first = html(client.get(f"/keys/{key.pk}/"))
    assert "Shown once — copy it now" in first and "secret-once" in first
    assert MADE_UP_SECRET in first and MADE_UP_PASSPHRASE in first
    second = html(client.get(f"/keys/{key.pk}/"))
    assert MADE_UP_SECRET not in second and MADE_UP_PASSPHRASE not in second
    assert "the secret was shown once and is not kept in view" in second.lower()


def test_nobody_else_sees_the_secret(client, make_staff):
    creator = make_staff("operator", username="creator")
    key = api_key(sub_account(), requested_by=creator, source=SubAccountApiKey.Source.CREATED)
    login(client, make_staff, "broker-admin")
    page = html(client.get(f"/keys/{key.pk}/"))
    assert MADE_UP_SECRET not in page and "Shown once" not in page
    key.refresh_from_db()
    assert key.secret_shown_at is None  # still the creator's to see


def test_a_viewer_sees_keys_but_cannot_change_them(client, make_staff):
    key = api_key(sub_account())
    login(client, make_staff, "viewer")
    page = html(client.get(f"/keys/{key.pk}/"))
    assert key.label in page and "Change…" not in page and "Delete…" not in page
    for url, data in [(f"/keys/{key.pk}/edit/", {"label": "new-label", "permissions": ["General"]}),
                      (f"/keys/{key.pk}/delete/", {"confirm": key.label}),
                      (f"/subaccounts/{key.sub_account_id}/keys/new/", {"label": "new-label", "permissions": ["General"]}),
                      (f"/subaccounts/{key.sub_account_id}/keys/import/", {"api_key": "x" * 24, "secret": "s", "passphrase": "p"}),
                      (f"/subaccounts/{key.sub_account_id}/keys/sync/", {})]:
        assert client.post(url, data).status_code == 403, url
    assert not Job.objects.exists()


def test_change_a_key(client, make_staff):
    key = api_key(sub_account(), label="old-label")
    login(client, make_staff, "operator")
    form = html(client.get(f"/keys/{key.pk}/edit/"))
    assert 'value="old-label"' in form and MADE_UP_SECRET not in form
    response = client.post(f"/keys/{key.pk}/edit/", {"label": "new-label", "permissions": ["General", "Futures"],
                                                    "ip_whitelist": "2001:db8::1"})
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.UPDATING
    assert key.pending_change == {"label": "new-label", "permissions": ["General", "Futures"], "ip_whitelist": ["2001:db8::1"]}
    assert response["Location"] == f"/keys/{key.pk}/?job={Job.objects.get(kind='apikey_update').pk}"


def test_a_bad_change_keeps_what_was_typed(client, make_staff):
    key = api_key(sub_account(), label="old-label")
    login(client, make_staff, "operator")
    response = client.post(f"/keys/{key.pk}/edit/", {"label": "x" * 33, "permissions": ["General"], "ip_whitelist": "1.2.3"})
    assert response.status_code == 400
    page = html(response)
    assert "Ensure this value has at most 32 characters" in page and "Not an IP address: 1.2.3" in page
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.ACTIVE and key.pending_change is None


def test_delete_needs_the_label_typed(client, make_staff):
    key = api_key(sub_account(), label="trading-bot")
    login(client, make_staff, "operator")
    page = html(client.get(f"/keys/{key.pk}/delete/"))
    assert "deleted at KuCoin" in page and MADE_UP_SECRET not in page
    wrong = client.post(f"/keys/{key.pk}/delete/", {"confirm": "trading"})
    assert wrong.status_code == 400 and "nothing was done" in html(wrong)
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.ACTIVE
    response = client.post(f"/keys/{key.pk}/delete/", {"confirm": "trading-bot"})
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.DELETING
    assert response["Location"] == f"/keys/{key.pk}/?job={Job.objects.get(kind='apikey_delete').pk}"


def test_the_delete_page_warns_of_orders_the_key_leaves_open_at_kucoin(client, make_staff):
    from trading.models import Order

    key = api_key(sub_account(), label="trading-bot")
    login(client, make_staff, "operator")
    assert "open at KuCoin" not in html(client.get(f"/keys/{key.pk}/delete/"))

    for state in (Order.State.OPEN, Order.State.UNKNOWN, Order.State.FILLED, Order.State.CANCELLED):
        Order.objects.create(sub_account=key.sub_account, api_key=key, market="spot", symbol="BTC-USDT", side="buy",
                             type="limit", price="20000", size="0.001", state=state)
    page = html(client.get(f"/keys/{key.pk}/delete/"))
    assert "2 orders signed with this key are open at KuCoin, or being placed" in page
    assert f"/orders/?sub_account={key.sub_account.uid}&amp;state=open" in page
    # a warning, not a refusal: a leaked key must be deletable at once
    client.post(f"/keys/{key.pk}/delete/", {"confirm": "trading-bot"})
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.DELETING


def test_import_stores_the_key_encrypted_and_never_renders_the_secret_back(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "operator")
    form = html(client.get(f"/subaccounts/{sub.pk}/keys/import/"))
    assert 'type="password"' in form
    bad = client.post(f"/subaccounts/{sub.pk}/keys/import/",
                      {"api_key": "bad key!", "secret": MADE_UP_SECRET, "passphrase": MADE_UP_PASSPHRASE})
    assert bad.status_code == 400
    assert "An API key is 8 to 64 letters" in html(bad)
    assert MADE_UP_SECRET not in html(bad) and MADE_UP_PASSPHRASE not in html(bad)
    assert 'value="bad key!"' in html(bad)
    response = client.post(f"/subaccounts/{sub.pk}/keys/import/",
                           {"api_key": "65f0a1b2c3d4e5f6a7b8c9d0", "secret": MADE_UP_SECRET, "passphrase": MADE_UP_PASSPHRASE})
    key = SubAccountApiKey.objects.get()
    assert key.source == SubAccountApiKey.Source.IMPORTED and key.state == SubAccountApiKey.State.PENDING
    assert key.secret == MADE_UP_SECRET
    assert response["Location"] == f"/subaccounts/{sub.pk}/?job={Job.objects.get(kind='apikey_import').pk}"


def test_importing_a_known_key_is_refused_beside_the_field(client, make_staff):
    key = api_key(sub_account())
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{key.sub_account_id}/keys/import/",
                           {"api_key": key.api_key, "secret": "another-made-up", "passphrase": "another-made-up"})
    assert response.status_code == 400 and "already known here" in html(response)


def test_sync_keys_queues_a_job_for_the_sub_account(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/keys/sync/")
    job = Job.objects.get(kind="apikeys_sync")
    assert response["Location"] == f"/subaccounts/{sub.pk}/?job={job.pk}"


def test_no_page_ever_shows_a_stored_secret(client, make_staff):
    sub = sub_account()
    key = api_key(sub)  # made by someone else: nobody here may see it
    login(client, make_staff, "broker-admin")
    for url in ["/subaccounts/", f"/subaccounts/{sub.pk}/", f"/keys/{key.pk}/", f"/keys/{key.pk}/edit/",
                f"/keys/{key.pk}/delete/", f"/subaccounts/{sub.pk}/retire/", "/transfers/", "/deposits/", "/calls/",
                "/broker/", "/admin/accounts/subaccountapikey/", f"/admin/accounts/subaccountapikey/{key.pk}/change/",
                f"/admin/accounts/subaccount/{sub.pk}/change/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert MADE_UP_SECRET not in html(response) and MADE_UP_PASSPHRASE not in html(response), url
