"""Rebate pages: reports (viewer), files and syncs (operator starts them). A view never calls KuCoin: it
writes the intent and queues a task; the page then shows the job's progress."""
from __future__ import annotations

import csv
import itertools
import uuid
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from brokeroffice.models import Job
from brokeroffice.roles import OPERATOR, VIEWER, has_role, role_required
from brokeroffice.templatetags.amounts import plain_amount
from rebates import charts, selectors
from rebates.forms import ReportFilterForm, SyncForm
from rebates.models import RebateFile, TradeType
from rebates.reconciliation import reconciliation_page, reconciliation_rows
from rebates.services import (
    rebate_day_repull_request,
    rebate_file_reparse_request,
    rebate_sync_request,
    today_in_zone,
    trade_types_of,
)

TOP = 10
SUB_ACCOUNTS_PER_PAGE = 100
REBATE_JOB_KINDS = ("rebates_sync", "sync_yesterday", "rebate_file_reparse")


def _job(request) -> Job | None:
    try:
        return Job.objects.filter(pk=uuid.UUID(request.GET.get("job", ""))).first()
    except ValueError:
        return None


def _to_job(url_name: str, job: Job, **kwargs) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(url_name, kwargs=kwargs or None)}?job={job.pk}")


def _filter_form(request) -> ReportFilterForm:
    default = selectors.default_filter(today_in_zone())
    data = {"begin": default.begin.isoformat(), "end": default.end.isoformat(), "period": "day"}
    data.update({k: v for k, v in request.GET.items() if k in ReportFilterForm.base_fields and v != ""})
    return ReportFilterForm(data)


def _query(form: ReportFilterForm) -> str:
    return urlencode({k: v for k, v in form.data.items() if v})


def _period_label(day, period: str) -> str:
    return day.strftime("%Y-%m") if period == "month" else day.isoformat()


@role_required(VIEWER)
def report(request):
    form = _filter_form(request)
    context = {"form": form, "query": _query(form)}
    if not form.is_valid():
        return render(request, "rebates/report.html", context, status=400)
    f = form.report_filter()
    period = form.cleaned_data.get("period") or "day"
    period_rows = selectors.rebates_by_period(f, period)
    totals = selectors.totals(period_rows)
    currency = next(iter(totals), "")
    by_type = selectors.rebates_by_type(period_rows)
    top = selectors.rebates_by_sub_account(f, limit=TOP)
    top_main = [r for r in top if r.currency == currency]
    context.update({
        "period": period, "period_rows": period_rows, "totals": totals, "currency": currency, "by_type": by_type,
        "top": top,
        "period_chart": charts.stacked_bars(
            [(_period_label(r.period, period), r.spot, r.futures) for r in period_rows if r.currency == currency],
            title=f"Rebate per {period}, spot and futures, in {currency}", currency=currency) if currency else "",
        "type_chart": _type_chart(by_type, currency),
        "top_chart": charts.horizontal_bars(
            [(r.name or r.uid, r.total, charts.SPOT_COLOUR) for r in top_main],
            title=f"Top sub-accounts by rebate, in {currency}", currency=currency) if top_main else "",
    })
    return render(request, "rebates/report.html", context)


def _type_chart(by_type, currency: str):
    main = next((b for b in by_type if b.currency == currency), None)
    if main is None:
        return ""
    return charts.horizontal_bars([("Spot", main.spot, charts.SPOT_COLOUR), ("Futures", main.futures, charts.FUTURES_COLOUR)],
                                  title=f"Spot against futures, in {currency}", currency=currency)


@role_required(VIEWER)
def by_sub_account(request):
    form = _filter_form(request)
    context = {"form": form, "query": _query(form)}
    if not form.is_valid():
        return render(request, "rebates/by_sub_account.html", context, status=400)
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    # One page, ranked by the database; one row more than shown says whether there is a next page.
    rows = selectors.rebates_by_sub_account(form.report_filter(), limit=SUB_ACCOUNTS_PER_PAGE + 1,
                                            offset=(number - 1) * SUB_ACCOUNTS_PER_PAGE)
    has_next, rows = len(rows) > SUB_ACCOUNTS_PER_PAGE, rows[:SUB_ACCOUNTS_PER_PAGE]
    currency = rows[0].currency if rows else ""
    main = [r for r in rows if r.currency == currency][:30]
    context.update({"rows": rows, "currency": currency, "number": number, "has_next": has_next,
                    "first_rank": (number - 1) * SUB_ACCOUNTS_PER_PAGE + 1,
                    "chart": charts.horizontal_bars([(r.name or r.uid, r.total, charts.SPOT_COLOUR) for r in main],
                                                    title=f"Rebate per sub-account, in {currency}", currency=currency)
                    if main else ""})
    return render(request, "rebates/by_sub_account.html", context)


@role_required(VIEWER)
def reconciliation(request):
    form = _filter_form(request)
    context = {"form": form, "query": _query(form)}
    if not form.is_valid():
        return render(request, "rebates/reconciliation.html", context, status=400)
    context["recon"] = reconciliation_page(form.report_filter(), page_number=request.GET.get("page"))
    return render(request, "rebates/reconciliation.html", context)


def _amounts(per_currency: dict) -> str:
    return " ".join(f"{plain_amount(value)} {currency}" for currency, value in per_currency.items())


class _Echo:
    def write(self, value):
        return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A text cell a spreadsheet would run as a formula is written as text (uids, currencies and names come from
    KuCoin or staff); numbers (Decimal, int) are left alone, so a negative amount stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@role_required(VIEWER)
def export(request, report_name: str):
    """The figures of one report as CSV, for the same filters."""
    form = _filter_form(request)
    if not form.is_valid():
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()), status=400,
                            content_type="text/plain; charset=utf-8")
    f = form.report_filter()
    period = form.cleaned_data.get("period") or "day"
    if report_name == "period":
        header = [period, "currency", "spot", "futures", "total"]
        rows = ([_period_label(r.period, period), r.currency, r.spot, r.futures, r.total]
                for r in selectors.rebates_by_period(f, period))
    elif report_name == "type":
        header = ["currency", "spot", "futures", "total"]
        rows = ([r.currency, r.spot, r.futures, r.total]
                for r in selectors.rebates_by_type(selectors.rebates_by_period(f, "month")))
    elif report_name in ("sub-accounts", "top"):
        header = ["uid", "sub_account", "currency", "spot", "futures", "total", "records"]
        rows = ([r.uid, r.name, r.currency, r.spot, r.futures, r.total, r.records]
                for r in selectors.rebates_by_sub_account(f, limit=TOP if report_name == "top" else None))
    elif report_name == "reconciliation":
        header = ["day", "uid", "sub_account", "tagged_order_volume", "rebates", "check"]
        rows = ([r.day.isoformat(), r.uid, r.name, _amounts(r.volumes), _amounts(r.rebates), r.check]
                for r in reconciliation_rows(f))
    else:
        return HttpResponse("Unknown report.", status=404, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    lines = itertools.chain([writer.writerow(header)], (writer.writerow([_cell(v) for v in r]) for r in rows))
    # Streamed: the reconciliation of a long range has a row per sub-account and day.
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    name = f"rebates-{report_name}-{f.begin:%Y%m%d}-{f.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- files and syncs -----------------------------------------------------------------------------

def _files_page(request, sync_form=None, status=200):
    state = request.GET.get("state", "")
    files = RebateFile.objects.defer("url").order_by("-id")
    if state in RebateFile.State.values:
        files = files.filter(state=state)
    # the job just started (?job=), else a rebate job still under way (the daily schedule's, another user's)
    job = _job(request) or Job.objects.filter(kind__in=REBATE_JOB_KINDS, state__in=[Job.State.PENDING, Job.State.RUNNING]).first()
    context = {
        "files": files[:100], "state": state, "states": RebateFile.State.choices, "job": job,
        "sync_form": sync_form or SyncForm(initial={"trade_type": "both"}), "can_operate": has_role(request.user, OPERATOR),
    }
    return render(request, "rebates/file_list.html", context, status=status)


@role_required(VIEWER)
def file_list(request):
    return _files_page(request)


@require_POST
@role_required(OPERATOR)
def sync(request):
    form = SyncForm(request.POST)
    if not form.is_valid():
        return _files_page(request, form, status=400)
    d = form.cleaned_data
    try:
        job = rebate_sync_request(begin=d["begin"], end=d["end"], trade_types=trade_types_of(d["trade_type"]),
                                  requested_by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _files_page(request, form, status=400)
    messages.success(request, f"{job.label}: queued.")
    return _to_job("rebates:file-list", job)


@role_required(VIEWER)
def file_detail(request, pk: int):
    rebate_file = get_object_or_404(RebateFile, pk=pk)
    records = rebate_file.records.order_by("line")[:50]
    return render(request, "rebates/file_detail.html", {
        "file": rebate_file, "records": records, "job": _job(request), "can_operate": has_role(request.user, OPERATOR),
        "now_records": rebate_file.records.count() if rebate_file.state == RebateFile.State.DONE else None,
        "stalled": _stalled(rebate_file),
    })


def _stalled(rebate_file: RebateFile) -> bool:
    """Downloading or parsing, but no worker holds it any more (its worker died): it can be parsed or pulled again."""
    return (rebate_file.state in (RebateFile.State.DOWNLOADING, RebateFile.State.PARSING)
            and (rebate_file.lease_until is None or rebate_file.lease_until <= timezone.now()))


@require_POST
@role_required(OPERATOR)
def file_reparse(request, pk: int):
    rebate_file = get_object_or_404(RebateFile, pk=pk)
    try:
        job = rebate_file_reparse_request(rebate_file=rebate_file, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(reverse("rebates:file-detail", kwargs={"pk": pk}))
    return _to_job("rebates:file-detail", job, pk=pk)


@require_POST
@role_required(OPERATOR)
def day_repull(request):
    try:
        day = datetime.strptime(request.POST.get("day", ""), "%Y-%m-%d").date()
        trade_type = request.POST.get("trade_type", "")
        if trade_type not in TradeType.values:
            raise ValidationError("Choose spot or futures.")
        job = rebate_day_repull_request(day=day, trade_type=trade_type, requested_by=request.user)
    except ValueError:
        messages.error(request, "The day must be a date written YYYY-MM-DD.")
        return HttpResponseRedirect(reverse("rebates:file-list"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(reverse("rebates:file-list"))
    return _to_job("rebates:file-list", job)
