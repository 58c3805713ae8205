"""What staff get from the CSV exports when KuCoin's file or a sub-account name starts like a formula, and what
the admin's bulk actions do past their limit."""
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from accounts.tests.test_pages_support import sub_account
from brokeroffice.models import Job
from rebates.admin import MAX_PER_ACTION
from rebates.models import RebateFile, RebateRecord
from rebates.services import rebate_file_ingest
from rebates.tests.test_pages import csv_rows

pytestmark = pytest.mark.django_db

DAY = date(2024, 6, 10)
RANGE = {"begin": "2024-06-10", "end": "2024-06-10"}


@pytest.fixture
def formula_like():
    """A file whose uid and currency start like formulas, a clawback (negative rebate), and a sub-account whose
    name starts with '-'."""
    sub_account(uid="100000004", account_name="-2+3cmd")
    data = ("date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"
            "2024-06-10,=1+2,SPOT,USDT,100,1,USDT,0.5\n"
            "2024-06-10,100000003,SPOT,USDT,100,1,@SUM(A1),0.25\n"
            "2024-06-10,100000004,SPOT,USDT,100,1,USDT,-1.5\n")
    f = RebateFile.objects.create(trade_type="spot", begin=DAY, end=DAY)
    f.content.save("formula.csv", ContentFile(data.encode()))
    rebate_file_ingest(rebate_file=f)
    assert RebateRecord.objects.count() == 3


@pytest.mark.parametrize("report", ["sub-accounts", "top", "reconciliation"])
def test_exported_text_cells_never_start_like_a_formula(client, make_staff, formula_like, report):
    client.force_login(make_staff("viewer"))
    rows = csv_rows(client.get(reverse("rebates:export", args=[report]), RANGE))
    by_uid = {r["uid"]: r for r in rows}
    assert set(by_uid) == {"'=1+2", "100000003", "100000004"}
    assert by_uid["100000004"]["sub_account"] == "'-2+3cmd"
    if report == "reconciliation":
        assert by_uid["100000003"]["rebates"] == "0.25 @SUM(A1)"
        assert by_uid["100000004"]["rebates"] == "'-1.5 USDT"  # a text cell: amount and currency
    else:
        assert by_uid["100000003"]["currency"] == "'@SUM(A1)"
        assert float(by_uid["100000004"]["total"]) == -1.5  # a number stays a number, sign and all


def test_the_period_export_guards_the_currency_and_keeps_negative_totals_numbers(client, make_staff, formula_like):
    client.force_login(make_staff("viewer"))
    rows = csv_rows(client.get(reverse("rebates:export", args=["period"]), {**RANGE, "period": "day"}))
    by_currency = {r["currency"]: r for r in rows}
    assert set(by_currency) == {"'@SUM(A1)", "USDT"}
    assert float(by_currency["USDT"]["total"]) == -1.0
    types = csv_rows(client.get(reverse("rebates:export", args=["type"]), RANGE))
    assert {r["currency"] for r in types} == {"'@SUM(A1)", "USDT"}


# -- the admin's bulk actions ----------------------------------------------------------------------

def run_action(client, model, action, ids):
    return client.post(f"/admin/rebates/{model}/", {"action": action, "_selected_action": [str(i) for i in ids],
                                                     "index": "0"}, follow=True)


def files(n: int) -> list[RebateFile]:
    made = []
    for i in range(n):
        day = DAY - timedelta(days=i)
        f = RebateFile.objects.create(trade_type="spot", begin=day, end=day, state="failed")
        f.content.save(f"admin-{i}.csv", ContentFile(b"date,uid,tradeType,rebateCurrency,rebateAmount\n"))
        made.append(f)
    return made


@pytest.mark.parametrize("action", ["reparse", "repull"])
def test_a_bulk_file_action_past_the_limit_is_refused_whole(client, make_staff, action):
    many = files(MAX_PER_ACTION + 1)
    client.force_login(make_staff("operator"))
    page = run_action(client, "rebatefile", action, [f.pk for f in many]).content.decode()
    assert f"Select at most {MAX_PER_ACTION} files" in page and f"({MAX_PER_ACTION + 1} selected)" in page
    assert "Queued" not in page
    assert not Job.objects.exists()

    page = run_action(client, "rebatefile", action, [f.pk for f in many[:MAX_PER_ACTION]]).content.decode()
    assert f"Queued {MAX_PER_ACTION} " in page
    assert Job.objects.count() == MAX_PER_ACTION


def test_pulling_the_days_of_records_again_past_the_limit_is_refused_whole(client, make_staff):
    for i in range(MAX_PER_ACTION + 1):
        RebateRecord.objects.create(file_id=1, line=i + 2, date=DAY - timedelta(days=i), trade_type="spot",
                                    uid="100000001", rebate_currency="USDT", rebate_amount=1)
    client.force_login(make_staff("operator"))
    ids = list(RebateRecord.objects.values_list("pk", flat=True))
    page = run_action(client, "rebaterecord", "repull_days", ids).content.decode()
    assert f"Select at most {MAX_PER_ACTION} days" in page and "Queued" not in page
    assert not Job.objects.exists()
