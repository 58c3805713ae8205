"""Ingesting stored files: by header name, whole or not at all, and parsed again after the mapping is fixed."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from rebates.models import RebateFile, RebateRecord
from rebates.services import (
    RebateFileRejected,
    rebate_file_ingest,
    rebate_file_pull,
    rebate_range_check,
    rebate_windows,
)

DAY = date(2024, 6, 10)
GOOD = (b"\xef\xbb\xbfdate,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount,note\n"
        b"2024-06-10,100000001,SPOT,USDT,12500.50,12.5005,USDT,5.00020000,first\n"
        b"2024-06-10,100000002,SPOT,USDT,100,0.1,USDT,0.02,\n")


def stored_file(data: bytes, *, begin=DAY, end=DAY, trade_type="spot") -> RebateFile:
    f = RebateFile.objects.create(trade_type=trade_type, begin=begin, end=end)
    f.content.save(f"test-{f.pk}.csv", ContentFile(data))
    return f


def amounts():
    return sorted(RebateRecord.objects.values_list("uid", "rebate_amount", "file_id"))


@pytest.mark.django_db
def test_a_file_becomes_typed_records_with_its_unknown_columns_kept():
    f = rebate_file_ingest(rebate_file=stored_file(GOOD))
    assert f.state == RebateFile.State.DONE and f.row_count == 2
    first = RebateRecord.objects.get(uid="100000001")
    assert first.date == DAY and first.trade_type == "spot" and first.line == 2
    assert first.rebate_amount == Decimal("5.0002") and first.volume == Decimal("12500.5") and first.fee == Decimal("12.5005")
    assert first.extra == {"note": "first"}


@pytest.mark.django_db
def test_headers_that_do_not_match_fail_the_file_naming_the_columns_and_it_parses_after_the_mapping_is_fixed(monkeypatch):
    rebate_file_ingest(rebate_file=stored_file(GOOD))
    before = amounts()
    renamed = GOOD.replace(b"rebateAmount", b"payout").replace(b"uid,", b"member,", 1)
    f = stored_file(renamed)
    with pytest.raises(RebateFileRejected):
        rebate_file_ingest(rebate_file=f)
    f.refresh_from_db()
    assert f.state == RebateFile.State.FAILED and f.error_line == 1
    assert "missing column(s): uid, rebateAmount" in f.error
    assert amounts() == before  # nothing changed

    # The mapping learns the new names (kucoin/rebate_file.py's COLUMNS); the kept bytes parse again.
    from kucoin import rebate_file

    monkeypatch.setitem(rebate_file._LOOKUP, "payout", "rebateAmount")
    monkeypatch.setitem(rebate_file._LOOKUP, "member", "uid")
    f = rebate_file_ingest(rebate_file=f)
    assert f.state == RebateFile.State.DONE and f.row_count == 2
    assert set(RebateRecord.objects.values_list("file_id", flat=True)) == {f.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("data, line", [
    (GOOD[:-12], 3),  # truncated in the middle of the last line
    (GOOD.replace(b"0.02", b"zero"), 3),
    (GOOD.replace(b"2024-06-10,100000002", b"2024-06-11,100000002"), 3),  # a day the file was not asked for
    (GOOD.replace(b"100000002,SPOT", b"100000002,FUTURES"), 3),  # the wrong trade type
])
def test_a_malformed_file_fails_whole_with_the_line_and_changes_nothing(data, line):
    rebate_file_ingest(rebate_file=stored_file(GOOD))
    before = amounts()
    f = stored_file(data)
    with pytest.raises(RebateFileRejected):
        rebate_file_ingest(rebate_file=f)
    f.refresh_from_db()
    assert f.state == RebateFile.State.FAILED and f.error_line == line and f"line {line}" in f.error
    assert amounts() == before


@pytest.mark.django_db
def test_a_file_replaces_every_day_it_covers_and_no_other():
    other_day = stored_file(GOOD.replace(b"2024-06-10", b"2024-06-12"), begin=DAY + timedelta(days=2), end=DAY + timedelta(days=2))
    rebate_file_ingest(rebate_file=other_day)
    rebate_file_ingest(rebate_file=stored_file(GOOD))
    week = stored_file(GOOD, begin=DAY, end=DAY + timedelta(days=1))
    rebate_file_ingest(rebate_file=week)
    by_file = sorted(RebateRecord.objects.order_by().values_list("date", "file_id").distinct())
    assert by_file == [(DAY, week.pk), (DAY + timedelta(days=2), other_day.pk)]
    assert RebateRecord.objects.count() == 4


def test_ranges_the_wrong_way_round_in_the_future_or_too_long_are_refused_in_words():
    today = date(2026, 1, 15)
    with pytest.raises(ValidationError) as wrong:
        rebate_range_check(begin=date(2026, 1, 10), end=date(2026, 1, 5), today=today)
    assert "before the first day" in " ".join(wrong.value.messages)
    with pytest.raises(ValidationError) as future:
        rebate_range_check(begin=date(2026, 1, 10), end=date(2026, 1, 15), today=today)
    assert "yesterday, 2026-01-14" in " ".join(future.value.messages)
    with pytest.raises(ValidationError) as long:
        rebate_range_check(begin=date(2020, 1, 1), end=date(2026, 1, 1), today=today)
    assert "at most" in " ".join(long.value.messages)
    rebate_range_check(begin=date(2026, 1, 14), end=date(2026, 1, 14), today=today)


def test_a_long_range_is_split_into_windows_kucoin_accepts():
    windows = rebate_windows(date(2024, 1, 31), date(2025, 3, 1))
    assert windows[0] == (date(2024, 1, 31), date(2024, 7, 30))
    assert windows[-1][1] == date(2025, 3, 1)
    for (_, end), (begin, _) in zip(windows, windows[1:]):
        assert begin == end + timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_an_expired_link_is_replaced_by_a_new_one(sandbox, sandbox_settings):
    from django.utils import timezone

    from accounts.clients import broker_client
    from rebates.tests.sandbox_state import days

    day = days(sandbox.dump())[-1]
    old_link = broker_client().broker.get_rebate_download_url(day, day, "spot")
    f = RebateFile.objects.create(trade_type="spot", begin=day, end=day, url=old_link, url_asked_at=timezone.now())
    sandbox.advance_time(2 * 86_400)  # the link was valid one day by KuCoin's clock
    f = rebate_file_pull(file_id=f.pk)
    assert f.state == RebateFile.State.DONE and f.row_count == RebateRecord.objects.count() > 0
    assert f.url != old_link
