"""The admin of the accounts app: every model listed, secrets never displayed, actions for operators only."""
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import BrokerProfile, KycSubmission, SubAccount, SubAccountBalance, Transfer
from accounts.tests.test_pages_support import MADE_UP_PASSPHRASE, MADE_UP_SECRET, api_key, html, login, sub_account, transfer
from brokeroffice.models import Job, KuCoinCall

pytestmark = pytest.mark.django_db

MODELS = ["subaccount", "subaccountapikey", "subaccountbalance", "transfer", "deposit", "withdrawal", "kycsubmission",
          "brokerprofile"]


@pytest.mark.parametrize("model", MODELS)
def test_every_accounts_model_has_a_changelist(client, make_staff, model):
    login(client, make_staff, "viewer")
    assert client.get(f"/admin/accounts/{model}/").status_code == 200


def test_the_call_log_is_read_only_in_the_admin(client, make_staff):
    call = KuCoinCall.objects.create(at=timezone.now(), method="GET", family="broker", path="/api/v1/timestamp", code="200000")
    login(client, make_staff, "broker-admin")
    assert "/api/v1/timestamp" in html(client.get("/admin/brokeroffice/kucoincall/"))
    assert client.get("/admin/brokeroffice/kucoincall/add/").status_code == 403
    assert client.get(f"/admin/brokeroffice/kucoincall/{call.pk}/delete/").status_code == 403
    detail = client.get(f"/admin/brokeroffice/kucoincall/{call.pk}/change/")
    assert detail.status_code == 200 and 'name="path"' not in html(detail)


@pytest.mark.parametrize("role", ["viewer", "operator", "broker-admin"])
def test_no_secret_is_displayed_to_any_role(client, make_staff, role):
    key = api_key(sub_account())
    BrokerProfile.objects.create(pk=1, broker_name="MadeUpBroker", api_key="made-up-key", api_secret=MADE_UP_SECRET,
                                 api_passphrase=MADE_UP_PASSPHRASE, spot_broker_key=MADE_UP_SECRET)
    submission = KycSubmission.objects.create(sub_account=key.sub_account, identity_type="passport", issue_country="DE",
                                              personal_data='{"identity_number": "MADEUP-DOC-42"}')
    login(client, make_staff, role)
    for url in ["/admin/accounts/subaccountapikey/", f"/admin/accounts/subaccountapikey/{key.pk}/change/",
                f"/admin/accounts/subaccount/{key.sub_account_id}/change/", "/admin/accounts/brokerprofile/",
                "/admin/accounts/brokerprofile/1/change/", f"/admin/accounts/kycsubmission/{submission.pk}/change/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert MADE_UP_SECRET not in page and MADE_UP_PASSPHRASE not in page and "MADEUP-DOC-42" not in page, url
    if role == "viewer":
        assert "api secret: set" in html(client.get("/admin/accounts/brokerprofile/1/change/"))


def run_action(client, model, action, ids):
    return client.post(f"/admin/accounts/{model}/", {"action": action, "_selected_action": [str(i) for i in ids], "index": "0"},
                       follow=True)


def test_a_viewer_gets_no_actions(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "viewer")
    page = html(client.get("/admin/accounts/subaccount/"))
    assert "Sync API keys of selected sub-accounts" not in page
    run_action(client, "subaccount", "sync_api_keys", [sub.pk])
    assert not Job.objects.exists()


def test_an_operator_queues_syncs_from_the_admin(client, make_staff):
    subs = [sub_account(), sub_account(), sub_account(uid=None, state=SubAccount.State.PENDING)]
    login(client, make_staff, "operator")
    page = html(client.get("/admin/accounts/subaccount/"))
    assert "Sync API keys of selected sub-accounts" in page and "Refresh balances of selected sub-accounts" in page
    response = run_action(client, "subaccount", "sync_api_keys", [s.pk for s in subs])
    assert "Queued 2 job(s)" in html(response)
    assert sorted(j.label for j in Job.objects.filter(kind="apikeys_sync")) == sorted(f"Sync API keys of {s}" for s in subs[:2])
    run_action(client, "subaccount", "refresh_balances", [subs[0].pk])
    assert Job.objects.filter(kind="balances_refresh").count() == 1
    run_action(client, "subaccount", "sync_all", [subs[0].pk])
    assert Job.objects.filter(kind="subaccounts_sync").count() == 1


def test_transfer_deposit_withdrawal_and_kyc_actions(client, make_staff):
    sub = sub_account()
    stuck = transfer(sub, state=Transfer.State.UNKNOWN)
    login(client, make_staff, "operator")
    run_action(client, "transfer", "sync_transfers", [stuck.pk])
    run_action(client, "transfer", "try_again", [stuck.pk])
    assert set(Job.objects.values_list("kind", flat=True)) == {"transfers_sync", "transfer_send"}
    KycSubmission.objects.create(sub_account=sub, identity_type="passport", issue_country="DE", personal_data="{}")
    run_action(client, "kycsubmission", "check_status", list(KycSubmission.objects.values_list("pk", flat=True)))
    assert Job.objects.filter(kind="kyc_status_sync").exists()


def test_mirrored_rows_cannot_be_added_or_edited_in_the_admin(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "broker-admin")
    assert client.get("/admin/accounts/subaccount/add/").status_code == 403
    page = html(client.get(f"/admin/accounts/subaccount/{sub.pk}/change/"))
    assert 'name="account_name"' not in page


def test_a_balance_refresh_over_too_many_sub_accounts_is_refused_not_cut_short(client, make_staff, monkeypatch):
    monkeypatch.setattr("accounts.admin.MAX_JOBS_PER_ACTION", 2)
    balances = [SubAccountBalance.objects.create(sub_account=sub_account(), account_type="main", currency="USDT",
                                                 balance=Decimal("1"), available=Decimal("1"), holds=Decimal("0"),
                                                 refreshed_at=timezone.now()) for _ in range(3)]
    login(client, make_staff, "operator")
    response = run_action(client, "subaccountbalance", "refresh_balances", [b.pk for b in balances])
    assert "Select balances of at most 2 sub-accounts." in html(response)
    assert not Job.objects.filter(kind="balances_refresh").exists()
    run_action(client, "subaccountbalance", "refresh_balances", [b.pk for b in balances[:2]])
    assert Job.objects.filter(kind="balances_refresh").count() == 2
