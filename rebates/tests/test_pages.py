"""The rebate pages as staff see them: reports whose totals are the records', CSV exports, syncs refused
in words with the typed values kept, and the roles."""
import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from rebates.models import RebateFile, RebateRecord
from rebates.services import rebate_file_ingest

pytestmark = pytest.mark.django_db

BEGIN = date(2024, 6, 3)  # a Monday
HEADER = "date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"


@pytest.fixture
def records():
    """Ten days of two sub-accounts, spot and futures, ingested through the real code."""
    for trade_type, share in (("spot", Decimal("0.2")), ("futures", Decimal("0.15"))):
        lines = [HEADER]
        for i in range(10):
            day = BEGIN + timedelta(days=i)
            for uid, fee in (("100000011", Decimal("1.123456789")), ("100000012", Decimal("0.5") * (i + 1))):
                lines.append(f"{day},{uid},{trade_type.upper()},USDT,{fee * 1000},{fee},USDT,{fee * share}\n")
        f = RebateFile.objects.create(trade_type=trade_type, begin=BEGIN, end=BEGIN + timedelta(days=9))
        f.content.save(f"pages-{trade_type}.csv", ContentFile("".join(lines).encode()))
        rebate_file_ingest(rebate_file=f)
    return RebateRecord.objects.all()


def total_of(qs) -> Decimal:
    return sum((r.rebate_amount for r in qs), Decimal(0))


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


RANGE = {"begin": "2024-06-03", "end": "2024-06-12"}


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_report_totals_equal_the_records(client, make_staff, records, period):
    client.force_login(make_staff("viewer"))
    response = client.get(reverse("rebates:report"), {**RANGE, "period": period})
    assert response.status_code == 200
    page = response.content.decode()
    expected = total_of(records)
    shown = re.search(r'data-total="USDT">([0-9.]+)<', page).group(1)
    assert Decimal(shown) == expected
    assert response.context["totals"]["USDT"] == expected
    rows = response.context["period_rows"]
    assert sum(r.total for r in rows) == expected
    assert sum(r.spot for r in rows) == total_of(records.filter(trade_type="spot"))
    assert len(rows) == {"day": 10, "week": 2, "month": 1}[period]
    assert "<svg" in page and 'style="' not in page and "<script>" not in page

    exported = csv_rows(client.get(reverse("rebates:export", args=["period"]), {**RANGE, "period": period}))
    assert sum(Decimal(r["total"]) for r in exported) == expected


def test_per_sub_account_and_top_match_the_records(client, make_staff, records):
    client.force_login(make_staff("viewer"))
    response = client.get(reverse("rebates:by-sub-account"), RANGE)
    assert response.status_code == 200
    by_uid = {r.uid: r.total for r in response.context["rows"]}
    assert by_uid == {uid: total_of(records.filter(uid=uid)) for uid in ("100000011", "100000012")}
    exported = csv_rows(client.get(reverse("rebates:export", args=["sub-accounts"]), RANGE))
    assert {r["uid"]: Decimal(r["total"]) for r in exported} == by_uid
    top = csv_rows(client.get(reverse("rebates:export", args=["top"]), RANGE))
    assert top[0]["uid"] == max(by_uid, key=by_uid.get)

    spot_only = client.get(reverse("rebates:report"), {**RANGE, "trade_type": "spot", "sub_account": "100000012"})
    assert spot_only.context["totals"]["USDT"] == total_of(records.filter(trade_type="spot", uid="100000012"))
    types = csv_rows(client.get(reverse("rebates:export", args=["type"]), RANGE))
    assert Decimal(types[0]["futures"]) == total_of(records.filter(trade_type="futures"))


def test_a_bad_report_filter_is_refused_beside_the_field_with_the_typed_values_kept(client, make_staff):
    client.force_login(make_staff("viewer"))
    response = client.get(reverse("rebates:report"), {"begin": "2024-06-12", "end": "2024-06-03", "sub_account": "abc"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The last day is before the first day" in page and "digits only" in page
    assert 'value="2024-06-12"' in page and 'value="abc"' in page


def test_a_viewer_reads_but_cannot_start_a_sync(client, make_staff):
    client.force_login(make_staff("viewer"))
    assert client.get(reverse("rebates:file-list")).status_code == 200
    response = client.post(reverse("rebates:sync"), {"begin": "2024-06-01", "end": "2024-06-02", "trade_type": "both"})
    assert response.status_code == 403
    assert not RebateFile.objects.exists()


@pytest.mark.parametrize("begin, end, words", [
    ("2024-06-10", "2024-06-01", "before the first day"),
    ("2024-06-01", (date.today() + timedelta(days=3)).isoformat(), "finished days only"),
    ("2010-01-01", "2024-06-01", "at most"),
])
def test_a_sync_with_a_bad_range_is_refused_in_words(client, make_staff, begin, end, words):
    client.force_login(make_staff("operator"))
    response = client.post(reverse("rebates:sync"), {"begin": begin, "end": end, "trade_type": "spot"})
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page
    assert f'value="{begin}"' in page and f'value="{end}"' in page
    assert not RebateFile.objects.exists()


def test_an_operator_starts_a_backfill_and_sees_its_progress(client, make_staff):
    client.force_login(make_staff("operator"))
    response = client.post(reverse("rebates:sync"), {"begin": "2023-01-01", "end": "2024-03-31", "trade_type": "both"})
    assert response.status_code == 302 and "?job=" in response["Location"]
    assert RebateFile.objects.filter(state="pending").count() == 3 * 2  # three 6-month windows, two types
    page = client.get(response["Location"]).content.decode()
    assert "job-progress" in page and "Pull spot and futures rebate files for 2023-01-01 to 2024-03-31" in page


def test_file_page_offers_a_reparse_that_queues_a_job(client, make_staff, records):
    client.force_login(make_staff("operator"))
    f = RebateFile.objects.first()
    page = client.get(reverse("rebates:file-detail", args=[f.pk]))
    assert page.status_code == 200 and f.sha256 in page.content.decode()
    response = client.post(reverse("rebates:file-reparse", args=[f.pk]))
    assert response.status_code == 302 and "?job=" in response["Location"]


def test_admin_lists_files_and_records_with_filters(client, make_staff, records):
    client.force_login(make_staff("broker-admin"))
    assert client.get(reverse("admin:rebates_rebatefile_changelist"), {"state": "done"}).status_code == 200
    response = client.get(reverse("admin:rebates_rebaterecord_changelist"),
                          {"trade_type__exact": "spot", "uid": "100000011", "date__gte": "2024-06-03"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 10


def test_sub_account_and_period_totals_agree_with_the_records_over_whole_and_partial_months():
    from rebates.selectors import (
        ReportFilter,
        rebates_by_period,
        rebates_by_sub_account,
    )

    start = date(2024, 5, 20)
    lines = [HEADER]
    for i in range(45):  # 2024-05-20 .. 2024-07-03
        day = start + timedelta(days=i)
        for uid in ("100000011", "100000012", "100000013"):
            lines.append(f"{day},{uid},SPOT,USDT,100,0.1,USDT,{Decimal('0.001') * (i + 1) * int(uid[-1])}\n")
    f = RebateFile.objects.create(trade_type="spot", begin=start, end=start + timedelta(days=44))
    f.content.save("months.csv", ContentFile("".join(lines).encode()))
    rebate_file_ingest(rebate_file=f)
    for begin, end in ((date(2024, 5, 1), date(2024, 6, 30)), (date(2024, 5, 25), date(2024, 6, 30)),
                       (date(2024, 6, 1), date(2024, 6, 15)), (date(2024, 6, 1), date(2024, 7, 31)),
                       (date(2024, 4, 1), date(2024, 8, 31))):
        rf = ReportFilter(begin=begin, end=end)
        expected = {uid: total_of(RebateRecord.objects.filter(uid=uid, date__range=(begin, end)))
                    for uid in ("100000011", "100000012", "100000013")}
        assert {r.uid: r.total for r in rebates_by_sub_account(rf)} == expected, (begin, end)
        assert sum(r.records for r in rebates_by_sub_account(rf)) == RebateRecord.objects.filter(date__range=(begin, end)).count()
        assert sum(r.total for r in rebates_by_period(rf, "month")) == sum(expected.values())
        top = sorted(expected.items(), key=lambda kv: -kv[1])[:2]
        assert [(r.uid, r.total) for r in rebates_by_sub_account(rf, limit=2)] == top


def test_the_sub_account_page_is_ranked_page_by_page(client, make_staff, records, monkeypatch):
    from rebates import views

    monkeypatch.setattr(views, "SUB_ACCOUNTS_PER_PAGE", 1)
    client.force_login(make_staff("viewer"))
    by_uid = {uid: total_of(records.filter(uid=uid)) for uid in ("100000011", "100000012")}
    ranked = sorted(by_uid, key=lambda uid: -by_uid[uid])
    first = client.get(reverse("rebates:by-sub-account"), RANGE)
    second = client.get(reverse("rebates:by-sub-account"), {**RANGE, "page": "2"})
    assert [r.uid for r in first.context["rows"]] == ranked[:1] and first.context["has_next"]
    assert [r.uid for r in second.context["rows"]] == ranked[1:] and not second.context["has_next"]
    assert "page=2" in first.content.decode()
