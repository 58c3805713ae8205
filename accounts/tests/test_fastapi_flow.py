"""Fast API end to end through a real worker and the sandbox: the code exchanged, tokens stored encrypted, the
key created and usable for tagged orders; KuCoin's refusals in words; token upkeep; disconnect."""
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from accounts.models import FastApiConnection
from accounts.services.fastapi import (ConnectionKeyUnusable, connection_client, fastapi_disconnect,
                                       failure_for_customer, failure_for_staff, oauth_client, usable_connections)
from accounts.tasks import fastapi_connect_task, fastapi_tokens_refresh_task
from accounts.tests.fastapi_support import configure, customer, local, log_in_at_kucoin, raw_columns, shift_clock
from accounts.tests.sandbox_state import keys_of
from brokeroffice.jobs import job_start
from brokeroffice.models import Job, KuCoinCall

pytestmark = pytest.mark.worker

BASE = "http://testserver"


@pytest.fixture(autouse=True)
def no_start_budget_used(settings):
    """A cache of this test's own: the start URL's per-address budget is not shared with other runs."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"fastapi-test-{uuid.uuid4()}"}}


@pytest.fixture
def configured(kucoin_worker, sandbox):
    return configure(sandbox, BASE)


def connect(client, sandbox, finished, ref="cust-0042", username="alice@example.com"):
    """The customer's whole login; returns the connection and the job that completed it."""
    who = customer(sandbox, username)
    callback = local(log_in_at_kucoin(client.get("/connect/kucoin/", {"customer": ref})["Location"],
                                      who["username"], who["password"]))
    status_url = client.get(callback)["Location"]
    connection = FastApiConnection.objects.get(customer_ref=ref, code_received_at__isnull=False)
    job = finished(Job.objects.filter(kind="fastapi_connect").latest("created_at"))
    connection.refresh_from_db()
    return connection, job, status_url


def run_refresh(finished):
    job = finished(job_start(kind="fastapi_tokens_refresh", label="Refresh Fast API tokens",
                             task=fastapi_tokens_refresh_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    return job


def test_the_connection_creates_a_key_whose_orders_are_tagged(client, configured, sandbox, finished, kucoin_worker):
    connection, job, status_url = connect(client, sandbox, finished)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert connection.state == "key_created"

    state = sandbox.dump()
    oauth = state["oauth"]
    # The tokens KuCoin issued are the ones held, encrypted, with their expiry times.
    assert oauth["accessTokens"][connection.access_token]["revoked"] is False
    assert connection.refresh_token in oauth["refreshTokens"]
    assert timedelta(minutes=59) < connection.access_expires_at - connection.connected_at <= timedelta(hours=1)
    assert connection.refresh_expires_at - connection.connected_at >= timedelta(days=2, hours=23)
    raw = raw_columns(connection.pk)
    for name, plain in (("access_token", connection.access_token), ("refresh_token", connection.refresh_token),
                        ("api_secret", connection.api_secret), ("api_passphrase", connection.api_passphrase)):
        assert plain and plain not in raw[name]
    assert raw["code"] == ""  # the code was exchanged and forgotten

    # The key is the customer's, bound to the broker, with its authGroup and whitelist as KuCoin gave them.
    alice = customer(sandbox)
    fast = oauth["fastKeys"][connection.api_key]
    assert fast["uid"] == alice["uid"] and fast["apiName"] == connection.api_name
    assert keys_of(state, alice["uid"])[connection.api_key]["secret"] == connection.api_secret
    assert connection.auth_groups == ["API_COMMON", "API_FUTURES", "API_SPOT", "API_EARN"]
    assert connection.broker_id == fast["brokerId"] and connection.ip_whitelist == ""

    # The customer's page says so; no token on it.
    page = client.get(status_url).content.decode()
    assert "Your KuCoin account is connected" in page
    assert connection.access_token not in page and connection.api_secret not in page

    # A tagged order with that key: KuCoin attributes it to the broker.
    assert list(usable_connections()) == [connection]
    kucoin = connection_client(connection)
    oid = uuid.uuid4().hex
    placed = kucoin.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid=oid,
                                     price=Decimal("1000"), size=Decimal("0.001"))
    order = kucoin.spot.get_order(placed.order_id, "BTC-USDT")
    assert order.client_oid == oid and order.tags

    # The call log shows the OAuth calls, by path, never a token.
    oauth_calls = KuCoinCall.objects.filter(family="oauth")
    assert {c.path for c in oauth_calls} == {"/_oauth/access-token", "/_oauth/resource/ucenter/outer/api-key/add"}
    assert {c.actor for c in oauth_calls} == {"customer cust-0042"}
    assert {c.credential for c in oauth_calls} == {connection.credential_id}  # which connection, never a token
    for call in KuCoinCall.objects.all():
        for secret in (connection.access_token, connection.refresh_token, connection.api_secret):
            assert secret not in f"{call.path} {call.error} {call.credential}"
    assert KuCoinCall.objects.filter(credential=connection.credential_id, path__contains="/orders").exists()
    # Nor in what the worker logged.
    worker_log = "\n".join(kucoin_worker.output)
    for secret in (connection.access_token, connection.refresh_token, connection.api_secret, connection.api_passphrase):
        assert secret not in worker_log


def test_tokens_are_refreshed_before_their_hour_is_up(client, configured, sandbox, finished):
    connection, job, _ = connect(client, sandbox, finished)
    old_access, old_refresh = connection.access_token, connection.refresh_token
    sandbox.advance_time(55 * 60)
    shift_clock(connection.pk, timedelta(minutes=55))

    run_refresh(finished)
    connection.refresh_from_db()
    oauth = sandbox.dump()["oauth"]
    assert connection.state == "key_created"
    assert connection.access_token != old_access and connection.refresh_token != old_refresh
    assert oauth["accessTokens"][old_access]["revoked"] and oauth["refreshTokens"][old_refresh]["revoked"]
    assert oauth["accessTokens"][connection.access_token]["revoked"] is False
    assert connection.access_expires_at - connection.tokens_refreshed_at > timedelta(minutes=59)
    # A token far from its end is left alone.
    run_refresh(finished)
    assert FastApiConnection.objects.get(pk=connection.pk).access_token == connection.access_token


def test_after_three_days_the_customer_must_reconnect_and_the_key_keeps_working(client, configured, sandbox, finished):
    connection, job, _ = connect(client, sandbox, finished)
    api_key = connection.api_key
    sandbox.advance_time(3 * 86400 + 600)
    # Here the access token looks due; KuCoin is the one that says the refresh token is over.
    shift_clock(connection.pk, timedelta(hours=1), refresh_too=False)

    run_refresh(finished)
    connection.refresh_from_db()
    assert connection.state == "reconnect_needed"
    assert connection.access_token == "" and connection.refresh_token == ""
    assert "expired" in connection.error_message
    assert connection.key_usable
    balances = connection_client(connection).spot.get_balances()
    assert isinstance(balances, list) and balances

    # The customer connects again: new tokens, the same key, no second key at KuCoin.
    keys_before = set(keys_of(sandbox.dump(), customer(sandbox)["uid"]))
    again, job, status_url = connect(client, sandbox, finished)
    assert again.pk == connection.pk and job.state == Job.State.SUCCEEDED, job.error
    assert again.state == "key_created" and again.api_key == api_key and again.access_token
    assert set(keys_of(sandbox.dump(), customer(sandbox)["uid"])) == keys_before


def _connected_without_key(sandbox, ref, api_name=""):
    """A connection whose tokens were received but whose key is not made yet (as after the exchange)."""
    from django.utils import timezone

    who = customer(sandbox)
    client = oauth_client()
    code = dict(parse_qsl(urlsplit(log_in_at_kucoin(
        client.authorize_url(sandbox.oauth["redirect_uri"], "made-up-state"), who["username"], who["password"])).query))["code"]
    tokens = client.exchange_code(code, sandbox.oauth["redirect_uri"])
    return FastApiConnection.objects.create(
        customer_ref=ref, state="connected", access_token=tokens.access_token, access_expires_at=tokens.expires_at,
        refresh_token=tokens.refresh_token, refresh_expires_at=timezone.now() + timedelta(days=3), api_name=api_name,
        connected_at=timezone.now()), tokens


def _complete(finished, connection):
    return finished(job_start(kind="fastapi_connect", label="Connect", task=fastapi_connect_task, args=(connection.pk,)))


def test_a_repeated_api_name_is_told_in_words(configured, sandbox, finished):
    connection, tokens = _connected_without_key(sandbox, "cust-dup", api_name="broker-desk")
    oauth_client().create_api_key(tokens.access_token, body={"apiName": "broker-desk"})  # already on the account
    job = _complete(finished, connection)
    connection.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert connection.state == "failed" and connection.failure_kind == "duplicate_api_name"
    assert "already has a key with this apiName" in failure_for_staff(connection)
    assert "KuCoin 40901" in failure_for_staff(connection) and "40901" in job.error
    assert "Delete that key at KuCoin" in failure_for_customer(connection)
    assert connection.access_token and connection.api_key is None


def test_too_many_keys_is_told_in_words_and_staff_can_retry_once_a_slot_is_free(client, configured, sandbox, finished, make_staff):
    connection, tokens = _connected_without_key(sandbox, "cust-full")
    made = [oauth_client().create_api_key(tokens.access_token, body={"apiName": f"other-{i}"}) for i in range(20)]
    job = _complete(finished, connection)
    connection.refresh_from_db()
    assert job.state == Job.State.FAILED and connection.failure_kind == "too_many_keys"
    assert "maximum number of API keys" in failure_for_staff(connection)
    page = client.get(f"/connect/kucoin/status/{connection.public_id}/").content.decode()
    assert "as many API keys as KuCoin allows" in page and "Connect KuCoin again" in page

    # The customer deletes one at KuCoin; an operator asks again from the staff page.
    with sandbox.world.lock:  # white-box: KuCoin's own site has the delete button, its API has none
        del sandbox.world.accounts.keys[made[0].api_key]
    client.force_login(make_staff("operator"))
    response = client.post(f"/fast-api/{connection.pk}/retry/")
    assert response.status_code == 302
    finished(Job.objects.filter(kind="fastapi_connect").latest("created_at"))
    connection.refresh_from_db()
    assert connection.state == "key_created" and connection.api_key in oauth_client_keys(sandbox)


def oauth_client_keys(sandbox):
    return sandbox.dump()["oauth"]["fastKeys"]


def test_an_expired_token_is_told_in_words(configured, sandbox, finished):
    connection, _ = _connected_without_key(sandbox, "cust-late")
    sandbox.advance_time(3 * 86400 + 60)  # access and refresh token both over at KuCoin
    job = _complete(finished, connection)
    connection.refresh_from_db()
    assert job.state == Job.State.FAILED and connection.failure_kind == "token_expired"
    assert "expired or revoked" in failure_for_staff(connection)
    assert "ran out before we could finish" in failure_for_customer(connection)


def test_disconnect_deletes_the_tokens_and_on_request_stops_using_the_key(client, configured, sandbox, finished):
    connection, _, _ = connect(client, sandbox, finished)
    fastapi_disconnect(connection=connection, mark_key_unused=False)
    connection.refresh_from_db()
    assert connection.state == "disconnected" and connection.access_token == "" and connection.refresh_token == ""
    assert connection.key_usable  # the key keeps working unless staff say otherwise
    fastapi_disconnect(connection=connection, mark_key_unused=True)
    connection.refresh_from_db()
    assert not connection.key_usable and list(usable_connections()) == []
    with pytest.raises(ConnectionKeyUnusable):
        connection_client(connection)


def test_a_dropped_token_exchange_is_tried_again(client, configured, sandbox, finished):
    sandbox.set_fault("drop_before", count=1, path="/_oauth/access-token")
    connection, job, _ = connect(client, sandbox, finished)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 2 and connection.state == "key_created"
    calls = KuCoinCall.objects.filter(family="oauth", path="/_oauth/access-token")
    assert [c.error for c in calls.order_by("id")] == ["ServiceUnavailableError", ""]


def test_a_lost_key_creation_answer_never_makes_a_second_key(client, configured, sandbox, finished):
    """KuCoin made the key but the answer was lost: the retry sends the same apiName, KuCoin refuses it, and
    the customer is asked to delete that key (its secret never reached us) rather than getting two."""
    alice = customer(sandbox)
    before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.set_fault("drop_after", count=1, path="/_oauth/resource/ucenter/outer/api-key/add")
    connection, job, status_url = connect(client, sandbox, finished)
    assert job.state == Job.State.FAILED and job.attempts == 2
    assert connection.failure_kind == "key_lost" and connection.api_key is None
    new_keys = {k: v for k, v in keys_of(sandbox.dump(), alice["uid"]).items() if k not in before}
    assert [v["label"] for v in new_keys.values()] == [connection.api_name]
    page = client.get(status_url).content.decode()
    assert "Delete the key named below" in page and connection.api_name in page
    assert "probably created" in failure_for_staff(connection)


def test_without_an_api_name_a_lost_answer_is_never_sent_twice(client, configured, sandbox, finished):
    configured.send_api_name = False
    configured.save()
    alice = customer(sandbox)
    before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.set_fault("drop_after", count=1, path="/_oauth/resource/ucenter/outer/api-key/add")
    connection, job, status_url = connect(client, sandbox, finished)
    assert job.state == Job.State.FAILED and connection.failure_kind == "key_unknown"
    assert len(set(keys_of(sandbox.dump(), alice["uid"])) - before) == 1
    assert KuCoinCall.objects.filter(path="/_oauth/resource/ucenter/outer/api-key/add").count() == 1
    assert "delete the one created just now" in client.get(status_url).content.decode()


def test_a_5xx_on_the_token_exchange_is_tried_again(client, configured, sandbox, finished):
    sandbox.set_fault("http_503", count=1, path="/_oauth/access-token")
    connection, job, status_url = connect(client, sandbox, finished)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 2 and connection.state == "key_created" and connection.failure_kind == ""
    assert "Your KuCoin account is connected" in client.get(status_url).content.decode()
    calls = KuCoinCall.objects.filter(family="oauth", path="/_oauth/access-token").order_by("id")
    assert [c.http_status for c in calls] == [503, 200]


def test_a_5xx_on_key_creation_is_tried_again_and_makes_one_key(client, configured, sandbox, finished):
    alice = customer(sandbox)
    before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.set_fault("http_502", count=1, path="/_oauth/resource/ucenter/outer/api-key/add")
    connection, job, _ = connect(client, sandbox, finished)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 2 and connection.state == "key_created"
    new_keys = {k: v for k, v in keys_of(sandbox.dump(), alice["uid"]).items() if k not in before}
    assert list(new_keys) == [connection.api_key] and new_keys[connection.api_key]["label"] == connection.api_name


def test_a_5xx_on_the_scheduled_refresh_keeps_the_tokens_for_the_next_run(client, configured, sandbox, finished):
    connection, _, _ = connect(client, sandbox, finished)
    old_access, old_refresh = connection.access_token, connection.refresh_token
    sandbox.advance_time(55 * 60)
    shift_clock(connection.pk, timedelta(minutes=55))
    sandbox.set_fault("http_502", count=1, path="/_oauth/refresh-token")

    job = run_refresh(finished)
    assert job.result["later"] == 1 and job.result["reconnect_needed"] == 0
    connection.refresh_from_db()
    assert connection.state == "key_created" and connection.error_message == ""
    assert (connection.access_token, connection.refresh_token) == (old_access, old_refresh)

    job = run_refresh(finished)  # KuCoin is back: the held refresh token still works
    assert job.result["refreshed"] == 1
    connection.refresh_from_db()
    assert connection.state == "key_created" and connection.refresh_token not in ("", old_refresh)


def test_staff_asking_again_after_a_lost_answer_never_make_a_second_key(client, configured, sandbox, finished, make_staff):
    alice = customer(sandbox)
    before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.set_fault("drop_after", count=1, path="/_oauth/resource/ucenter/outer/api-key/add")
    connection, job, _ = connect(client, sandbox, finished)
    assert connection.failure_kind == "key_lost"

    client.force_login(make_staff("operator"))
    assert client.post(f"/fast-api/{connection.pk}/retry/").status_code == 302
    job = finished(Job.objects.filter(kind="fastapi_connect").latest("created_at"))
    connection.refresh_from_db()
    # KuCoin still holds the key the lost call made: the same apiName is refused again, nothing new is made.
    assert job.state == Job.State.FAILED and connection.failure_kind == "key_lost" and connection.api_key is None
    new_keys = {k: v for k, v in keys_of(sandbox.dump(), alice["uid"]).items() if k not in before}
    assert [v["label"] for v in new_keys.values()] == [connection.api_name]


def test_a_429_on_key_creation_is_waited_out_even_without_an_api_name(client, configured, sandbox, finished):
    """KuCoin refused the call for its rate, so it made nothing: the next try is no repeat of a lost call."""
    configured.send_api_name = False
    configured.save()
    alice = customer(sandbox)
    before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.set_fault("rate_limit", count=1, path="/_oauth/resource/ucenter/outer/api-key/add")
    connection, job, _ = connect(client, sandbox, finished)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 2 and connection.state == "key_created"
    assert set(keys_of(sandbox.dump(), alice["uid"])) - before == {connection.api_key}


# -- a key creation that ended without a key (finding: the customer was stuck) ------------------------------

KEY_ADD = "/_oauth/resource/ucenter/outer/api-key/add"


def _stalled_without_key(sandbox, ref, *, made_before: bool):
    """A connection whose task gave up after a key-creation call whose answer never came (as after KuCoin kept
    failing, or an unexpected error): connected, no key, untouched for an hour. With `made_before`, that lost
    call made the key at KuCoin."""
    from django.utils import timezone

    row, tokens = _connected_without_key(sandbox, ref, api_name=f"broker-stuck-{ref}")
    if made_before:
        oauth_client().create_api_key(tokens.access_token, body={"apiName": row.api_name})
    an_hour_ago = timezone.now() - timedelta(hours=1)
    FastApiConnection.objects.filter(pk=row.pk).update(sent_at=an_hour_ago, code_received_at=an_hour_ago,
                                                       updated_at=an_hour_ago)
    return row


@pytest.mark.parametrize("made_before", [False, True], ids=["lost-call-made-nothing", "lost-call-made-the-key"])
def test_a_customer_whose_key_creation_stalled_connects_again_and_never_gets_a_second_key(
        client, configured, sandbox, finished, made_before):
    alice = customer(sandbox)
    row = _stalled_without_key(sandbox, "cust-0042", made_before=made_before)
    keys_before = set(keys_of(sandbox.dump(), alice["uid"]))
    status_url = f"/connect/kucoin/status/{row.public_id}/"
    page = client.get(status_url).content.decode()
    assert "KuCoin did not answer us" in page and "Connect KuCoin again" in page

    # The page's link leads to KuCoin's login again, not to "already connected".
    start = client.get("/connect/kucoin/", {"customer": "cust-0042"})
    assert start.status_code == 302 and start["Location"].startswith(sandbox.urls["oauth"]), start.content[:300]
    callback = local(log_in_at_kucoin(start["Location"], alice["username"], alice["password"]))
    assert client.get(callback)["Location"] == status_url  # the same connection, with its apiName
    job = finished(Job.objects.filter(kind="fastapi_connect").latest("created_at"))
    connection = FastApiConnection.objects.get(customer_ref="cust-0042")
    assert connection.pk == row.pk and connection.api_name == row.api_name

    new_keys = {k: v for k, v in keys_of(sandbox.dump(), alice["uid"]).items() if k not in keys_before}
    page = client.get(status_url).content.decode()
    if made_before:
        # KuCoin refuses the name the lost call used: the customer deletes that key instead of getting a second.
        assert job.state == Job.State.FAILED and connection.failure_kind == "key_lost"
        assert new_keys == {} and "Delete the key named below" in page and row.api_name in page
    else:
        assert job.state == Job.State.SUCCEEDED, job.error
        assert connection.state == "key_created" and list(new_keys) == [connection.api_key]
        assert new_keys[connection.api_key]["label"] == row.api_name
        assert "Your KuCoin account is connected" in page


def test_a_refusal_after_a_lost_answer_keeps_the_connection_so_connecting_again_makes_no_second_key(
        client, configured, sandbox, finished):
    alice = customer(sandbox)
    row = _stalled_without_key(sandbox, "cust-0042", made_before=True)
    keys_before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.advance_time(3 * 86400 + 60)  # the tokens ran out at KuCoin meanwhile
    job = _complete(finished, row)
    row.refresh_from_db()
    assert job.state == Job.State.FAILED and row.failure_kind == "token_expired"
    status_url = f"/connect/kucoin/status/{row.public_id}/"
    assert "ran out before we could finish" in client.get(status_url).content.decode()

    # The customer connects again: the same connection asks under the same name, and KuCoin refuses it.
    start = client.get("/connect/kucoin/", {"customer": "cust-0042"})
    assert client.get(local(log_in_at_kucoin(start["Location"], alice["username"], alice["password"])))["Location"] \
        == status_url
    finished(Job.objects.filter(kind="fastapi_connect").latest("created_at"))
    assert FastApiConnection.objects.get(customer_ref="cust-0042").failure_kind == "key_lost"
    assert set(keys_of(sandbox.dump(), alice["uid"])) == keys_before


def test_the_resume_schedule_finishes_a_key_creation_whose_task_gave_up(configured, sandbox, finished):
    from accounts.tasks import resume_stalled_task

    alice = customer(sandbox)
    row = _stalled_without_key(sandbox, "cust-0043", made_before=False)
    keys_before = set(keys_of(sandbox.dump(), alice["uid"]))
    job = finished(job_start(kind="resume_stalled", label="Resume", task=resume_stalled_task))
    assert job.result == {"resumed": 1}, job.message
    resumed = finished(Job.objects.get(requested_by_label="resume"))
    assert resumed.state == Job.State.SUCCEEDED, resumed.error
    row.refresh_from_db()
    assert row.state == "key_created"
    new_keys = {k: v for k, v in keys_of(sandbox.dump(), alice["uid"]).items() if k not in keys_before}
    assert list(new_keys) == [row.api_key] and new_keys[row.api_key]["label"] == row.api_name
    # Done: the next run finds nothing.
    assert finished(job_start(kind="resume_stalled", label="Resume", task=resume_stalled_task)).result == {"resumed": 0}


# -- a disconnect while a worker waits for KuCoin (finding: the worker's save undid it) -----------------------

def _fired(sandbox, kind):
    return any(f["kind"] == kind and f["fired"] for f in sandbox.faults())


def test_a_disconnect_while_kucoin_creates_the_key_stands_and_the_key_made_is_kept(client, configured, sandbox, finished):
    from brokeroffice.testing.waiting import wait_until

    alice = customer(sandbox)
    keys_before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.set_fault("latency", count=1, path=KEY_ADD, ms=3000)
    start = client.get("/connect/kucoin/", {"customer": "cust-0042"})
    status_url = client.get(local(log_in_at_kucoin(start["Location"], alice["username"], alice["password"])))["Location"]
    connection = FastApiConnection.objects.get(customer_ref="cust-0042")
    wait_until(lambda: _fired(sandbox, "latency"), what="the key creation at KuCoin")
    # Staff, while KuCoin is still answering; there is no key yet to mark unused.
    fastapi_disconnect(connection=connection, mark_key_unused=False)

    job = finished(Job.objects.get(kind="fastapi_connect"))
    connection.refresh_from_db()
    assert connection.state == "disconnected" and connection.access_token == "" and connection.refresh_token == ""
    assert connection.key_in_use is False and not connection.key_usable and list(usable_connections()) == []
    # The key KuCoin made is on record (its secret kept), not orphaned, and the job says what happened.
    new_keys = set(keys_of(sandbox.dump(), alice["uid"])) - keys_before
    assert new_keys == {connection.api_key} and connection.api_secret
    assert job.state == Job.State.SUCCEEDED and "disconnected" in job.message
    assert "This connection was closed" in client.get(status_url).content.decode()


def test_a_disconnect_during_a_token_refresh_stands(client, configured, sandbox, finished):
    from brokeroffice.testing.waiting import wait_until

    connection, _, _ = connect(client, sandbox, finished)
    sandbox.advance_time(55 * 60)
    shift_clock(connection.pk, timedelta(minutes=55))
    sandbox.set_fault("latency", count=1, path="/_oauth/refresh-token", ms=3000)
    job = job_start(kind="fastapi_tokens_refresh", label="Refresh Fast API tokens", task=fastapi_tokens_refresh_task)
    wait_until(lambda: _fired(sandbox, "latency"), what="the refresh at KuCoin")
    fastapi_disconnect(connection=connection, mark_key_unused=True)

    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, job.error
    connection.refresh_from_db()
    assert connection.state == "disconnected" and connection.access_token == "" and connection.refresh_token == ""
    assert connection.key_in_use is False and list(usable_connections()) == []
    assert job.result["refreshed"] == 0


# -- an unreadable answer to the key creation (finding: read as a refusal) ------------------------------------

def test_an_unreadable_answer_to_key_creation_is_checked_under_the_same_name_never_read_as_a_refusal(
        client, configured, sandbox, finished):
    """KuCoin made the key but its answer came back truncated: the retry sends the same apiName, KuCoin refuses
    it, and the customer is asked to delete that key, rather than being told to try again (a second key)."""
    alice = customer(sandbox)
    before = set(keys_of(sandbox.dump(), alice["uid"]))
    sandbox.set_fault("malformed", count=1, path=KEY_ADD)
    connection, job, status_url = connect(client, sandbox, finished)
    assert job.state == Job.State.FAILED and job.attempts == 2
    assert connection.failure_kind == "key_lost" and connection.api_key is None
    new_keys = {k: v for k, v in keys_of(sandbox.dump(), alice["uid"]).items() if k not in before}
    assert [v["label"] for v in new_keys.values()] == [connection.api_name]
    assert "Delete the key named below" in client.get(status_url).content.decode()
    calls = KuCoinCall.objects.filter(path=KEY_ADD).order_by("id")
    assert [(c.http_status, c.error) for c in calls][0] == (200, "OutcomeUnknownError")
