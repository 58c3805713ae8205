"""The rebate overview in a real browser: filters by label, charts drawn, no CSP violation."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from rebates.models import RebateFile
from rebates.services import rebate_file_ingest

pytestmark = pytest.mark.browser


@pytest.fixture
def a_week_of_rebates(transactional_db):
    begin = date(2024, 6, 3)
    lines = ["date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"]
    for i in range(7):
        lines.append(f"{begin + timedelta(days=i)},100000011,SPOT,USDT,1000,1,USDT,{Decimal('0.2') * (i + 1)}\n")
    f = RebateFile.objects.create(trade_type="spot", begin=begin, end=begin + timedelta(days=6))
    f.content.save("browser.csv", ContentFile("".join(lines).encode()))
    rebate_file_ingest(rebate_file=f)


def test_a_viewer_filters_the_report_and_sees_chart_and_total(live_server, page, make_staff, screenshot, a_week_of_rebates):
    make_staff("viewer", username="ada", password="a-made-up-password-for-tests")
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("a-made-up-password-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rebates").click()
    page.get_by_role("heading", name="Rebates", exact=True).wait_for()
    page.get_by_label("From", exact=True).fill("2024-06-03")
    page.get_by_label("To", exact=True).fill("2024-06-09")
    page.get_by_label("Per", exact=True).select_option("week")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("heading", name="Rebate per week").wait_for()
    assert Decimal(page.locator('[data-total="USDT"]').inner_text()) == Decimal("5.6")
    assert page.get_by_role("img", name="Rebate per week, spot and futures, in USDT").is_visible()
    assert page.get_by_label("From", exact=True).input_value() == "2024-06-03"
    screenshot()
    assert violations == []


@pytest.fixture
def a_month_of_rebates(transactional_db):
    begin = date(2024, 6, 1)
    lines = ["date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"]
    lines += [f"{begin + timedelta(days=i)},100000011,SPOT,USDT,1000,1,USDT,0.{i + 1}\n" for i in range(30)]
    f = RebateFile.objects.create(trade_type="spot", begin=begin, end=begin + timedelta(days=29))
    f.content.save("browser-month.csv", ContentFile("".join(lines).encode()))
    rebate_file_ingest(rebate_file=f)


def test_the_day_labels_under_a_months_chart_do_not_run_into_each_other(live_server, page, make_staff, a_month_of_rebates):
    make_staff("viewer", username="ada", password="a-made-up-password-for-tests")
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("a-made-up-password-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()

    page.goto(live_server.url + "/rebates/?begin=2024-06-01&end=2024-06-30&period=day")
    chart = page.get_by_role("img", name="Rebate per day, spot and futures, in USDT")
    # The axis labels are the chart's centred texts, left to right.
    boxes = chart.locator("text[text-anchor=middle]").evaluate_all(
        "texts => texts.map(t => { const r = t.getBoundingClientRect(); return [r.left, r.right, t.textContent]; })")
    assert boxes[0][2] == "2024-06-01" and len(boxes) >= 5
    touching = [(a[2], b[2]) for a, b in zip(boxes, boxes[1:]) if a[1] > b[0]]
    assert touching == [], f"labels drawn over each other: {touching}"
