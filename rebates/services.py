"""Every action of the rebates app that changes state: asking for files, downloading, ingesting, re-parsing.

The flow of one file: a RebateFile row is written `pending` with its days and trade type (a page, the
CLI or the daily schedule), a task asks KuCoin for the download link (`rebase/download`), streams the
file into file storage (`downloading`, sha256 and size on the way), then reads it (`parsing`) and, in ONE
transaction, deletes the records of the file's days and trade type and writes the file's records with
their totals: on PostgreSQL, PostgreSQL parses the file itself (rebates/ingest_sql.py), falling back to
kucoin.rebate_file's reader for anything it cannot read exactly like the reader; elsewhere the reader and
batched inserts. Any error in the
file rolls that transaction back: the records stored before stay exactly as they were, and the file is
marked `failed` with the reason and the line number. Its bytes are kept, so it can be parsed again later
without asking KuCoin.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import random
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable, Iterable, Iterator
from xml.etree import ElementTree

import requests
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import error_in_words
from brokeroffice.leases import LeaseHeld, leased
from brokeroffice.models import Job
from brokeroffice.tasking import TRANSIENT_ERRORS
from kucoin.errors import KuCoinError
from kucoin.rebate_file import RebateFileError, RebateRow, read_rebate_file
from rebates import conf, ingest_sql, totals
from rebates.models import RebateFile, RebateRecord, TradeType
from trading.services.shares import tag_share_rebate_update

logger = logging.getLogger(__name__)

MAX_SPAN_MONTHS = 6  # KuCoin: end at most 6 months after begin
LINK_FRESH_FOR = timedelta(hours=23)  # KuCoin's link is valid one day; ask again a little before
CHUNK = 1 << 16
BULK_BATCH = 5000
FILE_LEASE_SECONDS = 1800


# -- errors ---------------------------------------------------------------------------------------

class DownloadFailed(Exception):
    """The file could not be fetched this time (interrupted, refused, server error): worth another try."""


class LinkExpired(DownloadFailed):
    """The pre-signed link is no longer valid: ask KuCoin for a new one."""


class RebateFileRejected(Exception):
    """A file that failed for good (malformed, wrong headers, refused by KuCoin): retrying would not help."""


class RebatesSyncFailed(Exception):
    """Some files of a sync failed; the message says which and why."""


RETRYABLE = (*TRANSIENT_ERRORS, DownloadFailed)


# -- days -----------------------------------------------------------------------------------------

def today_in_zone() -> date:
    """Today in the zone of KuCoin's calendar days (REBATES_TIME_ZONE, UTC by default)."""
    return timezone.now().astimezone(conf.day_zone()).date()


def add_months(d: date, months: int) -> date:
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def rebate_range_check(*, begin: date, end: date, today: date | None = None) -> None:
    """Refuses, in words, a range the wrong way round, in the future or too long."""
    today = today or today_in_zone()
    yesterday = today - timedelta(days=1)
    errors = []
    if end < begin:
        errors.append(ValidationError(
            f"The last day ({end:%Y-%m-%d}) is before the first day ({begin:%Y-%m-%d}): swap them.", code="order"))
    if begin > yesterday or end > yesterday:
        errors.append(ValidationError(
            f"KuCoin's rebate files cover finished days only: the latest day that can be pulled is yesterday, "
            f"{yesterday:%Y-%m-%d}.", code="future"))
    days = (end - begin).days + 1
    if days > conf.max_backfill_days():
        errors.append(ValidationError(
            f"The range covers {days} days; at most {conf.max_backfill_days()} can be pulled at once.", code="too_long"))
    if errors:
        raise ValidationError(errors)


def rebate_windows(begin: date, end: date) -> list[tuple[date, date]]:
    """The range split into the windows KuCoin allows (end at most 6 months after begin), in order."""
    windows = []
    start = begin
    while start <= end:
        stop = min(end, add_months(start, MAX_SPAN_MONTHS) - timedelta(days=1))
        windows.append((start, stop))
        start = stop + timedelta(days=1)
    return windows


def trade_types_of(choice: str) -> list[str]:
    """`spot`, `futures` or `both` → the trade types to pull."""
    if choice == "both":
        return [TradeType.SPOT, TradeType.FUTURES]
    if choice not in TradeType.values:
        raise ValidationError(f"Unknown trade type {choice!r}: spot, futures or both.")
    return [choice]


# -- requests (pages, admin, CLI, schedule) -----------------------------------------------------

def rebate_files_prepare(*, begin: date, end: date, trade_types: Iterable[str], job: Job | None = None,
                         requested_by_label: str = "") -> list[RebateFile]:
    """Writes one pending file per 6-month window and trade type."""
    files = []
    for window_begin, window_end in rebate_windows(begin, end):
        for trade_type in trade_types:
            files.append(RebateFile.objects.create(trade_type=trade_type, begin=window_begin, end=window_end,
                                                   job=job, requested_by_label=requested_by_label))
    return files


def _describe_range(begin: date, end: date, trade_types: list[str]) -> str:
    kinds = " and ".join(TradeType(t).label.lower() for t in trade_types)
    return f"Pull {kinds} rebate files for {_days_in_words(begin, end)}"


def rebate_sync_request(*, begin: date, end: date, trade_types: list[str], requested_by=None,
                        requested_by_label: str = "", today: date | None = None) -> Job:
    """Checks the range, writes the pending files and a job, and queues the pull once committed."""
    from rebates.tasks import rebates_sync_task

    rebate_range_check(begin=begin, end=end, today=today)
    with transaction.atomic():
        job = job_create(kind="rebates_sync", label=_describe_range(begin, end, trade_types),
                         requested_by=requested_by, requested_by_label=requested_by_label)
        files = rebate_files_prepare(begin=begin, end=end, trade_types=trade_types, job=job,
                                     requested_by_label=job.requested_by_label)
        job_enqueue(job=job, task=rebates_sync_task, args=([f.pk for f in files],))
    return job


def rebate_day_repull_request(*, day: date, trade_type: str, requested_by=None, requested_by_label: str = "") -> Job:
    """Pulls one day again: its records for that trade type are replaced by the new file's, atomically."""
    return rebate_sync_request(begin=day, end=day, trade_types=[trade_type], requested_by=requested_by,
                               requested_by_label=requested_by_label)


def rebate_file_reparse_request(*, rebate_file: RebateFile, requested_by=None, requested_by_label: str = "") -> Job:
    """Reads the stored bytes of a file again (after the column mapping was fixed), without asking KuCoin."""
    from rebates.tasks import rebate_file_reparse_task

    if not rebate_file.has_content:
        raise ValidationError("This file was never downloaded, so there is nothing to parse: pull its days again.")
    # By its lease, not its state: a worker that died leaves the state behind, and its lease runs out.
    if RebateFile.objects.filter(pk=rebate_file.pk, lease_until__gt=timezone.now()).exists():
        raise ValidationError("This file is being processed right now; wait for it to finish.")
    newer = newer_files_covering(rebate_file)
    if newer:
        raise ValidationError(_newer_in_words(rebate_file, newer))
    with transaction.atomic():
        job = job_create(kind="rebate_file_reparse", label=f"Parse {rebate_file} again",
                         requested_by=requested_by, requested_by_label=requested_by_label)
        RebateFile.objects.filter(pk=rebate_file.pk).update(job=job)
        job_enqueue(job=job, task=rebate_file_reparse_task, args=(rebate_file.pk,))
    return job


# -- the work (tasks and CLI) -----------------------------------------------------------------------

def rebates_sync_yesterday(*, run: JobRun, final_attempt: bool = True) -> dict:
    """The daily schedule: yesterday's spot and futures files, and the recent days missed before (a retry
    reuses the files it wrote)."""
    files = list(RebateFile.objects.filter(job_id=run.job_id).order_by("pk"))
    if not files:
        job = Job.objects.filter(pk=run.job_id).first()
        label = job.requested_by_label if job else ""
        with transaction.atomic():
            for trade_type, begin, end in rebate_catch_up_ranges(today=today_in_zone()):
                files += rebate_files_prepare(begin=begin, end=end, trade_types=[trade_type], job=job,
                                              requested_by_label=label)
    return rebate_files_pull(file_ids=[f.pk for f in files], run=run, final_attempt=final_attempt,
                             note=_caught_up_in_words(files))


def _under_way() -> Q:
    """Files some worker is on: a live lease, or pending in a job that has not ended. A file left downloading or
    parsing by a worker that died is not under way once its lease has run out."""
    return Q(lease_until__gt=timezone.now()) | Q(state=RebateFile.State.PENDING,
                                                 job__state__in=[Job.State.PENDING, Job.State.RUNNING])


def _days_of(files) -> set[date]:
    return {b + timedelta(days=i) for b, e in files for i in range((e - b).days + 1)}


def rebate_catch_up_ranges(*, today: date) -> list[tuple[str, date, date]]:
    """(trade type, begin, end) to pull: yesterday always, and the days of the last REBATES_CATCH_UP_DAYS up to
    yesterday that have no done file for that trade type and none under way, in runs of consecutive days."""
    yesterday = today - timedelta(days=1)
    first = yesterday - timedelta(days=conf.catch_up_days() - 1)
    ranges = []
    for trade_type in (TradeType.SPOT, TradeType.FUTURES):
        near = RebateFile.objects.filter(trade_type=trade_type, begin__lte=yesterday, end__gte=first)
        covered = _days_of(near.filter(Q(state=RebateFile.State.DONE) | _under_way()).values_list("begin", "end"))
        wanted = sorted({d for d in _days_of([(first, yesterday)]) if d not in covered} | {yesterday})
        for _, run_days in itertools.groupby(enumerate(wanted), key=lambda pair: pair[1] - timedelta(days=pair[0])):
            run_days = [d for _, d in run_days]
            ranges.append((trade_type, run_days[0], run_days[-1]))
    return ranges


def _caught_up_in_words(files: list[RebateFile]) -> str:
    """The earlier days a daily pull caught up (those before the last day it pulls), for its job's message."""
    if not files:
        return ""
    last = max(f.end for f in files)
    missed = [f"{TradeType(f.trade_type).label.lower()} {_days_in_words(f.begin, min(f.end, last - timedelta(days=1)))}"
              for f in files if f.begin < last]
    return f" Caught up days missed before: {', '.join(missed)}." if missed else ""


def _days_in_words(begin: date, end: date) -> str:
    return f"{begin:%Y-%m-%d}" if begin == end else f"{begin:%Y-%m-%d} to {end:%Y-%m-%d}"


def rebate_files_pull(*, file_ids: list[int], run: JobRun, final_attempt: bool = True, note: str = "") -> dict:
    """Downloads and ingests each file not yet done. A transient failure is raised for a retry, unless this
    is the last attempt: then that file is marked failed and the others still go ahead. Fails (raises)
    when any file failed, naming each with its reason. `note` ends the job's message."""
    total = len(file_ids)
    failures: list[str] = []
    rows = 0
    for index, file_id in enumerate(file_ids):
        rebate_file = RebateFile.objects.get(pk=file_id)
        if rebate_file.state == RebateFile.State.DONE:
            rows += rebate_file.row_count or 0
            continue
        if rebate_file.state == RebateFile.State.FAILED:
            failures.append(f"{rebate_file}: {rebate_file.error}")
            continue
        run.progress(index, total, f"{rebate_file}: downloading")
        try:
            rebate_file = rebate_file_pull(file_id=file_id, final_attempt=final_attempt)
        except RebateFileRejected as exc:
            failures.append(f"{rebate_file}: {exc}")
            continue
        except RETRYABLE as exc:
            if not final_attempt:
                raise
            failures.append(f"{rebate_file}: {_failure_in_words(exc, file_id)}")
            continue
        rows += rebate_file.row_count or 0
        tag_share_rebate_update(begin=rebate_file.begin, end=rebate_file.end)  # the reconciliation's flags
        run.progress(index + 1, total, f"{rebate_file}: {rebate_file.row_count} records")
    if failures:
        raise RebatesSyncFailed(f"{len(failures)} of {total} rebate files failed.{note} " + " ".join(failures))
    message = f"{total} rebate file{'s' if total != 1 else ''} pulled, {rows} records.{note}"
    run.succeed(message, result={"files": total, "records": rows})
    return {"files": total, "records": rows}


def rebate_files_pull_retrying(*, file_ids: list[int], run: JobRun,
                               sleep: Callable[[float], None] = time.sleep) -> dict:
    """The same, in this process (the CLI): waits and tries again on a transient failure, like the task."""
    retries = 0
    while True:
        final = retries >= conf.download_max_retries()
        try:
            return rebate_files_pull(file_ids=file_ids, run=run, final_attempt=final)
        except RETRYABLE as exc:
            wait = backoff_seconds(retries)
            run.progress(0, None, f"{error_in_words(exc)} Trying again in {wait:.0f} s.")
            sleep(wait)
            retries += 1


def _failure_in_words(exc: BaseException, file_id: int) -> str:
    if isinstance(exc, LeaseHeld):  # most likely a worker that died holding it (its lease lasts FILE_LEASE_SECONDS)
        until = RebateFile.objects.filter(pk=file_id).values_list("lease_until", flat=True).first()
        if until:
            return (f"another worker holds this file until {timezone.localtime(until):%Y-%m-%d %H:%M:%S %Z}; "
                    "after that it can be parsed again or its days pulled again.")
    return error_in_words(exc)


def backoff_seconds(retries: int) -> float:
    return min(300.0, conf.retry_base_seconds() * 2**retries) + random.uniform(0, conf.retry_base_seconds() / 4)


def _mark(file_id: int, **changes) -> None:
    RebateFile.objects.filter(pk=file_id).update(updated_at=timezone.now(), **changes)


def rebate_file_pull(*, file_id: int, final_attempt: bool = True) -> RebateFile:
    """Downloads the file (unless its bytes are already stored), then ingests it, unless a newer file of the
    same trade type already replaced some of its days: then it fails, naming them, and changes no record."""
    with leased(RebateFile, file_id, seconds=FILE_LEASE_SECONDS), _never_left_under_way(file_id, final_attempt):
        rebate_file = RebateFile.objects.get(pk=file_id)
        attempt = rebate_file.attempts + 1
        _mark(file_id, attempts=attempt)
        downloaded_now = not rebate_file.has_content
        if downloaded_now:
            try:
                _download(rebate_file)
            except RETRYABLE as exc:
                reason = error_in_words(exc)
                if final_attempt:
                    _mark(file_id, state=RebateFile.State.FAILED, error=f"Download failed after {attempt} attempts: {reason}")
                else:
                    _mark(file_id, state=RebateFile.State.PENDING, error=f"Attempt {attempt} failed: {reason} It will be tried again.")
                raise
            except KuCoinError as exc:  # a definite refusal: trying again would get the same answer
                reason = error_in_words(exc)
                _mark(file_id, state=RebateFile.State.FAILED, error=reason)
                raise RebateFileRejected(reason) from exc
        try:
            # Newest only: another pull of the same days may have finished while this one waited or was retried.
            return rebate_file_ingest(rebate_file=rebate_file, newest_only=True)
        except NewerFileCovers as exc:
            _mark(file_id, state=RebateFile.State.FAILED, error=str(exc))
            raise
        except RebateFileRejected as exc:
            if not downloaded_now or final_attempt:
                raise
            # Bytes that do not read right after a download may have been cut short on the way: fetch again.
            RebateFile.objects.get(pk=file_id).content.delete(save=False)
            _mark(file_id, content="", size=None, sha256="", state=RebateFile.State.PENDING,
                  error=f"Attempt {attempt}: {exc} It will be downloaded again.")
            raise DownloadFailed(f"The downloaded file could not be read ({exc}); it will be downloaded again.") from exc


def _download(rebate_file: RebateFile) -> None:
    from accounts.clients import broker_client

    client = None
    now = timezone.now()
    if not rebate_file.url or not rebate_file.url_asked_at or now - rebate_file.url_asked_at > LINK_FRESH_FOR:
        client = broker_client()
        _ask_link(rebate_file, client)
    _mark(rebate_file.pk, state=RebateFile.State.DOWNLOADING)
    try:
        fetched = _fetch(rebate_file.url)
    except LinkExpired:
        _ask_link(rebate_file, client or broker_client())  # a new link, once, right away
        fetched = _fetch(rebate_file.url)
    with fetched.file:
        name = f"{rebate_file.trade_type}-{rebate_file.begin:%Y%m%d}-{rebate_file.end:%Y%m%d}-{rebate_file.pk}.csv"
        rebate_file.content.save(name, File(fetched.file), save=False)
    rebate_file.size, rebate_file.sha256, rebate_file.fetched_at = fetched.size, fetched.sha256, timezone.now()
    rebate_file.error = ""
    RebateFile.objects.filter(pk=rebate_file.pk).update(
        content=rebate_file.content.name, size=fetched.size, sha256=fetched.sha256, fetched_at=rebate_file.fetched_at,
        error="", updated_at=timezone.now())


def _ask_link(rebate_file: RebateFile, client) -> None:
    rebate_file.url = client.broker.get_rebate_download_url(rebate_file.begin, rebate_file.end, rebate_file.trade_type)
    rebate_file.url_asked_at = timezone.now()
    _mark(rebate_file.pk, url=rebate_file.url, url_asked_at=rebate_file.url_asked_at)


@dataclass
class Fetched:
    file: object
    size: int
    sha256: str


def _fetch(url: str) -> Fetched:
    """Streams the pre-signed link (a plain GET, no KuCoin signature) into a temporary file."""
    try:
        response = requests.get(url, stream=True, timeout=(10, conf.download_timeout_seconds()))
    except requests.RequestException as exc:
        raise DownloadFailed(f"The download could not start: {exc.__class__.__name__}.") from None
    with response:
        if response.status_code != 200:
            _refused(response)
        digest = hashlib.sha256()
        size = 0
        out = tempfile.TemporaryFile()
        try:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        except requests.RequestException as exc:
            out.close()
            raise DownloadFailed(f"The download was interrupted after {size} bytes ({exc.__class__.__name__}).") from None
        except BaseException:
            out.close()
            raise
        declared = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"  # then it counts encoded bytes
        if declared and declared.isdigit() and not encoded and int(declared) != size:  # a cut the transport missed
            out.close()
            raise DownloadFailed(f"The download ended after {size} of {declared} bytes.")
    out.seek(0)
    return Fetched(out, size, digest.hexdigest())


def _refused(response) -> None:
    code, message = "", ""
    try:
        root = ElementTree.fromstring(response.content[:10_000])
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
    except ElementTree.ParseError:
        pass
    said = f" ({code}: {message})" if code else ""
    if response.status_code in (403, 404):
        raise LinkExpired(f"The download link was refused with HTTP {response.status_code}{said}.")
    raise DownloadFailed(f"The file server answered HTTP {response.status_code}{said}.")


# -- ingest ---------------------------------------------------------------------------------------

ACCEPTED_TRADE_TYPES = {
    TradeType.SPOT: {"spot", "1"},
    TradeType.FUTURES: {"futures", "future", "contract", "2"},
}
COPY_COLUMNS = ("file_id", "line", "date", "trade_type", "uid", "sub_account_id", "fee_currency", "volume", "fee",
                "rebate_currency", "rebate_amount", "extra")


@contextmanager
def _never_left_under_way(file_id: int, final_attempt: bool) -> Iterator[None]:
    """Whatever stops the work on a file (a database error, a time limit, the reading process), the file does
    not stay downloading or parsing: pending when it will be tried again, else failed with the reason. Inside
    the lease: a file another worker holds is not touched."""
    try:
        yield
    except Exception as exc:
        again = isinstance(exc, RETRYABLE) and not final_attempt
        state = RebateFile.State.PENDING if again else RebateFile.State.FAILED
        said = error_in_words(exc).rstrip()
        reason = f"Stopped: {said}{'' if said.endswith('.') else '.'}" + (
            " It will be tried again." if again else " The records stored before are unchanged.")
        try:
            RebateFile.objects.filter(pk=file_id, state__in=[RebateFile.State.DOWNLOADING, RebateFile.State.PARSING]
                                      ).update(state=state, error=reason, updated_at=timezone.now())
        except Exception:  # noqa: BLE001 - the database itself is away: the lease runs out, the file is free again
            logger.warning("rebate file %s: its state could not be updated after %s", file_id, exc.__class__.__name__)
        raise


class NewerFileCovers(RebateFileRejected):
    """A newer done file replaced some of this file's days: parsing this one again would bring back older figures."""


def newer_files_covering(rebate_file: RebateFile) -> list[RebateFile]:
    """Done files of the same trade type that cover some of this one's days with fresher figures: downloaded
    after this file's bytes were (a file without a download time counts as downloaded when it was requested)."""
    requested_after = Q(pk__gt=rebate_file.pk)
    newer = requested_after if rebate_file.fetched_at is None else (
        Q(fetched_at__gt=rebate_file.fetched_at) | Q(fetched_at__isnull=True) & requested_after)
    return list(RebateFile.objects.filter(newer, trade_type=rebate_file.trade_type, state=RebateFile.State.DONE,
                                          begin__lte=rebate_file.end, end__gte=rebate_file.begin)
                .exclude(pk=rebate_file.pk).order_by("pk").only("pk", "trade_type", "begin", "end"))


def _newer_in_words(rebate_file: RebateFile, newer: list[RebateFile]) -> str:
    which = "; ".join(f"{_days_in_words(max(n.begin, rebate_file.begin), min(n.end, rebate_file.end))} by file {n.pk} "
                      f"({n})" for n in newer[:5])
    more = f" and {len(newer) - 5} more files" if len(newer) > 5 else ""
    return (f"Newer files replaced this file's records of some of its days: {which}{more}. Parsing this one again "
            f"would bring back older figures for those days: pull the days again instead.")


def rebate_file_reparse(*, file_id: int, final_attempt: bool = True) -> RebateFile:
    with leased(RebateFile, file_id, seconds=FILE_LEASE_SECONDS), _never_left_under_way(file_id, final_attempt):
        rebate_file = rebate_file_ingest(rebate_file=RebateFile.objects.get(pk=file_id), newest_only=True)
    tag_share_rebate_update(begin=rebate_file.begin, end=rebate_file.end)  # the reconciliation's flags
    return rebate_file


def rebate_file_ingest(*, rebate_file: RebateFile, newest_only: bool = False) -> RebateFile:
    """Reads the stored bytes and replaces the records of the file's days and trade type, in one
    transaction. A bad file changes no record: it is marked failed with the line and the reason. With
    `newest_only` (a re-parse), refuses when a newer done file covers some of its days, and leaves it as it was."""
    file_id = rebate_file.pk
    before = RebateFile.objects.filter(pk=file_id).values_list("state", "error").first()
    _mark(file_id, state=RebateFile.State.PARSING)
    try:
        rows = _replace_records(rebate_file, newest_only=newest_only)
    except NewerFileCovers:
        _mark(file_id, state=before[0], error=before[1])
        raise
    except RebateFileError as exc:
        reason = str(exc)
        if exc.line == 1 and "missing column" in reason:
            reason += ". The file is kept: parse it again once the column mapping in kucoin/rebate_file.py knows its headers."
        _mark(file_id, state=RebateFile.State.FAILED, error=reason, error_line=exc.line or None)
        raise RebateFileRejected(reason) from exc
    except FileNotFoundError as exc:
        reason = "The stored bytes of this file are missing from file storage: pull its days again."
        _mark(file_id, state=RebateFile.State.FAILED, error=reason)
        raise RebateFileRejected(reason) from exc
    rebate_file.refresh_from_db()
    logger.info("rebate file %s: %s records", file_id, rows)
    return rebate_file


def _checked_rows(rebate_file: RebateFile, rows: Iterable[RebateRow]) -> Iterable[RebateRow]:
    begin, end = rebate_file.begin, rebate_file.end
    accepted = ACCEPTED_TRADE_TYPES[rebate_file.trade_type]
    for row in rows:
        if not begin <= row.date <= end:
            raise RebateFileError(row.line, f"the day {row.date} is outside the file's days ({begin} to {end})")
        if row.trade_type is not None and row.trade_type.strip().casefold() not in accepted:
            raise RebateFileError(row.line, f"trade type {row.trade_type!r} in a {rebate_file.trade_type} file")
        if len(row.uid) > 32 or len(row.rebate_currency) > 20 or (row.fee_currency and len(row.fee_currency) > 20):
            raise RebateFileError(row.line, "a uid or currency longer than the stored columns allow")
        if _too_large(row.rebate_amount, row.volume, row.fee):
            raise RebateFileError(row.line, TOO_LARGE)
        if _has_nul(row):
            raise RebateFileError(row.line, HAS_NUL)
        yield row


AMOUNT_LIMIT = Decimal(10) ** 18  # numeric(36, 18): 18 digits before the point
TOO_LARGE = "an amount larger than the stored columns allow (18 digits before the point)"


def _too_large(*amounts: Decimal | None) -> bool:
    return any(a is not None and abs(a) >= AMOUNT_LIMIT for a in amounts)


HAS_NUL = "a NUL character, which text cannot hold"


def _has_nul(row: RebateRow) -> bool:
    """Python's csv module reads NUL characters; PostgreSQL's text cannot store them."""
    return ("\x00" in row.uid or "\x00" in row.rebate_currency or "\x00" in (row.fee_currency or "")
            or any("\x00" in k or "\x00" in v for k, v in row.extra.items()))


def _replace_records(rebate_file: RebateFile, *, newest_only: bool = False) -> int:
    """In one transaction: the records (and totals) of the file's days and trade type go, the file's come."""
    trade_type, begin, end = rebate_file.trade_type, rebate_file.begin, rebate_file.end
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # one ingest per trade type at a time
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"rebates:{trade_type}"])
                _settings_for_a_file(cursor)
        # Checked here, after the lock: a newer file's ingest that finished while this one waited counts.
        if newest_only and (newer := newer_files_covering(rebate_file)):
            raise NewerFileCovers(_newer_in_words(rebate_file, newer))
        if connection.vendor == "postgresql":
            totals.replaced_delete(trade_type=trade_type, begin=begin, end=end)
            count = _store_on_postgres(rebate_file)
            totals.emptied_delete(trade_type=trade_type, begin=begin, end=end)
        else:
            RebateRecord.objects.filter(trade_type=trade_type, date__range=(begin, end))._raw_delete(connection.alias)
            with rebate_file.content.open("rb") as stream:
                count = _bulk_rows(rebate_file, _checked_rows(rebate_file, read_rebate_file(stream)), _sub_accounts())
            totals.recompute(trade_type=trade_type, begin=begin, end=end)
        RebateFile.objects.filter(pk=rebate_file.pk).update(
            state=RebateFile.State.DONE, row_count=count, parsed_at=timezone.now(), error="", error_line=None,
            updated_at=timezone.now())
    return count


def _settings_for_a_file(cursor) -> None:
    """For this transaction, on both of its paths: its plans run once (JIT compiling costs more than it
    saves), and the sums of a million replaced or new records group in memory (with the default work_mem
    totals.replaced_delete sorted them on disk: 0.4-0.8 s more per re-ingest of bench/bench_rebate_ingest.py)."""
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL work_mem = '64MB'")


def _sub_accounts() -> dict[str, int]:
    from accounts.models import SubAccount

    return dict(SubAccount.objects.exclude(uid=None).values_list("uid", "pk"))


def _store_on_postgres(rebate_file: RebateFile) -> int:
    """PostgreSQL parses the file (rebates/ingest_sql.py) unless the file needs kucoin.rebate_file's reader to
    be read exactly (or REBATES_SQL_PARSE=false): then the reader's rows are COPYed. Both store the same
    records; a bad file is always judged by the reader, which names the line."""
    from psycopg import Error as PsycopgError

    if conf.sql_parse():
        try:
            with transaction.atomic(), rebate_file.content.open("rb") as stream:  # a savepoint for this attempt
                return ingest_sql.copy_ingest(stream=stream, file_id=rebate_file.pk, trade_type=rebate_file.trade_type,
                                              begin=rebate_file.begin, end=rebate_file.end,
                                              accepted_trade_types=ACCEPTED_TRADE_TYPES[rebate_file.trade_type])
        except (ingest_sql.NotExact, DatabaseError, PsycopgError) as exc:
            logger.info("rebate file %s: read line by line (%s)", rebate_file.pk, str(exc).splitlines()[0] if str(exc) else exc)
    with rebate_file.content.open("rb") as stream:
        count = _copy_rows(rebate_file, stream, _sub_accounts())
    totals.added_from_records(trade_type=rebate_file.trade_type, begin=rebate_file.begin, end=rebate_file.end)
    return count


NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _Counter:
    """How many rows _copy_text wrote."""

    count = 0


def _copy_text(rebate_file: RebateFile, rows: Iterable[RebateRow], sub_accounts: dict[str, int],
               counter: _Counter) -> Iterator[str]:
    """The rows, checked like _checked_rows (inlined here: this loop runs once per line of a file of
    millions), as COPY text-format lines, in blocks."""
    begin, end = rebate_file.begin, rebate_file.end
    accepted = ACCEPTED_TRADE_TYPES[rebate_file.trade_type]
    prefix = f"{rebate_file.pk}\t"
    kind = f"\t{rebate_file.trade_type}\t"
    get_sub = sub_accounts.get
    too_large, has_nul = _too_large, _has_nul
    dumps = json.dumps
    esc = _COPY_ESCAPES
    text = str
    block: list[str] = []
    append = block.append
    count = 0
    for row in rows:
        day = row.date
        if not begin <= day <= end:
            raise RebateFileError(row.line, f"the day {day} is outside the file's days ({begin} to {end})")
        trade_type = row.trade_type
        if trade_type is not None and trade_type.strip().casefold() not in accepted:
            raise RebateFileError(row.line, f"trade type {trade_type!r} in a {rebate_file.trade_type} file")
        uid, fee_currency, currency = row.uid, row.fee_currency, row.rebate_currency
        if len(uid) > 32 or len(currency) > 20 or (fee_currency and len(fee_currency) > 20):
            raise RebateFileError(row.line, "a uid or currency longer than the stored columns allow")
        sub = get_sub(uid)
        volume, fee = row.volume, row.fee
        if too_large(row.rebate_amount, volume, fee):
            raise RebateFileError(row.line, TOO_LARGE)
        if has_nul(row):
            raise RebateFileError(row.line, HAS_NUL)
        append("".join((
            prefix, text(row.line), "\t", day.isoformat(), kind, uid.translate(esc), "\t",
            NULL if sub is None else text(sub), "\t",
            NULL if fee_currency is None else fee_currency.translate(esc), "\t",
            NULL if volume is None else text(volume), "\t", NULL if fee is None else text(fee), "\t",
            currency.translate(esc), "\t", text(row.rebate_amount), "\t",
            dumps(row.extra).translate(esc) if row.extra else "{}", "\n")))
        count += 1
        if len(block) >= 2000:
            counter.count = count
            yield "".join(block)
            block.clear()
    counter.count = count
    if block:
        yield "".join(block)


def _parse_in_child(rebate_file, stream, sub_accounts, data_fd: int, result_fd: int) -> None:
    """In a forked process: read and check the file, write COPY text to data_fd, the outcome to result_fd."""
    outcome: dict = {}
    try:
        with os.fdopen(data_fd, "wb", buffering=1 << 20) as out:
            counter = _Counter()
            for text in _copy_text(rebate_file, read_rebate_file(stream), sub_accounts, counter):
                out.write(text.encode())
        outcome = {"count": counter.count}
    except RebateFileError as exc:
        outcome = {"line": exc.line, "error": str(exc)}
    except BrokenPipeError:
        outcome = {"line": 0, "error": "stopped"}
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        outcome = {"line": 0, "error": f"{exc.__class__.__name__}: {exc}", "unexpected": True}
    finally:
        try:
            os.write(result_fd, json.dumps(outcome).encode())
        finally:
            os._exit(0)


def _copy_rows(rebate_file: RebateFile, stream, sub_accounts: dict[str, int]) -> int:
    """COPY ... FROM STDIN into the records table. The file is read and checked by kucoin.rebate_file in a
    forked child process while this one feeds PostgreSQL, so reading and storing run side by side; with
    REBATES_PARALLEL_PARSE=false (or no fork) it is all done here. Any bad line aborts the COPY."""
    from psycopg import errors as pg_errors

    table = RebateRecord._meta.db_table
    sql = f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
    parallel = conf.parallel_parse() and hasattr(os, "fork")
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        try:
            if not parallel:
                counter = _Counter()
                with cursor.copy(sql) as copy:
                    for text in _copy_text(rebate_file, read_rebate_file(stream), sub_accounts, counter):
                        copy.write(text)
                return counter.count
            return _copy_forked(cursor, sql, rebate_file, stream, sub_accounts)
        except pg_errors.DataError as exc:  # a value the columns cannot hold (e.g. an amount too large)
            raise RebateFileError(0, f"a value PostgreSQL refused: {str(exc).splitlines()[0]}") from None


def _copy_forked(cursor, sql: str, rebate_file: RebateFile, stream, sub_accounts: dict[str, int]) -> int:
    data_r, data_w = os.pipe()
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(data_r)
        os.close(result_r)
        _parse_in_child(rebate_file, stream, sub_accounts, data_w, result_w)
    os.close(data_w)
    os.close(result_w)
    outcome: dict = {}
    try:
        with cursor.copy(sql) as copy:
            with os.fdopen(data_r, "rb", buffering=0) as source:
                read = source.read
                while block := read(1 << 20):
                    copy.write(block)
            outcome = _outcome(result_r)
            if "error" in outcome:
                raise _file_error(outcome)  # aborts the COPY: nothing of this file is stored
    finally:
        if not outcome:
            outcome = _outcome(result_r)
        os.close(result_r)
        os.waitpid(pid, 0)
    return int(outcome["count"])


def _outcome(fd: int) -> dict:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks) or b"{}") or {"line": 0, "error": "the reading process ended without a word"}
    except ValueError:
        return {"line": 0, "error": "the reading process ended without a word"}


def _file_error(outcome: dict) -> Exception:
    if outcome.get("unexpected"):
        return RuntimeError(f"Reading the rebate file failed: {outcome['error']}")
    exc = RebateFileError(int(outcome.get("line") or 0), "")
    exc.args = (outcome["error"],)
    return exc


def _bulk_rows(rebate_file: RebateFile, rows: Iterable[RebateRow], sub_accounts: dict[str, int]) -> int:
    file_id, trade_type = rebate_file.pk, rebate_file.trade_type
    batch: list[RebateRecord] = []
    count = 0
    for row in rows:
        batch.append(RebateRecord(
            file_id=file_id, line=row.line, date=row.date, trade_type=trade_type, uid=row.uid,
            sub_account_id=sub_accounts.get(row.uid), fee_currency=row.fee_currency, volume=row.volume, fee=row.fee,
            rebate_currency=row.rebate_currency, rebate_amount=row.rebate_amount, extra=row.extra or {}))
        if len(batch) >= BULK_BATCH:
            RebateRecord.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    if batch:
        RebateRecord.objects.bulk_create(batch)
        count += len(batch)
    return count
