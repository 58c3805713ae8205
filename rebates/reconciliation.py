"""The rebate reconciliation (issue 7): per sub-account and day, the volume of its tagged orders next to the
rebate KuCoin paid for it, flagging the sub-accounts that trade but earn nothing.

Nothing here groups orders: trading/ counts each day's tagged dealt volume per account ahead, and marks whether
that sub-account got a rebate for it (`trading.services.shares`: TagShare.tagged_volume and TagShare.rebate). The
page reads one page of the flagged days (a partial index holds them newest first), the days still waiting for
their rebate files, and the newest rebate days with the volume of just those rows."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice

from django.core.paginator import Page
from django.db.models import Count, QuerySet, Sum

from brokeroffice.admin_base import COUNT_CAP, CappedCountPaginator
from rebates.selectors import ZERO, ReportFilter, attach_names
from trading.models import TagShare

FLAGGED_PER_PAGE = 50
REBATE_DAYS_SHOWN = 200
EXPORT_CHUNK = 2000  # rows enriched (names, volumes) with one query each while the export streams


@dataclass
class ReconciliationRow:
    day: date
    uid: str
    name: str = ""
    sub_account_id: int | None = None
    volumes: dict[str, Decimal] = field(default_factory=dict)  # tagged dealt volume per quote currency
    rebates: dict[str, Decimal] = field(default_factory=dict)
    rebate_state: str = ""  # a TagShare.Rebate value; blank without tagged volume

    @property
    def trades_but_earns_nothing(self) -> bool:
        return self.rebate_state == TagShare.Rebate.NONE

    @property
    def waiting(self) -> bool:
        return self.rebate_state == TagShare.Rebate.WAITING

    @property
    def check(self) -> str:
        """What the row needs looking at, in words: nothing when the rebate came (or nothing was traded)."""
        flagged = self.rebate_state in (TagShare.Rebate.NONE, TagShare.Rebate.WAITING)
        return TagShare.Rebate(self.rebate_state).label if flagged else ""


@dataclass
class WaitingDay:
    day: date
    sub_accounts: int


@dataclass
class Reconciliation:
    flagged: Page  # of ReconciliationRow: trades but earns nothing, newest first
    waiting: list[WaitingDay]  # days with tagged volume whose rebate files are not in yet, newest first
    rows: list[ReconciliationRow]  # the newest rebate days, with their tagged volume
    limited: bool  # more rebate days exist than are shown (the CSV export has them all)
    count_cap: int = COUNT_CAP  # the flagged days are counted up to this many


def _shares(f: ReportFilter, state: str) -> QuerySet:
    """The sub-account days of the filter in one rebate state (each state has a partial index by day)."""
    shares = TagShare.objects.filter(rebate=state, day__range=(f.begin, f.end))
    if f.uid:
        shares = shares.filter(sub_account__uid=f.uid)
    return shares


def _share_rows(f: ReportFilter, state: str) -> QuerySet:
    """Those days newest first, with their sub-account."""
    return (_shares(f, state).select_related("sub_account")
            .only("day", "tagged_volume", "rebate", "sub_account__uid", "sub_account__account_name")
            .order_by("-day", "-id"))


def _share_row(share: TagShare) -> ReconciliationRow:
    return ReconciliationRow(share.day, share.sub_account.uid or "", name=share.sub_account.account_name,
                             sub_account_id=share.sub_account_id, volumes=share.volumes, rebate_state=share.rebate)


def waiting_days(f: ReportFilter) -> list[WaitingDay]:
    """Per day, the sub-accounts with tagged volume whose rebate files are not in yet (usually today's)."""
    return [WaitingDay(g["day"], g["n"]) for g in
            _shares(f, TagShare.Rebate.WAITING).values("day").annotate(n=Count("id")).order_by("-day")]


def _rebate_groups(f: ReportFilter) -> QuerySet:
    """Rebate per day, uid and currency, newest day first, and within a day the uids in the order of the
    (date, uid, ...) index read backwards, so that the database stops after a limit instead of grouping every
    record of the range."""
    return (f.records().values("date", "uid", "rebate_currency").annotate(amount=Sum("rebate_amount"))
            .order_by("-date", "-uid", "rebate_currency"))


def _rebate_rows(groups: Iterable[dict]) -> Iterator[ReconciliationRow]:
    """The grouped records folded into a row per day and uid (its currencies follow each other)."""
    row = None
    for g in groups:
        if row is None or (row.day, row.uid) != (g["date"], g["uid"]):
            if row is not None:
                yield row
            row = ReconciliationRow(g["date"], g["uid"])
        row.rebates[g["rebate_currency"]] = row.rebates.get(g["rebate_currency"], ZERO) + (g["amount"] or ZERO)
    if row is not None:
        yield row


def _with_volumes(rows: list[ReconciliationRow]) -> list[ReconciliationRow]:
    """Fills in each row's sub-account and the tagged volume counted for its day: two queries for the rows."""
    attach_names(rows)
    ids = {r.sub_account_id for r in rows if r.sub_account_id}
    shares = {(s.day, s.sub_account_id): s for s in
              TagShare.objects.filter(day__in={r.day for r in rows}, sub_account_id__in=ids)
              .only("day", "sub_account_id", "tagged_volume", "rebate").order_by()} if ids else {}
    for r in rows:
        share = shares.get((r.day, r.sub_account_id))
        if share:
            r.volumes, r.rebate_state = share.volumes, share.rebate
    return rows


def reconciliation_page(f: ReportFilter, *, page_number: int | str | None = 1) -> Reconciliation:
    """One page of the flagged sub-account days, the days waiting for rebate files, and the newest
    REBATE_DAYS_SHOWN rebate days with their tagged volume."""
    flagged = CappedCountPaginator(_share_rows(f, TagShare.Rebate.NONE), FLAGGED_PER_PAGE).get_page(page_number)
    flagged.object_list = [_share_row(share) for share in flagged.object_list]
    groups = list(_rebate_groups(f)[:REBATE_DAYS_SHOWN])
    rows = _with_volumes(list(_rebate_rows(groups)))
    return Reconciliation(flagged=flagged, waiting=waiting_days(f), rows=rows,
                          limited=len(groups) == REBATE_DAYS_SHOWN)


def reconciliation_rows(f: ReportFilter) -> Iterator[ReconciliationRow]:
    """Every row, for the export, streamed: the flagged days, the waiting ones, then every rebate day with its
    volume (enriched EXPORT_CHUNK rows at a time, never all in memory)."""
    for state in (TagShare.Rebate.NONE, TagShare.Rebate.WAITING):
        for share in _share_rows(f, state).iterator(chunk_size=EXPORT_CHUNK):
            yield _share_row(share)
    rebate_rows = _rebate_rows(_rebate_groups(f).iterator(chunk_size=EXPORT_CHUNK))
    while chunk := list(islice(rebate_rows, EXPORT_CHUNK)):
        # A day whose only rebate is zero is flagged too: it was listed with the flagged ones above.
        yield from (r for r in _with_volumes(chunk) if not r.trades_but_earns_nothing)
