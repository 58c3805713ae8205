"""Two executions of one sub-account's creation (the first kept waiting past its lease): the one whose request
KuCoin refuses for the name the other just created does not mark the sub-account failed."""
import pytest

from accounts import clients
from accounts.models import SubAccount
from accounts.services import subaccounts
from accounts.services.subaccounts import subaccount_create, subaccount_create_send
from accounts.tests.sandbox_state import sub_accounts
from brokeroffice.jobs import job_run
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db


def test_a_creation_refused_for_the_name_another_execution_just_created_ends_with_the_sub_account_active(
        sandbox_settings, sandbox, monkeypatch):
    sub_account, job = subaccount_create(name="carol-0003")
    made_meanwhile = {}

    def broker_client():
        client = clients.broker_client()
        real_add = client.broker.add_sub_account

        def add_sub_account(name):
            # While this request was held up, the other execution created it and recorded its UID.
            created = clients.broker_client().broker.add_sub_account(name)
            SubAccount.objects.filter(pk=sub_account.pk).update(uid=created.uid, state=SubAccount.State.ACTIVE)
            made_meanwhile["uid"] = created.uid
            return real_add(name)  # KuCoin refuses: the name exists

        client.broker.add_sub_account = add_sub_account
        return client

    monkeypatch.setattr(subaccounts, "broker_client", broker_client)
    with job_run(str(job.pk)) as run:
        subaccount_create_send(sub_account_id=sub_account.pk, run=run)

    sub_account.refresh_from_db()
    assert (sub_account.state, sub_account.uid, sub_account.error_code) == (
        SubAccount.State.ACTIVE, made_meanwhile["uid"], "")
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and made_meanwhile["uid"] in job.message
    assert [uid for uid, name in sub_accounts(sandbox.dump()).items() if name == "carol-0003"] == [made_meanwhile["uid"]]
