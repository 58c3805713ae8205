"""Sub-accounts end to end: the back-office asks, a real worker calls the sandbox, and both agree."""
import pytest

from accounts.models import SubAccount
from accounts.services.subaccounts import subaccount_create
from accounts.tests.sandbox_state import sub_accounts
from brokeroffice.jobs import job_start
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


def test_create_gives_one_sub_account_at_kucoin_with_the_uid_stored(kucoin_worker, sandbox, finished):
    sub_account, job = subaccount_create(name="alice-0001")
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    sub_account.refresh_from_db()
    assert sub_account.state == SubAccount.State.ACTIVE
    at_kucoin = sub_accounts(sandbox.dump())
    assert at_kucoin[sub_account.uid] == "alice-0001"


def test_a_lost_answer_still_leaves_exactly_one_sub_account(kucoin_worker, sandbox, finished):
    sandbox.set_fault("drop_after", count=1, path="/api/v1/broker/nd/account", method="POST")
    sub_account, job = subaccount_create(name="bob-0002")
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    sub_account.refresh_from_db()
    named = [uid for uid, name in sub_accounts(sandbox.dump()).items() if name == "bob-0002"]
    assert named == [sub_account.uid]


def test_a_name_kucoin_refuses_fails_with_its_code_and_message(kucoin_worker, sandbox, finished):
    taken = next(iter(sub_accounts(sandbox.dump()).values()))
    SubAccount.objects.filter(account_name=taken).delete()
    sub_account, job = subaccount_create(name=taken)
    job = finished(job)
    assert job.state == Job.State.FAILED
    sub_account.refresh_from_db()
    assert sub_account.state == SubAccount.State.FAILED
    assert sub_account.error_code == "400100"
    assert "already exists" in sub_account.error_message
    assert "400100" in job.error


def test_sync_stores_every_sub_account_kucoin_has(kucoin_worker, sandbox, finished):
    from accounts.tasks import subaccounts_sync_task

    job = finished(job_start(kind="subaccounts_sync", label="Sync", task=subaccounts_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    at_kucoin = sub_accounts(sandbox.dump())
    stored = dict(SubAccount.objects.values_list("uid", "account_name"))
    assert stored == at_kucoin
    assert job.progress_done == job.progress_total == len(at_kucoin)

    # Syncing again changes nothing.
    finished(job_start(kind="subaccounts_sync", label="Sync", task=subaccounts_sync_task))
    assert SubAccount.objects.count() == len(at_kucoin)


def test_sync_completes_a_row_whose_creation_answer_was_lost(kucoin_worker, sandbox, finished):
    from accounts.tasks import subaccounts_sync_task

    uid, name = sorted(sub_accounts(sandbox.dump()).items())[0]
    waiting = SubAccount.objects.create(account_name=name)  # as if the answer to its creation had been lost
    job = finished(job_start(kind="subaccounts_sync", label="Sync", task=subaccounts_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    waiting.refresh_from_db()
    assert waiting.uid == uid and waiting.state == SubAccount.State.ACTIVE
    assert SubAccount.objects.filter(account_name=name).count() == 1
