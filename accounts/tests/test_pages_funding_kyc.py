"""Deposits and withdrawals in one list, and the KYC form and status check."""
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Deposit, KycSubmission, SubAccount, Withdrawal
from accounts.tests.test_pages_support import html, login, sub_account
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def deposit(sub, n, **fields):
    defaults = {"sub_account": sub, "uid": sub.uid, "currency": "USDT", "amount": Decimal("10"), "hash": f"made-up-hash-{n}",
                "status": "SUCCESS", "synced_at": timezone.now(), "kucoin_created_at": timezone.now()}
    return Deposit.objects.create(**{**defaults, **fields})


def test_deposits_and_withdrawals_in_one_list_with_filters(client, make_staff):
    alice, bob = sub_account(account_name="alice-0001"), sub_account(account_name="bob-0002")
    deposit(alice, 1, currency="BTC", amount=Decimal("0.5"))
    deposit(bob, 2, status="PROCESSING")
    Withdrawal.objects.create(withdrawal_id="made-up-wd-1", sub_account=alice, uid=alice.uid, currency="USDT",
                              amount=Decimal("3"), status="PROCESSING", synced_at=timezone.now())
    login(client, make_staff, "viewer")
    page = html(client.get("/deposits/"))
    assert "made-up-hash-1" in page and "made-up-hash-2" in page and "made-up-wd-1" in page
    assert "Sync deposits" not in page
    assert "made-up-hash-2" not in html(client.get("/deposits/", {"currency": "btc"}))
    only_bob = html(client.get("/deposits/", {"uid": bob.uid}))
    assert "made-up-hash-2" in only_bob and "made-up-hash-1" not in only_bob and "made-up-wd-1" not in only_bob
    assert "made-up-hash-1" not in html(client.get("/deposits/", {"status": "PROCESSING"}))


def test_sync_buttons_queue_jobs_for_operators_only(client, make_staff):
    login(client, make_staff, "viewer")
    assert client.post("/deposits/sync/").status_code == 403
    assert client.post("/withdrawals/sync/").status_code == 403
    login(client, make_staff, "operator")
    assert "Sync deposits" in html(client.get("/deposits/"))
    response = client.post("/deposits/sync/")
    assert response["Location"] == f"/deposits/?job={Job.objects.get(kind='deposits_sync').pk}"
    client.post("/withdrawals/sync/")
    assert Job.objects.filter(kind="withdrawals_sync").exists()


def test_the_deposit_list_uses_few_queries(client, make_staff, django_assert_max_num_queries):
    sub = sub_account()
    Deposit.objects.bulk_create(
        Deposit(sub_account=sub, uid=sub.uid, currency="USDT", amount=Decimal(n + 1), hash=f"h-{n}", status="SUCCESS",
                synced_at=timezone.now()) for n in range(300)
    )
    login(client, make_staff, "viewer")
    with django_assert_max_num_queries(10):
        assert "h-299" in html(client.get("/deposits/"))


def kyc_data(**changes):
    data = {"first_name": "Ada", "last_name": "Made-Up", "issue_country": "de", "birth_date": "1990-01-02",
            "identity_type": "idcard", "identity_number": "MADEUP123", "expire_date": "2030-01-01",
            "front_photo": SimpleUploadedFile("front.png", PNG), "backend_photo": SimpleUploadedFile("back.jpg", JPEG),
            "face_photo": SimpleUploadedFile("face.png", PNG)}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_kyc_is_stored_encrypted_with_photos_as_data_urls(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "operator")
    assert "Submit KYC" in html(client.get(f"/subaccounts/{sub.pk}/kyc/new/"))
    response = client.post(f"/subaccounts/{sub.pk}/kyc/new/", kyc_data())
    submission = KycSubmission.objects.get()
    data = json.loads(submission.personal_data)
    assert data["issue_country"] == "DE" and data["birth_date"] == "1990-01-02"
    assert data["front_photo"].startswith("data:image/png;base64,")
    assert data["backend_photo"].startswith("data:image/jpeg;base64,")
    assert response["Location"] == f"/subaccounts/{sub.pk}/?job={Job.objects.get(kind='kyc_submit').pk}"
    page = html(client.get(f"/subaccounts/{sub.pk}/"))
    assert "MADEUP123" not in page and "Waiting to be sent" in page


@pytest.mark.parametrize("changes,words", [
    ({"front_photo": None}, "front of the document is required"),
    ({"identity_type": "drivinglicense", "backend_photo": None}, "back of the document is required"),
    ({"face_photo": SimpleUploadedFile("face.gif", b"GIF89a" + b"\x00" * 10)}, "must be a PNG or JPEG"),
    ({"face_photo": SimpleUploadedFile("big.png", PNG + b"\x00" * (2 * 1024 * 1024))}, "at most 2 MB is accepted"),
    ({"birth_date": "02/01/1990x"}, "Enter a valid date"),
    ({"issue_country": "Germany"}, "at most 2 characters"),
])
def test_bad_kyc_is_refused_in_words_and_keeps_the_text(client, make_staff, changes, words):
    sub = sub_account()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/kyc/new/", kyc_data(**changes))
    assert response.status_code == 400
    page = html(response)
    assert words in page
    assert 'value="Made-Up"' in page and 'value="MADEUP123"' in page
    assert not KycSubmission.objects.exists() and not Job.objects.exists()


@pytest.mark.parametrize("identity_type,missing", [("passport", "backend_photo"), ("bvn", "front_photo"), ("bvn", "backend_photo")])
def test_photos_kucoin_does_not_need_are_optional(client, make_staff, identity_type, missing):
    sub = sub_account()
    login(client, make_staff, "operator")
    client.post(f"/subaccounts/{sub.pk}/kyc/new/", kyc_data(identity_type=identity_type, **{missing: None}))
    assert KycSubmission.objects.filter(identity_type=identity_type).exists()


def test_kyc_status_shown_and_checked(client, make_staff):
    sub = sub_account()
    KycSubmission.objects.create(sub_account=sub, identity_type="passport", issue_country="DE", personal_data="{}",
                                 state=KycSubmission.State.SUBMITTED, kyc_status=KycSubmission.KycStatus.REJECT,
                                 reject_reason="Photo is blurred")
    login(client, make_staff, "viewer")
    page = html(client.get(f"/subaccounts/{sub.pk}/"))
    assert "Rejected: Photo is blurred" in page and "Check KYC status" not in page
    assert client.post(f"/subaccounts/{sub.pk}/kyc/check/").status_code == 403
    assert client.post(f"/subaccounts/{sub.pk}/kyc/new/", kyc_data()).status_code == 403
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/kyc/check/")
    assert response["Location"] == f"/subaccounts/{sub.pk}/?job={Job.objects.get(kind='kyc_status_sync').pk}"


def test_kyc_for_a_sub_account_that_is_not_active_is_refused(client, make_staff):
    sub = sub_account(state=SubAccount.State.PENDING, uid=None)
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/kyc/new/", kyc_data())
    assert response.status_code == 400 and "KYC is sent for active sub-accounts" in html(response)
    assert not KycSubmission.objects.exists()
