"""A KYC submission the job could not send ends failed, so that the resume schedule does not send it later,
when staff may already have sent a corrected one. Run in this process against the sandbox."""
import base64
from datetime import timedelta

import pytest

from accounts.models import KycSubmission, SubAccount
from accounts.services.kyc import kyc_submit
from accounts.services.resume import STALLED_AFTER, stalled_actions
from accounts.tasks import kyc_submit_task
from accounts.tests.sandbox_state import sub_accounts
from brokeroffice.models import Job
from brokeroffice.tasking import MAX_RETRIES

pytestmark = pytest.mark.django_db
KYC_PATH = "/api/kyc/ndBroker/proxyClient/submit"
TINY_PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n made-up image").decode()
DATA = {"first_name": "Ada", "last_name": "Example", "issue_country": "JP", "birth_date": "1990-01-02",
        "identity_type": "passport", "identity_number": "MADEUP123", "expire_date": "2099-01-01",
        "front_photo": TINY_PNG, "backend_photo": "", "face_photo": TINY_PNG}


@pytest.fixture
def customer(sandbox_settings, sandbox):
    uid = sorted(sub_accounts(sandbox.dump()))[0]
    return SubAccount.objects.create(uid=uid, account_name="kyc-check", state=SubAccount.State.ACTIVE)


def kyc_at_kucoin(sandbox, uid: str) -> list[dict]:
    return [record for record in sandbox.dump()["kyc"] if str(record["clientUid"]) == uid]


def not_resumed(submission: KycSubmission) -> bool:
    later = submission.created_at + STALLED_AFTER + timedelta(hours=1)
    return [args for _, _, args in stalled_actions(now=later) if args == (submission.pk,)] == []


@pytest.mark.parametrize("retries", [0, MAX_RETRIES])
def test_a_submission_refused_at_kucoins_gateway_ends_failed_at_once(customer, sandbox, settings, retries):
    before = kyc_at_kucoin(sandbox, customer.uid)
    submission, job = kyc_submit(sub_account=customer, data=DATA)
    settings.KUCOIN_BROKER_KEY = "made-up-wrong-broker-key"  # KuCoin refuses the partner signature: 400201

    kyc_submit_task.apply(args=(str(job.pk), submission.pk), retries=retries, throw=False)

    submission.refresh_from_db()
    job.refresh_from_db()
    assert (submission.state, submission.error_code, job.state) == (KycSubmission.State.FAILED, "400201", Job.State.FAILED)
    assert not_resumed(submission) and kyc_at_kucoin(sandbox, customer.uid) == before


def test_a_submission_kucoin_was_unavailable_for_on_the_last_try_ends_failed(customer, sandbox):
    before = kyc_at_kucoin(sandbox, customer.uid)
    submission, job = kyc_submit(sub_account=customer, data=DATA)
    sandbox.set_fault("http_503", count=100, path=KYC_PATH, method="POST")  # KuCoin busy on every try

    kyc_submit_task.apply(args=(str(job.pk), submission.pk), retries=MAX_RETRIES, throw=False)

    submission.refresh_from_db()
    job.refresh_from_db()
    assert (submission.state, submission.error_code, job.state) == (KycSubmission.State.FAILED, "503000", Job.State.FAILED)
    assert "Gave up after" in job.error
    assert not_resumed(submission) and kyc_at_kucoin(sandbox, customer.uid) == before


def test_a_submission_whose_data_cannot_be_read_ends_failed_in_words_on_the_first_try(customer, sandbox, settings):
    from cryptography.fernet import Fernet

    before = kyc_at_kucoin(sandbox, customer.uid)
    submission, job = kyc_submit(sub_account=customer, data=DATA)
    # The key that encrypted it was removed before `rotate_encryption_keys` ran: no try would ever read it.
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    kyc_submit_task.apply(args=(str(job.pk), submission.pk), retries=0, throw=False)

    state, message = KycSubmission.objects.filter(pk=submission.pk).values_list("state", "error_message").get()
    job.refresh_from_db()
    assert (state, job.state) == (KycSubmission.State.FAILED, Job.State.FAILED)
    assert message.startswith("Cannot decrypt") and "FIELD_ENCRYPTION_KEYS" in job.error
    assert not_resumed(submission) and kyc_at_kucoin(sandbox, customer.uid) == before
