"""`make run` fills an empty back-office from the sandbox, so that a new user sees every page with data."""
import pytest

from accounts.models import Deposit, SubAccount, SubAccountApiKey, Transfer
from brokeroffice.demo import TRADERS, demo_seed
from brokeroffice.models import Job
from rebates.models import RebateRecord
from trading.models import Order

pytestmark = pytest.mark.worker


def test_a_first_run_fills_every_page_and_a_second_run_adds_nothing(kucoin_worker, sandbox, client, make_staff):
    said = []
    assert demo_seed(said.append) is True

    dump = sandbox.dump()
    broker_uid = dump["accounts"]["brokerUid"]
    assert SubAccount.objects.count() == len([a for a in dump["accounts"]["accounts"] if a["broker_uid"] == broker_uid])
    assert SubAccountApiKey.objects.filter(label="demo-trader", state="active").count() == TRADERS
    assert Transfer.objects.filter(state=Transfer.State.SUCCEEDED).count() == TRADERS
    orders = Order.objects.all()
    assert orders.count() == TRADERS * 5
    accepted = orders.filter(state__in=Order.AT_KUCOIN_STATES)
    assert accepted.filter(market="spot").count() == TRADERS * 4
    assert set(accepted.values_list("verification", flat=True)) == {Order.Verification.TAGGED}
    # Futures need funds in the futures account, which a broker cannot move there: KuCoin's refusal is kept.
    refused = orders.exclude(state__in=Order.AT_KUCOIN_STATES)
    assert set(refused.values_list("market", "state", "error_message")) <= {("futures", "rejected", "Balance not enough")}
    assert RebateRecord.objects.exists() and Deposit.objects.exists()
    assert not Job.objects.filter(state=Job.State.FAILED).exclude(kind="order_place").exists()
    assert said[-1] == "deposits synced: done"

    client.force_login(make_staff("viewer"))
    dashboard = client.get("/").content.decode()
    assert "No rebate pulled yet" not in dashboard and "No verified order today yet" not in dashboard

    assert demo_seed(said.append) is False
    assert said[-1] == "the database holds sub-accounts already: no demo data added"
    assert Order.objects.count() == TRADERS * 5
