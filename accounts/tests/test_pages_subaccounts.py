"""The sub-account pages: list, search, create, sync, detail, retry and retire."""
import pytest

from accounts.models import BrokerProfile, SubAccount
from accounts.tests.test_pages_support import MADE_UP_PASSPHRASE, MADE_UP_SECRET, api_key, html, login, sub_account
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db

LIST = "/subaccounts/"


def test_a_viewer_sees_the_list_but_no_action(client, make_staff):
    sub_account(account_name="alice-0001")
    login(client, make_staff, "viewer")
    page = html(client.get(LIST))
    assert "alice-0001" in page
    assert "Create sub-account" not in page
    assert "Sync from KuCoin" not in page


@pytest.mark.parametrize("url", [LIST + "new/", LIST + "sync/"])
def test_a_viewer_cannot_act(client, make_staff, url):
    login(client, make_staff, "viewer")
    assert client.post(url, {"name": "someone-new"}).status_code == 403
    assert not SubAccount.objects.exists()
    assert not Job.objects.exists()


def test_an_operator_creates_a_sub_account_and_sees_its_progress(client, make_staff):
    BrokerProfile.objects.create(pk=1, sub_account_prefix="bk")
    user = login(client, make_staff, "operator")
    response = client.post(LIST + "new/", {"name": "alice-0001"})
    created = SubAccount.objects.get()
    assert created.account_name == "bkalice-0001"
    assert created.state == SubAccount.State.PENDING and created.requested_by == user
    job = Job.objects.get(kind="subaccount_create")
    assert response.status_code == 302
    assert response["Location"] == f"/subaccounts/{created.pk}/?job={job.pk}"
    detail = html(client.get(response["Location"]))
    assert "job-progress" in detail and "Being created" in detail


@pytest.mark.parametrize("name,words", [
    ("ab", "not a valid sub-account name"),
    ("has space!", "not a valid sub-account name"),
    ("", "This field is required"),
])
def test_a_bad_name_is_refused_in_words_and_kept(client, make_staff, name, words):
    login(client, make_staff, "operator")
    response = client.post(LIST + "new/", {"name": name})
    assert response.status_code == 400
    page = html(response)
    assert words in page
    assert f'value="{name}"' in page or not name
    assert not SubAccount.objects.exists()
    assert not Job.objects.exists()


def test_a_taken_name_is_refused_beside_the_field(client, make_staff):
    sub_account(account_name="alice-0001")
    login(client, make_staff, "operator")
    response = client.post(LIST + "new/", {"name": "alice-0001"})
    assert response.status_code == 400
    assert "already exists" in html(response)
    assert SubAccount.objects.count() == 1


def test_sync_queues_one_job_and_shows_it(client, make_staff):
    login(client, make_staff, "operator")
    response = client.post(LIST + "sync/")
    job = Job.objects.get(kind="subaccounts_sync")
    assert response["Location"] == f"{LIST}?job={job.pk}"
    assert job.label in html(client.get(response["Location"]))


def test_search_by_name_prefix_or_uid_and_filter_by_state(client, make_staff):
    sub_account(account_name="alice-0001", uid="111")
    sub_account(account_name="alina-0002", uid="222", state=SubAccount.State.RETIRED)
    sub_account(account_name="bob-0003", uid="333")
    login(client, make_staff, "viewer")
    page = html(client.get(LIST, {"q": "ali"}))
    assert "alice-0001" in page and "alina-0002" in page and "bob-0003" not in page
    page = html(client.get(LIST, {"q": "333"}))
    assert "bob-0003" in page and "alice-0001" not in page
    page = html(client.get(LIST, {"q": "ali", "state": "retired"}))
    assert "alina-0002" in page and "alice-0001" not in page


def test_the_list_pages_by_id_with_few_queries(client, make_staff, django_assert_max_num_queries):
    SubAccount.objects.bulk_create(
        SubAccount(account_name=f"bulk-{n:05d}", uid=str(700000 + n), state=SubAccount.State.ACTIVE) for n in range(300)
    )
    login(client, make_staff, "operator")
    with django_assert_max_num_queries(10):
        first = client.get(LIST)
    page = html(first)
    assert "bulk-00299" in page and "bulk-00250" in page and "bulk-00249" not in page
    older = first.context["page"].older_cursor
    with django_assert_max_num_queries(10):
        second = html(client.get(LIST, {"before": older}))
    assert "bulk-00249" in second and "bulk-00200" in second and "bulk-00299" not in second
    newer = client.get(LIST, {"after": client.get(LIST, {"before": older}).context["page"].object_list[0].pk})
    assert "bulk-00299" in html(newer)


def test_the_detail_page_shows_keys_without_secrets(client, make_staff):
    sub = sub_account(account_name="alice-0001")
    api_key(sub, label="trading-bot", ip_whitelist=["203.0.113.5"])
    login(client, make_staff, "viewer")
    page = html(client.get(f"/subaccounts/{sub.pk}/"))
    assert "trading-bot" in page and "203.0.113.5" in page and "General, Spot" in page
    assert MADE_UP_SECRET not in page and MADE_UP_PASSPHRASE not in page
    assert "Refresh balances" not in page and "Retire" not in page


def test_a_failed_creation_shows_the_error_and_try_again(client, make_staff):
    sub = sub_account(account_name="taken-0001", uid=None, state=SubAccount.State.FAILED,
                      error_code="400100", error_message="account name already exists")
    login(client, make_staff, "operator")
    page = html(client.get(f"/subaccounts/{sub.pk}/"))
    assert "KuCoin 400100: account name already exists" in page
    assert "Try again" in page
    response = client.post(f"/subaccounts/{sub.pk}/retry/")
    sub.refresh_from_db()
    assert sub.state == SubAccount.State.PENDING and sub.error_code == ""
    job = Job.objects.get(kind="subaccount_create")
    assert response["Location"] == f"/subaccounts/{sub.pk}/?job={job.pk}"


def test_refresh_balances_queues_a_job(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/balances/refresh/")
    job = Job.objects.get(kind="balances_refresh")
    assert response["Location"].endswith(f"?job={job.pk}")


def test_retire_says_what_happens_and_needs_the_name_typed(client, make_staff):
    sub = sub_account(account_name="alice-0001")
    api_key(sub)
    login(client, make_staff, "operator")
    page = html(client.get(f"/subaccounts/{sub.pk}/retire/"))
    assert "KuCoin cannot delete a sub-account" in page
    assert "all its API keys are deleted at KuCoin" in page
    assert "transferred back to the broker account" in page

    wrong = client.post(f"/subaccounts/{sub.pk}/retire/", {"confirm": "alice"})
    assert wrong.status_code == 400
    assert "nothing was done" in html(wrong) and 'value="alice"' in html(wrong)
    sub.refresh_from_db()
    assert sub.state == SubAccount.State.ACTIVE and not Job.objects.exists()

    response = client.post(f"/subaccounts/{sub.pk}/retire/", {"confirm": "alice-0001"})
    sub.refresh_from_db()
    assert sub.state == SubAccount.State.RETIRING
    job = Job.objects.get(kind="subaccount_retire")
    assert response["Location"] == f"/subaccounts/{sub.pk}/?job={job.pk}"


def test_a_viewer_cannot_retire(client, make_staff):
    sub = sub_account(account_name="alice-0001")
    login(client, make_staff, "viewer")
    assert client.post(f"/subaccounts/{sub.pk}/retire/", {"confirm": "alice-0001"}).status_code == 403
    sub.refresh_from_db()
    assert sub.state == SubAccount.State.ACTIVE


def test_a_creation_stuck_pending_can_be_tried_again_but_not_a_fresh_one(client, make_staff):
    from datetime import timedelta

    from django.utils import timezone

    sub = sub_account(account_name="slow-0001", uid=None, state=SubAccount.State.PENDING)
    login(client, make_staff, "operator")
    assert "Try again" not in html(client.get(f"/subaccounts/{sub.pk}/"))
    client.post(f"/subaccounts/{sub.pk}/retry/")
    assert not Job.objects.exists()
    SubAccount.objects.filter(pk=sub.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    page = html(client.get(f"/subaccounts/{sub.pk}/"))
    assert "Creation has not finished" in page and "Try again" in page
    client.post(f"/subaccounts/{sub.pk}/retry/")
    assert Job.objects.filter(kind="subaccount_create").count() == 1


def test_the_detail_page_reads_each_kind_of_row_once(client, make_staff, django_assert_max_num_queries):
    from accounts.tests.test_pages_support import transfer

    sub = sub_account()
    for _ in range(5):
        api_key(sub)
        transfer(sub)
    login(client, make_staff, "operator")
    # One read per kind of row (keys, transfers, balances, orders, rebates, addresses, payouts...), however many.
    with django_assert_max_num_queries(15):
        assert client.get(f"/subaccounts/{sub.pk}/").status_code == 200
