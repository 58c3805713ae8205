"""Transfers: the form (Decimal amounts, refused in words), the list, try again, sync."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import SubAccount, Transfer
from accounts.tests.test_pages_support import html, login, sub_account, transfer
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db

GOOD = {"direction": "OUT", "currency": "usdt", "amount": "12.5",
        "broker_account_type": "MAIN", "sub_account_type": "TRADE"}


def test_an_operator_sends_a_transfer_with_an_exact_decimal_amount(client, make_staff):
    sub = sub_account()
    user = login(client, make_staff, "operator")
    assert "Send transfer" in html(client.get(f"/subaccounts/{sub.pk}/transfers/new/"))
    response = client.post(f"/subaccounts/{sub.pk}/transfers/new/", {**GOOD, "amount": "1234.56789"})
    made = Transfer.objects.get()
    assert made.amount == Decimal("1234.56789")
    assert (made.currency, made.direction, made.broker_account_type, made.sub_account_type) == ("USDT", "OUT", "MAIN", "TRADE")
    assert made.state == Transfer.State.PENDING and made.requested_by == user and made.client_oid
    job = Job.objects.get(kind="transfer_send")
    assert response["Location"] == f"/subaccounts/{sub.pk}/?job={job.pk}"


@pytest.mark.parametrize("amount,words", [
    ("0", "more than zero"),
    ("-5", "more than zero"),
    ("ten", "Enter a number"),
    ("1.0000000000000000001", "no more than 18 decimal places"),
    ("1" * 19 + ".5", "no more than 18 digits before the decimal point"),
    ("", "This field is required"),
])
def test_a_bad_amount_is_refused_in_words_and_kept(client, make_staff, amount, words):
    sub = sub_account()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/transfers/new/", {**GOOD, "amount": amount})
    assert response.status_code == 400
    page = html(response)
    assert words in page
    assert f'value="{amount}"' in page or not amount
    assert 'value="usdt"' in page  # the rest of what was typed stays too
    assert not Transfer.objects.exists() and not Job.objects.exists()


def test_a_bad_currency_and_account_type_are_refused(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/transfers/new/", {**GOOD, "currency": "US DT", "sub_account_type": "MARGIN"})
    page = html(response)
    assert "is not a currency code" in page and "Select a valid choice" in page
    assert not Transfer.objects.exists()


def test_a_transfer_to_a_retired_sub_account_is_refused(client, make_staff):
    sub = sub_account(state=SubAccount.State.RETIRED)
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/transfers/new/", GOOD)
    assert response.status_code == 400 and "funds move only to and from active sub-accounts" in html(response)
    assert not Transfer.objects.exists()


def test_a_viewer_cannot_transfer(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "viewer")
    assert client.post(f"/subaccounts/{sub.pk}/transfers/new/", GOOD).status_code == 403
    assert client.post("/transfers/sync/").status_code == 403
    assert not Transfer.objects.exists() and not Job.objects.exists()


def test_the_list_shows_state_ids_and_the_error_in_words(client, make_staff):
    sub = sub_account(account_name="alice-0001")
    done = transfer(sub, state=Transfer.State.SUCCEEDED, kucoin_order_id="kc-order-1")
    failed = transfer(sub, state=Transfer.State.FAILED, error_code="200004", error_message="Insufficient balance")
    login(client, make_staff, "viewer")
    page = html(client.get("/transfers/"))
    assert str(done.client_oid) in page and "kc-order-1" in page and "Done" in page
    assert "KuCoin 200004: Insufficient balance" in page and str(failed.client_oid) in page
    assert "Sync open transfers" not in page and "Try again" not in page


def test_try_again_is_offered_for_a_stalled_or_failed_send_and_queues_the_same_transfer(client, make_staff):
    sub = sub_account()
    stuck = transfer(sub, state=Transfer.State.UNKNOWN, error_code="500000", error_message="Internal error")
    fresh = transfer(sub, state=Transfer.State.PENDING)
    ended = transfer(sub, state=Transfer.State.FAILED, error_code="200004", error_message="Insufficient balance")
    login(client, make_staff, "operator")
    page = html(client.get("/transfers/"))
    assert page.count("Try again") == 1 and f"/transfers/{stuck.pk}/retry/" in page
    Transfer.objects.filter(pk=fresh.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    assert f"/transfers/{fresh.pk}/retry/" in html(client.get("/transfers/"))

    response = client.post(f"/transfers/{stuck.pk}/retry/")
    job = Job.objects.get(kind="transfer_send")
    assert response["Location"] == f"/transfers/?job={job.pk}"
    assert Transfer.objects.count() == 3  # the same transfer, same clientOid: never a second one

    refused = client.post(f"/transfers/{ended.pk}/retry/", follow=True)
    assert "make a new one instead" in html(refused)


def test_sync_and_few_queries_on_the_list(client, make_staff, django_assert_max_num_queries):
    subs = [sub_account() for _ in range(5)]
    Transfer.objects.bulk_create(
        Transfer(sub_account=subs[n % 5], direction="OUT", currency="USDT", amount=Decimal(n + 1), client_oid=f"oid-{n}")
        for n in range(300)
    )
    login(client, make_staff, "operator")
    with django_assert_max_num_queries(10):
        first = client.get("/transfers/")
    assert "oid-299" in html(first) and "oid-249" not in html(first)
    with django_assert_max_num_queries(10):
        assert "oid-249" in html(client.get("/transfers/", {"before": first.context["page"].older_cursor}))
    response = client.post("/transfers/sync/")
    assert response["Location"] == f"/transfers/?job={Job.objects.get(kind='transfers_sync').pk}"


def test_the_list_filters_by_sub_account(client, make_staff):
    alice, bob = sub_account(account_name="alice-0001"), sub_account(account_name="bob-0002")
    mine, other = transfer(alice), transfer(bob)
    login(client, make_staff, "viewer")
    page = html(client.get("/transfers/", {"sub_account": alice.pk}))
    assert str(mine.client_oid) in page and str(other.client_oid) not in page
