"""Deposits, KYC and the broker connection check, end to end through a real worker and the sandbox."""
import base64
import time
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import BrokerProfile, Deposit, KycSubmission
from accounts.services.funding import FIRST_SYNC_DAYS
from accounts.services.kyc import kyc_submit
from brokeroffice.jobs import job_start
from brokeroffice.models import Job, KuCoinCall

pytestmark = pytest.mark.worker

def kyc_records(dump: dict) -> list[dict]:
    return dump["kyc"]


TINY_PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n made-up image").decode()


def test_a_deposit_that_arrives_shows_on_its_sub_account_after_the_sync(synced_sub_accounts, sandbox, finished):
    from accounts.tasks import deposits_sync_task

    customer = synced_sub_accounts.order_by("uid").first()
    sandbox.make_deposit(customer.uid, "USDT", "250.75", chain="trx", address="TMadeUpAddress000000000000000000")
    job = finished(job_start(kind="deposits_sync", label="Deposits", task=deposits_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error

    arrived = Deposit.objects.get(sub_account=customer, amount=Decimal("250.75"))
    assert arrived.currency == "USDT" and arrived.chain == "trx" and arrived.status == "SUCCESS"
    # A first sync reads back FIRST_SYNC_DAYS: every deposit KuCoin holds from then on is stored, once.
    window_start_ms = (time.time() - FIRST_SYNC_DAYS * 86400) * 1000 + 60_000
    in_window = [d for d in sandbox.dump()["funding"]["deposits"] if d["createdAt"] >= window_start_ms]
    assert Deposit.objects.count() >= len(in_window) > 1

    # Syncing again finds the same deposits, not copies.
    before = Deposit.objects.count()
    finished(job_start(kind="deposits_sync", label="Deposits", task=deposits_sync_task))
    assert Deposit.objects.count() == before


def test_kyc_is_submitted_and_its_status_followed(synced_sub_accounts, sandbox, finished):
    from accounts.tasks import kyc_status_sync_task

    customer = synced_sub_accounts.order_by("-uid").first()
    data = {
        "first_name": "Ada", "last_name": "Example", "issue_country": "JP", "birth_date": "1990-01-02",
        "identity_type": "passport", "identity_number": "MADEUP123", "expire_date": "2099-01-01",
        "front_photo": TINY_PNG, "backend_photo": "", "face_photo": TINY_PNG,
    }
    submission, job = kyc_submit(sub_account=customer, data=data)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    submission.refresh_from_db()
    assert submission.state == KycSubmission.State.SUBMITTED
    assert "front_photo" not in submission.personal_data  # photos are not kept once sent
    with connection.cursor() as cursor:
        cursor.execute("SELECT personal_data FROM accounts_kycsubmission WHERE id = %s", [submission.pk])
        assert "MADEUP123" not in cursor.fetchone()[0]  # personal data is encrypted at rest

    sandbox.advance_time(3600)  # the sandbox decides a review after a while
    job = finished(job_start(kind="kyc_status_sync", label="KYC", task=kyc_status_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    submission.refresh_from_db()
    at_kucoin = {str(record["clientUid"]): record for record in kyc_records(sandbox.dump())}
    assert submission.kyc_status == at_kucoin[customer.uid]["status"] == "PASS"


def test_the_broker_check_reports_the_connection(kucoin_worker, sandbox, finished):
    from accounts.tasks import broker_check_task

    job = finished(job_start(kind="broker_check", label="Check", task=broker_check_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    profile = BrokerProfile.objects.get()
    assert profile.check_ok is True
    assert sandbox.broker["broker_name"] in profile.check_message
    assert KuCoinCall.objects.filter(path="/api/v1/broker/nd/info", code="200000", credential="broker").exists()


def test_a_wrong_broker_key_is_named_plainly(kucoin_worker, sandbox, finished, settings):

    # The worker reads the broker identity from the profile when the environment gives none:
    # it is given one here, so a wrong broker key goes in through the environment of a fresh check.
    settings.KUCOIN_BROKER_KEY = "made-up-wrong-broker-key"
    from accounts.services.broker import broker_check

    ok, message = broker_check()
    assert ok is False
    assert "400201" in message and "partner signature is wrong" in message
    assert BrokerProfile.objects.get().check_message == message


def test_a_moment_of_kucoin_being_busy_is_tried_again_not_shown_as_a_failed_check(kucoin_worker, sandbox, finished):
    from accounts.tasks import broker_check_task

    # Every try the transport makes of one call (it tries a read again by itself), then KuCoin answers again.
    sandbox.set_fault("http_503", count=4, path="/api/v1/broker/nd/info")
    job = finished(job_start(kind="broker_check", label="Check the broker connection", task=broker_check_task))

    assert job.state == Job.State.SUCCEEDED, job.error
    profile = BrokerProfile.objects.get()
    assert profile.check_ok is True and profile.check_message.startswith("Connected as")
