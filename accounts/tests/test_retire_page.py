"""The retire page tells staff, before they confirm, that money a transfer cannot move stops the retirement."""
import pytest

from accounts.tests.test_pages_support import api_key, html, login, sub_account

pytestmark = pytest.mark.django_db


def test_the_retire_page_says_it_refuses_while_money_cannot_be_moved(client, make_staff):
    sub = sub_account(account_name="alice-0001")
    api_key(sub)
    login(client, make_staff, "operator")
    page = html(client.get(f"/subaccounts/{sub.pk}/retire/"))
    assert "futures account" in page and "held by open orders" in page
    assert "it is not retired" in page
    assert "its keys are only deleted once nothing is left" in page
