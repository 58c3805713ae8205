"""The broker set-up check, as an operator runs it: `manage.py broker_verify` and the button (through the worker).
It places a post-only order far from the market, reads its tag, cancels it, and says what a failure means."""
import pytest

from brokeroffice.models import Job
from brokeroffice.testing.worker import run_manage
from trading.models import Order
from trading.services.setup_check import broker_verify_request
from trading.tests.conftest import CUSTOMER_UID
from trading.tests.sandbox_orders import orders_with, state_of

WRONG = "made-up-wrong-broker-key-for-tests"


@pytest.fixture
def customer(customer_key, transactional_db):
    return customer_key


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_the_command_reports_a_tagged_order_and_cancels_it(customer, sandbox, sandbox_settings, market):
    done = run_manage("broker_verify", "--uid", CUSTOMER_UID, "--market", market, extra_env=sandbox_settings)
    assert done.returncode == 0, done.stderr
    assert "set-up for" in done.stdout and "is right" in done.stdout and "OK: tags “partner:" in done.stdout
    order = Order.objects.get(purpose=Order.Purpose.SETUP_CHECK)
    held = orders_with(sandbox.dump(), order.client_oid)
    assert len(held) == 1 and held[0]["post_only"] is True
    assert state_of(held[0]) == "cancelled" == order.state
    assert order.verification == Order.Verification.TAGGED and order.tags == held[0]["tags"]


def test_a_wrong_partner_signature_is_400201_in_words(customer, sandbox, sandbox_settings):
    env = {**sandbox_settings, "KUCOIN_BROKER_KEY": WRONG}
    done = run_manage("broker_verify", "--uid", CUSTOMER_UID, "--market", "spot", extra_env=env)
    assert done.returncode != 0
    assert "400201" in done.stderr and "partner signature is wrong" in done.stderr
    order = Order.objects.get(purpose=Order.Purpose.SETUP_CHECK)
    assert order.state == Order.State.REJECTED
    assert orders_with(sandbox.dump(), order.client_oid) == []


def test_no_tag_without_an_error_means_verify_was_off_or_the_partner_is_wrong(customer, sandbox, sandbox_settings):
    env = {**sandbox_settings, "KUCOIN_FUTURES_BROKER_KEY": WRONG,
           "DJANGO_SETTINGS_MODULE": "trading.tests.settings_verify_off"}
    done = run_manage("broker_verify", "--uid", CUSTOMER_UID, "--market", "futures", extra_env=env)
    assert done.returncode != 0
    assert "did not tag it" in done.stderr and "KC-API-PARTNER-VERIFY was off" in done.stderr
    order = Order.objects.get(purpose=Order.Purpose.SETUP_CHECK)
    held = orders_with(sandbox.dump(), order.client_oid)
    assert len(held) == 1 and held[0]["tags"] == "" and state_of(held[0]) == "cancelled"
    assert order.verification == Order.Verification.UNTAGGED


def test_an_unknown_uid_is_told_in_words(customer, sandbox_settings):
    done = run_manage("broker_verify", "--uid", "999", "--market", "spot", extra_env=sandbox_settings)
    assert done.returncode != 0 and "No sub-account with UID 999" in done.stderr


@pytest.mark.worker
def test_the_button_runs_the_check_through_the_worker(kucoin_worker, customer, sandbox, finished):
    order, job = broker_verify_request(uid=CUSTOMER_UID, market="spot")
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert "is right" in job.message
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED and order.verification == Order.Verification.TAGGED
