"""What a sync leaves behind when things go wrong: a day missed while KuCoin was down is caught up by the next
daily pull; a file never stays downloading or parsing after its work stopped; a re-parse never brings back
figures a newer file replaced, nor does a pull retried after a newer pull of its days."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from brokeroffice.jobs import job_create, job_run
from brokeroffice.models import Job
from rebates import services
from rebates.models import RebateFile, RebateRecord
from rebates.services import (
    RebatesSyncFailed,
    rebate_file_ingest,
    rebate_file_pull,
    rebate_file_reparse,
    rebate_sync_request,
    rebates_sync_yesterday,
    today_in_zone,
)
from rebates.tests.sandbox_state import earned
from rebates.tests.test_sync_worker import stored

DAY = date(2024, 6, 10)
HEADER = b"date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"


def csv_of(*lines: str) -> bytes:
    return HEADER + "".join(f"{line}\n" for line in lines).encode()


def stored_file(data: bytes, *, begin=DAY, end=DAY, trade_type="spot", **fields) -> RebateFile:
    f = RebateFile.objects.create(trade_type=trade_type, begin=begin, end=end, **fields)
    f.content.save(f"recovery-{f.pk}.csv", ContentFile(data))
    return f


def records() -> list[tuple]:
    return sorted(RebateRecord.objects.values_list("date", "uid", "rebate_amount", "file_id"))


def daily_pull(**kwargs) -> Job:
    """The daily schedule's job, run in this process (as the task does, on its last attempt)."""
    job = job_create(kind="sync_yesterday", label="Pull yesterday's rebate files", requested_by_label="schedule")
    try:
        with job_run(str(job.pk)) as run:
            rebates_sync_yesterday(run=run, **kwargs)
    except RebatesSyncFailed:
        pass
    job.refresh_from_db()
    return job


def days_of_job(job: Job) -> set[tuple]:
    return set(RebateFile.objects.filter(job=job).values_list("trade_type", "begin", "end"))


# -- 1. the daily pull catches up ------------------------------------------------------------------

@pytest.mark.worker
def test_a_day_missed_while_kucoin_answered_5xx_is_caught_up_by_the_next_daily_pull(
        kucoin_worker, sandbox, finished, monkeypatch):
    from brokeroffice.jobs import job_start
    from rebates.tasks import rebates_sync_yesterday_task

    today = today_in_zone()
    missed = today - timedelta(days=3)
    # Earlier days are in.
    assert finished(rebate_sync_request(begin=today - timedelta(days=9), end=missed - timedelta(days=1),
                                        trade_types=["spot", "futures"])).state == Job.State.SUCCEEDED
    # The daily pull of `missed`: KuCoin answers 503 to every link asked, to the last attempt.
    sandbox.set_fault("http_503", path="/api/v1/broker/nd/rebase/download")
    monkeypatch.setattr(services, "today_in_zone", lambda: missed + timedelta(days=1))
    failed = daily_pull(final_attempt=True)
    assert failed.state == Job.State.FAILED and "503" in failed.error
    assert set(RebateFile.objects.filter(job=failed).values_list("state", flat=True)) == {"failed"}
    sandbox.clear_faults()
    monkeypatch.undo()

    # The next daily pulls, through the worker: yesterday and the two days before it, which have no done file.
    job = finished(job_start(kind="sync_yesterday", label="Pull yesterday", task=rebates_sync_yesterday_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    yesterday = today - timedelta(days=1)
    assert days_of_job(job) == {("spot", missed, yesterday), ("futures", missed, yesterday)}
    gap = f"{missed:%Y-%m-%d} to {yesterday - timedelta(days=1):%Y-%m-%d}"
    assert f"Caught up days missed before: spot {gap}, futures {gap}." in job.message
    assert stored(date__gte=missed) == earned(sandbox.dump(), begin=missed, end=yesterday)
    assert stored(date=missed)  # the sandbox's ledger has rebates on that day: they are in now


@pytest.mark.django_db(transaction=True)
def test_the_daily_pull_skips_days_done_or_under_way_and_takes_back_files_whose_worker_died(
        sandbox, sandbox_settings):
    today = today_in_zone()
    yesterday = today - timedelta(days=1)
    ago = {n: today - timedelta(days=n) for n in range(1, 8)}
    running = job_create(kind="rebates_sync", label="a pull under way")
    Job.objects.filter(pk=running.pk).update(state=Job.State.RUNNING)
    ended = job_create(kind="rebates_sync", label="a pull that ended")
    Job.objects.filter(pk=ended.pk).update(state=Job.State.FAILED)
    soon, past = timezone.now() + timedelta(minutes=20), timezone.now() - timedelta(minutes=1)
    for trade_type in ("spot", "futures"):
        RebateFile.objects.create(trade_type=trade_type, begin=ago[7], end=ago[5], state="done")
        RebateFile.objects.create(trade_type=trade_type, begin=ago[4], end=ago[4], state="pending", job=running)
    RebateFile.objects.create(trade_type="spot", begin=ago[3], end=ago[3], state="parsing", lease_until=soon)
    RebateFile.objects.create(trade_type="futures", begin=ago[3], end=ago[3], state="pending", job=ended)
    # A worker OOM-killed while downloading: its lease ran out, the state stayed behind.
    RebateFile.objects.create(trade_type="spot", begin=ago[2], end=ago[2], state="downloading", lease_until=past,
                              job=running)

    job = daily_pull()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert days_of_job(job) == {("spot", ago[2], yesterday), ("futures", ago[3], yesterday)}
    assert (f"Caught up days missed before: spot {ago[2]:%Y-%m-%d}, futures {ago[3]:%Y-%m-%d} to "
            f"{ago[2]:%Y-%m-%d}.") in job.message
    assert set(RebateFile.objects.filter(job=job).values_list("state", flat=True)) == {"done"}


def test_how_many_days_the_daily_pull_looks_back_is_configurable(db, settings):
    settings.REBATES_CATCH_UP_DAYS = 2
    today = date(2026, 1, 15)
    assert services.rebate_catch_up_ranges(today=today) == [
        ("spot", date(2026, 1, 13), date(2026, 1, 14)), ("futures", date(2026, 1, 13), date(2026, 1, 14))]
    RebateFile.objects.create(trade_type="spot", begin=date(2026, 1, 14), end=date(2026, 1, 14), state="done")
    # yesterday is pulled every day, done or not, as before
    assert services.rebate_catch_up_ranges(today=today)[0] == ("spot", date(2026, 1, 13), date(2026, 1, 14))


# -- 2. a file never stays downloading or parsing --------------------------------------------------

GOOD = csv_of("2024-06-10,100000001,SPOT,USDT,100,1,USDT,0.5")
NEWER = csv_of("2024-06-10,100000001,SPOT,USDT,100,1,USDT,0.7")


def failing_ingest(exc):
    def replace(rebate_file, **kwargs):
        raise exc
    return replace


@pytest.mark.django_db
def test_a_database_error_on_the_last_attempt_fails_the_file_with_the_reason_and_changes_no_record(monkeypatch):
    rebate_file_ingest(rebate_file=stored_file(GOOD))
    before = records()
    f = stored_file(NEWER)
    monkeypatch.setattr(services, "_replace_records", failing_ingest(OperationalError("server closed the connection")))
    with pytest.raises(OperationalError):
        rebate_file_pull(file_id=f.pk, final_attempt=False)
    f.refresh_from_db()
    assert f.state == RebateFile.State.PENDING and "It will be tried again" in f.error

    with pytest.raises(OperationalError):
        rebate_file_pull(file_id=f.pk, final_attempt=True)
    f.refresh_from_db()
    assert f.state == RebateFile.State.FAILED
    assert f.error == "Stopped: server closed the connection. The records stored before are unchanged."
    assert records() == before


@pytest.mark.django_db
def test_a_re_parse_stopped_by_the_reading_process_fails_the_file_and_can_be_parsed_again(
        monkeypatch, client, make_staff):
    f = stored_file(GOOD)
    monkeypatch.setattr(services, "_replace_records",
                        failing_ingest(RuntimeError("Reading the rebate file failed: MemoryError")))
    with pytest.raises(RuntimeError):
        rebate_file_reparse(file_id=f.pk)
    f.refresh_from_db()
    assert f.state == RebateFile.State.FAILED and "MemoryError" in f.error
    monkeypatch.undo()

    client.force_login(make_staff("operator"))
    response = client.post(reverse("rebates:file-reparse", args=[f.pk]))
    assert Job.objects.filter(kind="rebate_file_reparse").count() == 1
    assert "?job=" in response["Location"]
    assert rebate_file_reparse(file_id=f.pk).state == RebateFile.State.DONE
    assert records() == [(DAY, "100000001", 0.5, f.pk)]


@pytest.mark.django_db
def test_parse_again_is_refused_only_while_a_worker_holds_the_file(client, make_staff):
    client.force_login(make_staff("operator"))
    held = stored_file(GOOD, state="parsing", lease_until=timezone.now() + timedelta(minutes=10))
    response = client.post(reverse("rebates:file-reparse", args=[held.pk]), follow=True)
    assert "being processed right now" in response.content.decode()
    assert not Job.objects.exists()

    # The worker was killed mid-ingest: the state stayed, the lease ran out.
    left = stored_file(GOOD, state="parsing", lease_until=timezone.now() - timedelta(seconds=1))
    page = client.get(reverse("rebates:file-detail", args=[left.pk])).content.decode()
    assert "data-stalled" in page and "parse it again or pull its days again" in page
    response = client.post(reverse("rebates:file-reparse", args=[left.pk]))
    assert "?job=" in response["Location"] and Job.objects.filter(kind="rebate_file_reparse").count() == 1
    assert "data-stalled" not in client.get(reverse("rebates:file-detail", args=[held.pk])).content.decode()


@pytest.mark.django_db
def test_a_file_held_to_the_last_attempt_says_until_when_in_the_job():
    f = stored_file(GOOD, state="downloading", lease_until=timezone.now() + timedelta(minutes=25))
    job = job_create(kind="rebates_sync", label="Pull")
    with pytest.raises(RebatesSyncFailed) as failed:
        with job_run(str(job.pk)) as run:
            services.rebate_files_pull(file_ids=[f.pk], run=run, final_attempt=True)
    assert "another worker holds this file until" in str(failed.value)
    assert "parsed again or its days pulled again" in str(failed.value)
    f.refresh_from_db()
    assert f.state == RebateFile.State.DOWNLOADING  # another worker's file is not touched


# -- 3. a re-parse never brings back replaced figures ------------------------------------------------

@pytest.mark.django_db
def test_an_older_file_is_not_parsed_again_over_days_a_newer_file_replaced(client, make_staff):
    older = stored_file(csv_of("2024-06-10,100000001,SPOT,USDT,100,1,USDT,0.5",
                               "2024-06-11,100000001,SPOT,USDT,100,1,USDT,0.5"), end=DAY + timedelta(days=1))
    rebate_file_ingest(rebate_file=older)
    newer = stored_file(csv_of("2024-06-11,100000001,SPOT,USDT,100,1,USDT,0.9"), begin=DAY + timedelta(days=1),
                        end=DAY + timedelta(days=1))
    rebate_file_ingest(rebate_file=newer)
    before = records()

    client.force_login(make_staff("operator"))
    page = client.post(reverse("rebates:file-reparse", args=[older.pk]), follow=True).content.decode()
    assert f"2024-06-11 by file {newer.pk}" in page and "pull the days again instead" in page
    assert not Job.objects.exists()

    # Queued before the newer file was done (a bulk re-parse): refused when it runs, and left as it was.
    with pytest.raises(services.NewerFileCovers, match=f"2024-06-11 by file {newer.pk}"):
        rebate_file_reparse(file_id=older.pk)
    older.refresh_from_db()
    assert older.state == RebateFile.State.DONE and older.error == ""
    assert records() == before
    # the newer file itself may be parsed again
    assert rebate_file_reparse(file_id=newer.pk).state == RebateFile.State.DONE
    assert records() == before


def interrupted_pull(data: bytes, monkeypatch, **fields) -> RebateFile:
    """A pull that downloaded its file, then lost the database before its records were stored."""
    rebate_file = stored_file(data, **fields)
    real_replace = services._replace_records
    monkeypatch.setattr(services, "_replace_records", failing_ingest(OperationalError("server closed the connection")))
    with pytest.raises(OperationalError):
        rebate_file_pull(file_id=rebate_file.pk, final_attempt=False)
    monkeypatch.setattr(services, "_replace_records", real_replace)
    return rebate_file


@pytest.mark.django_db
def test_a_pull_retried_after_a_newer_pull_of_its_day_finished_does_not_bring_back_older_figures(monkeypatch):
    downloaded = timezone.now() - timedelta(minutes=10)
    daily = interrupted_pull(csv_of("2024-06-10,100000001,SPOT,USDT,100,1,USDT,0.5"), monkeypatch, fetched_at=downloaded)
    # Before its retry, a member of staff pulled the day again, and that file was stored.
    repull = stored_file(csv_of("2024-06-10,100000001,SPOT,USDT,100,1,USDT,0.9"),
                         fetched_at=downloaded + timedelta(minutes=5))
    rebate_file_pull(file_id=repull.pk)
    before = records()

    with pytest.raises(services.NewerFileCovers):
        rebate_file_pull(file_id=daily.pk, final_attempt=False)
    daily.refresh_from_db()
    assert daily.state == RebateFile.State.FAILED
    assert f"2024-06-10 by file {repull.pk}" in daily.error
    assert records() == before == [(DAY, "100000001", Decimal("0.9"), repull.pk)]


@pytest.mark.django_db
def test_a_file_requested_first_but_downloaded_last_has_the_freshest_figures_and_is_stored():
    now = timezone.now()
    backfill = stored_file(csv_of("2024-06-10,100000001,SPOT,USDT,100,1,USDT,0.7",
                                  "2024-06-11,100000001,SPOT,USDT,100,1,USDT,0.7"), end=DAY + timedelta(days=1),
                           fetched_at=now)
    repull = stored_file(csv_of("2024-06-10,100000001,SPOT,USDT,100,1,USDT,0.9"), fetched_at=now - timedelta(minutes=5))
    rebate_file_pull(file_id=repull.pk)

    assert rebate_file_pull(file_id=backfill.pk).state == RebateFile.State.DONE
    assert [r[2] for r in records()] == [Decimal("0.7"), Decimal("0.7")]
    # and the re-pull's older figures cannot come back
    with pytest.raises(services.NewerFileCovers, match=f"by file {backfill.pk}"):
        rebate_file_reparse(file_id=repull.pk)
