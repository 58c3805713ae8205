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
    dump = sandbox.dump()
    futures_uids = {row["uid"] for row in dump["balances"]
                    if row["accountType"] == "CONTRACT" and row["currency"] == "USDT" and float(row["available"]) > 0}
    assert demo_seed(said.append, futures_uids=futures_uids) is True

    broker_uid = dump["accounts"]["brokerUid"]
    assert SubAccount.objects.count() == len([a for a in dump["accounts"]["accounts"] if a["broker_uid"] == broker_uid])
    assert SubAccountApiKey.objects.filter(label="demo-trader", state="active").count() == TRADERS
    assert Transfer.objects.filter(state=Transfer.State.SUCCEEDED).count() == TRADERS
    orders = Order.objects.all()
    traders_with_futures = min(TRADERS, len(futures_uids & set(SubAccount.objects.values_list("uid", flat=True))))
    assert traders_with_futures >= 1
    assert orders.filter(market="spot").count() == TRADERS * 4
    assert orders.filter(market="futures").count() == traders_with_futures
    assert set(orders.values_list("state", flat=True)) <= {Order.State.OPEN, Order.State.FILLED}
    assert set(orders.values_list("verification", flat=True)) == {Order.Verification.TAGGED}
    assert RebateRecord.objects.exists() and Deposit.objects.exists()
    assert not Job.objects.filter(state=Job.State.FAILED).exists()
    assert said[-1] == "deposits synced: done"

    client.force_login(make_staff("viewer"))
    dashboard = client.get("/").content.decode()
    assert "No rebate pulled yet" not in dashboard and "No verified order today yet" not in dashboard
    assert "Not checked yet" not in dashboard

    assert demo_seed(said.append) is False
    assert said[-1] == "the database holds sub-accounts already: no demo data added"
    assert Order.objects.count() == TRADERS * 4 + traders_with_futures


def test_make_run_learns_from_the_sandbox_which_sub_accounts_can_trade_futures(sandbox):
    from brokeroffice.management.commands.demo_seed import futures_funded

    expected = {row["uid"] for row in sandbox.dump()["balances"]
                if row["accountType"] == "CONTRACT" and row["currency"] == "USDT" and float(row["available"]) > 0}
    assert expected and futures_funded(sandbox.urls["spot"] + "/_sandbox") == expected
