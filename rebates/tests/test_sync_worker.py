"""Rebate files end to end: a page's intent, a real worker, the sandbox's KuCoin, and the database agree."""
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from brokeroffice.models import Job
from rebates.models import RebateFile, RebateRecord
from rebates.services import rebate_day_repull_request, rebate_sync_request
from rebates.tests.sandbox_state import days, earned

pytestmark = pytest.mark.worker


def stored(**filters) -> dict[tuple, Decimal]:
    out: dict[tuple, Decimal] = defaultdict(Decimal)
    for day, uid, trade_type, currency, amount in RebateRecord.objects.filter(**filters).values_list(
            "date", "uid", "trade_type", "rebate_currency", "rebate_amount"):
        out[(day, uid, trade_type, currency)] += amount
    return dict(out)


def snapshot() -> list[tuple]:
    return sorted(RebateRecord.objects.values_list("file_id", "line", "date", "trade_type", "uid", "rebate_amount",
                                                   "volume", "fee", "rebate_currency"))


def pull(finished, begin, end, trade_types=("spot", "futures")) -> Job:
    return finished(rebate_sync_request(begin=begin, end=end, trade_types=list(trade_types)))


def test_a_month_of_files_sums_exactly_to_what_kucoin_says_the_broker_earned(synced_sub_accounts, sandbox, finished):
    dump = sandbox.dump()
    history = days(dump)
    job = pull(finished, history[0], history[-1])
    assert job.state == Job.State.SUCCEEDED, job.error

    assert stored() == earned(dump)
    assert sum(stored().values()) == sum(earned(dump).values()) > 0
    files = RebateFile.objects.all()
    assert {(f.trade_type, f.state) for f in files} == {("spot", "done"), ("futures", "done")}
    for f in files:
        assert f.row_count == f.records.count() and f.size > 0 and len(f.sha256) == 64 and f.content.name
    # uids are linked to the sub-accounts the back-office knows
    known = set(synced_sub_accounts.values_list("uid", flat=True))
    assert RebateRecord.objects.filter(uid__in=known, sub_account=None).count() == 0
    assert job.result == {"files": 2, "records": RebateRecord.objects.count()}


def test_pulling_a_day_again_changes_nothing(kucoin_worker, sandbox, finished):
    dump = sandbox.dump()
    day = days(dump)[-1]
    assert pull(finished, day, day).state == Job.State.SUCCEEDED
    before = stored()
    count = RebateRecord.objects.count()
    assert before == earned(dump, begin=day, end=day) and count > 0

    for trade_type in ("spot", "futures"):
        job = finished(rebate_day_repull_request(day=day, trade_type=trade_type))
        assert job.state == Job.State.SUCCEEDED, job.error
    assert stored() == before
    assert RebateRecord.objects.count() == count
    # the records now come from the newest files only
    newest = set(RebateFile.objects.order_by("-id").values_list("id", flat=True)[:2])
    assert set(RebateRecord.objects.values_list("file_id", flat=True)) == newest


def test_a_month_pulled_then_a_day_inside_it_again_counts_nothing_twice(kucoin_worker, sandbox, finished):
    dump = sandbox.dump()
    history = days(dump)
    assert pull(finished, history[0], history[-1], ["spot"]).state == Job.State.SUCCEEDED
    middle = history[len(history) // 2]
    assert pull(finished, middle, middle, ["spot"]).state == Job.State.SUCCEEDED
    assert stored() == {k: v for k, v in earned(dump).items() if k[2] == "spot"}


def test_an_interrupted_download_is_retried_and_then_lands(kucoin_worker, sandbox, finished):
    dump = sandbox.dump()
    day = days(dump)[-1]
    sandbox.set_fault("drop_after", count=2, path="/_files/")
    job = pull(finished, day, day, ["spot"])
    assert job.state == Job.State.SUCCEEDED, job.error
    assert stored() == {k: v for k, v in earned(dump, begin=day, end=day).items() if k[2] == "spot"}
    assert RebateFile.objects.get().attempts == 3


def test_a_download_that_keeps_failing_ends_failed_with_the_reason_and_keeps_the_old_records(
        kucoin_worker, sandbox, finished):
    day = days(sandbox.dump())[-1]
    assert pull(finished, day, day, ["spot"]).state == Job.State.SUCCEEDED
    before = snapshot()

    sandbox.set_fault("drop_before", path="/_files/")
    job = finished(rebate_day_repull_request(day=day, trade_type="spot"))
    assert job.state == Job.State.FAILED
    failed = RebateFile.objects.order_by("-id").first()
    assert failed.state == RebateFile.State.FAILED
    assert "Download failed after 4 attempts" in failed.error
    assert "download" in job.error.lower()
    assert snapshot() == before


def test_a_malformed_file_fails_whole_with_its_line_and_keeps_the_old_records(kucoin_worker, sandbox, finished):
    day = days(sandbox.dump())[-1]
    assert pull(finished, day, day, ["spot"]).state == Job.State.SUCCEEDED
    before = snapshot()

    # On every download: the file itself is bad at KuCoin (a file cut short on the way once is fetched again).
    sandbox.set_fault("malformed", path="/_files/")
    job = finished(rebate_day_repull_request(day=day, trade_type="spot"))
    assert job.state == Job.State.FAILED
    bad = RebateFile.objects.order_by("-id").first()
    assert bad.attempts > 1  # downloaded again before it was given up
    assert bad.state == RebateFile.State.FAILED
    assert bad.error_line and bad.error_line > 1
    assert f"line {bad.error_line}" in bad.error and f"line {bad.error_line}" in job.error
    assert bad.content.name and bad.size  # the bytes are kept for a later look
    assert snapshot() == before


def test_a_range_longer_than_six_months_is_pulled_in_windows(kucoin_worker, sandbox, finished):
    dump = sandbox.dump()
    last = days(dump)[-1]
    first = last - timedelta(days=200)
    job = pull(finished, first, last, ["futures"])
    assert job.state == Job.State.SUCCEEDED, job.error
    windows = list(RebateFile.objects.order_by("begin").values_list("begin", "end"))
    assert len(windows) == 2 and windows[0][0] == first and windows[-1][1] == last
    assert windows[1][0] == windows[0][1] + timedelta(days=1)
    assert stored() == {k: v for k, v in earned(dump).items() if k[2] == "futures"}


def test_the_daily_schedule_pulls_yesterday_and_the_recent_days_not_yet_in(kucoin_worker, sandbox, finished):
    from brokeroffice.jobs import job_start
    from rebates import conf
    from rebates.services import today_in_zone
    from rebates.tasks import rebates_sync_yesterday_task

    dump = sandbox.dump()
    job = finished(job_start(kind="sync_yesterday", label="Pull yesterday", task=rebates_sync_yesterday_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    yesterday = today_in_zone() - timedelta(days=1)
    first = yesterday - timedelta(days=conf.catch_up_days() - 1)  # nothing was pulled before: the whole window
    assert set(RebateFile.objects.values_list("begin", "end", "trade_type")) == {
        (first, yesterday, "spot"), (first, yesterday, "futures")}
    assert stored() == earned(dump, begin=first, end=yesterday)

    # The next day's run (here: the same day again) finds them done: yesterday alone, as before.
    job = finished(job_start(kind="sync_yesterday", label="Pull yesterday", task=rebates_sync_yesterday_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    assert set(RebateFile.objects.filter(job=job).values_list("begin", "end", "trade_type")) == {
        (yesterday, yesterday, "spot"), (yesterday, yesterday, "futures")}
    assert "Caught up" not in job.message
    assert stored() == earned(dump, begin=first, end=yesterday)
