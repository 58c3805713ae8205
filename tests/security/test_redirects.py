"""No page sends a browser to another site on a parameter's say-so. (Fast API's own state, code and redirect
checks — tampered, replayed and expired state, a code used twice, a callback reached at a foreign address, a
start URL that would send KuCoin elsewhere — are in accounts/tests/test_fastapi_callbacks.py.)"""
from __future__ import annotations

import pytest

PASSWORD = "a-made-up-password-for-tests"
FOREIGN = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "https:evil.example", "\\\\evil.example",
           "javascript:alert(1)", "http://testserver@evil.example/"]


def stays_here(response) -> bool:
    location = response.get("Location", "")
    return location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", FOREIGN)
def test_the_login_never_sends_a_browser_to_a_foreign_next(client, make_staff, target):
    make_staff("viewer", username="redirected", password=PASSWORD)
    response = client.post(f"/login/?next={target}", {"username": "redirected", "password": PASSWORD,
                                                      "next": target})
    assert response.status_code == 302 and stays_here(response), response.get("Location")


@pytest.mark.parametrize("target", FOREIGN)
def test_pages_that_go_back_somewhere_never_go_to_a_foreign_site(client, make_staff, world, target):
    client.force_login(make_staff("operator", username="back-again"))
    for url in ("/subaccounts/sync/", "/transfers/sync/", "/rebates/files/sync/", "/jobs/selftest/",
                "/me/"):
        response = client.post(f"{url}?next={target}", {"next": target, "back": target})
        location = response.get("Location", "")
        assert "evil.example" not in location and not location.startswith("javascript:"), (url, location)
