"""API keys of sub-accounts end to end through a real worker and the sandbox."""
import pytest
from django.db import connection

from accounts.models import SubAccountApiKey
from accounts.services.apikeys import apikey_create, apikey_delete, apikey_import, apikey_reveal_once, apikey_update
from accounts.tests.sandbox_state import keys_of
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


@pytest.fixture
def customer(synced_sub_accounts):
    return synced_sub_accounts.order_by("uid").first()


def raw_secret_column(key_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_subaccountapikey WHERE id = %s", [key_id])
        return cursor.fetchone()[0]


def test_a_created_key_exists_at_kucoin_and_its_secret_is_stored_encrypted_and_shown_once(customer, sandbox, finished, make_staff):
    operator = make_staff("operator")
    key, job = apikey_create(sub_account=customer, label="desk-key", permissions=["General", "Spot"],
                             ip_whitelist=["192.0.2.10"], requested_by=operator)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    key.refresh_from_db()
    at_kucoin = keys_of(sandbox.dump(), customer.uid)[key.api_key]
    assert at_kucoin["label"] == "desk-key"
    assert sorted(at_kucoin["permissions"]) == ["General", "Spot"]
    assert at_kucoin["ip_whitelist"] == ["192.0.2.10"]
    # What KuCoin issued is what we hold, and the column holds ciphertext only.
    assert key.secret == at_kucoin["secret"] and key.passphrase == at_kucoin["passphrase"]
    assert at_kucoin["secret"] not in raw_secret_column(key.pk)

    assert apikey_reveal_once(key=key, user=operator) == (at_kucoin["secret"], at_kucoin["passphrase"])
    assert apikey_reveal_once(key=key, user=operator) is None


def test_a_lost_answer_leaves_one_usable_key(customer, sandbox, finished):
    before = set(keys_of(sandbox.dump(), customer.uid))
    sandbox.set_fault("drop_after", count=1, path="/api/v1/broker/nd/account/apikey", method="POST")
    key, job = apikey_create(sub_account=customer, label="after-drop", permissions=["General"], ip_whitelist=[])
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    key.refresh_from_db()
    new_at_kucoin = {k: v for k, v in keys_of(sandbox.dump(), customer.uid).items() if k not in before}
    # The key whose secret was lost with the answer was deleted; the one we hold is the only new one.
    assert list(new_at_kucoin) == [key.api_key]
    assert new_at_kucoin[key.api_key]["secret"] == key.secret


def test_change_and_delete_reach_kucoin(customer, sandbox, finished):
    key, job = apikey_create(sub_account=customer, label="to-change", permissions=["General"], ip_whitelist=[])
    finished(job)
    key.refresh_from_db()

    job = apikey_update(key=key, label="changed", permissions=["General", "Futures"], ip_whitelist=["198.51.100.7"])
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    at_kucoin = keys_of(sandbox.dump(), customer.uid)[key.api_key]
    assert at_kucoin["label"] == "changed"
    assert sorted(at_kucoin["permissions"]) == ["Futures", "General"]
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.ACTIVE and key.label == "changed"

    job = apikey_delete(key=key)
    assert finished(job).state == Job.State.SUCCEEDED
    assert key.api_key not in keys_of(sandbox.dump(), customer.uid)
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.DELETED
    assert key.secret == "" and key.passphrase == ""


def test_an_imported_key_is_kept_only_when_kucoin_accepts_it(synced_sub_accounts, sandbox, finished):
    by_uid = {s.uid: s for s in synced_sub_accounts}
    # A seeded key that this machine may use (no whitelist, or one that lists it).
    seeded = next(k for k in sandbox.dump()["accounts"]["keys"]
                  if k["uid"] in by_uid and (not k["ip_whitelist"] or "127.0.0.1" in k["ip_whitelist"]))
    customer = by_uid[seeded["uid"]]
    SubAccountApiKey.objects.filter(api_key=seeded["api_key"]).delete()

    wrong, job = apikey_import(sub_account=customer, api_key=seeded["api_key"], secret="made-up-wrong-secret",
                               passphrase=seeded["passphrase"])
    job = finished(job)
    assert job.state == Job.State.FAILED
    assert "400004" in job.error  # the passphrase header is signed with the (wrong) secret
    assert not SubAccountApiKey.objects.filter(pk=wrong.pk).exists()

    key, job = apikey_import(sub_account=customer, api_key=seeded["api_key"], secret=seeded["secret"],
                             passphrase=seeded["passphrase"])
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.ACTIVE
    assert key.label == seeded["label"]


def test_sync_finds_keys_made_elsewhere_and_forgets_deleted_ones(customer, sandbox, finished):
    from accounts.tasks import apikeys_sync_task
    from brokeroffice.jobs import job_start

    job = finished(job_start(kind="apikeys_sync", label="Sync keys", task=apikeys_sync_task, args=(customer.uid,)))
    assert job.state == Job.State.SUCCEEDED, job.error
    at_kucoin = keys_of(sandbox.dump(), customer.uid)
    stored = set(customer.api_keys.exclude(state=SubAccountApiKey.State.DELETED).values_list("api_key", flat=True))
    assert stored == set(at_kucoin)
    assert all(not k.has_secret for k in customer.api_keys.all())


def test_a_key_missing_from_one_answer_keeps_its_secret_until_kucoin_says_it_is_gone(
        synced_sub_accounts, sandbox, monkeypatch):
    from accounts.clients import broker_client
    from accounts.tests.funding_support import customer_with_key
    from brokeroffice.jobs import job_create, job_run
    from kucoin.broker import BrokerAPI

    sub_account, key = customer_with_key(synced_sub_accounts, sandbox.dump())
    real_list = BrokerAPI.get_api_keys
    answers = {"empty": 1}

    def list_empty_once(self, uid, api_key=None):  # KuCoin's list answered `data: null` for a moment
        if api_key is None and answers["empty"]:
            answers["empty"] -= 1
            return []
        return real_list(self, uid, api_key)

    def sync() -> Job:
        job = job_create(kind="apikeys_sync", label="Sync keys")
        with job_run(str(job.pk)) as run:
            from accounts.services.apikeys import apikeys_sync

            apikeys_sync(run=run, uid=sub_account.uid)
        job.refresh_from_db()
        return job

    monkeypatch.setattr(BrokerAPI, "get_api_keys", list_empty_once)
    assert sync().state == Job.State.SUCCEEDED
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.ACTIVE and key.has_secret

    # Deleted at KuCoin by someone else: now it is gone here too, with its secret.
    broker_client().broker.delete_api_key(sub_account.uid, key.api_key)
    assert sync().state == Job.State.SUCCEEDED
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.DELETED and not key.has_secret
