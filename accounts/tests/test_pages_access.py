"""Every accounts URL: anonymous goes to the login page; each role gets exactly what it may."""
import pytest

from accounts.tests.test_pages_support import api_key, sub_account, transfer

ROLES = ("viewer", "operator", "broker-admin")
# (method, URL, lowest role allowed). {sub}, {key}, {transfer} are replaced by ids of made-up rows.
URLS = [
    ("get", "/subaccounts/", "viewer"),
    ("get", "/subaccounts/{sub}/", "viewer"),
    ("get", "/keys/{key}/", "viewer"),
    ("get", "/transfers/", "viewer"),
    ("get", "/deposits/", "viewer"),
    ("get", "/calls/", "viewer"),
    ("post", "/subaccounts/new/", "operator"),
    ("post", "/subaccounts/sync/", "operator"),
    ("post", "/subaccounts/{sub}/retry/", "operator"),
    ("get", "/subaccounts/{sub}/retire/", "operator"),
    ("post", "/subaccounts/{sub}/balances/refresh/", "operator"),
    ("get", "/subaccounts/{sub}/keys/new/", "operator"),
    ("get", "/subaccounts/{sub}/keys/import/", "operator"),
    ("post", "/subaccounts/{sub}/keys/sync/", "operator"),
    ("get", "/keys/{key}/edit/", "operator"),
    ("get", "/keys/{key}/delete/", "operator"),
    ("get", "/subaccounts/{sub}/transfers/new/", "operator"),
    ("post", "/transfers/sync/", "operator"),
    ("post", "/transfers/{transfer}/retry/", "operator"),
    ("post", "/deposits/sync/", "operator"),
    ("post", "/withdrawals/sync/", "operator"),
    ("get", "/subaccounts/{sub}/kyc/new/", "operator"),
    ("post", "/subaccounts/{sub}/kyc/check/", "operator"),
    ("get", "/broker/", "broker-admin"),
    ("post", "/broker/check/", "broker-admin"),
]


@pytest.fixture
def url_ids(db):
    sub = sub_account()
    return {"sub": sub.pk, "key": api_key(sub).pk, "transfer": transfer(sub).pk}


@pytest.mark.parametrize("method,url,needed", URLS)
def test_anonymous_is_sent_to_login(client, url_ids, method, url, needed):
    response = getattr(client, method)(url.format(**url_ids))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,needed", URLS)
def test_each_role_gets_exactly_what_it_may(client, make_staff, url_ids, role, method, url, needed):
    client.force_login(make_staff(role))
    response = getattr(client, method)(url.format(**url_ids))
    if ROLES.index(role) >= ROLES.index(needed):
        assert response.status_code in (200, 302, 400), f"{role} should reach {url}"
    else:
        assert response.status_code == 403, f"{role} must not reach {url}"


@pytest.mark.parametrize("url", ["/subaccounts/sync/", "/deposits/sync/", "/broker/check/"])
def test_actions_are_post_only(client, make_staff, url):
    client.force_login(make_staff("broker-admin"))
    assert client.get(url).status_code == 405
