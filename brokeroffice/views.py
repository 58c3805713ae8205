from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from brokeroffice import dashboard, selectors
from brokeroffice.health import health_report
from brokeroffice.jobs import job_create, job_enqueue
from brokeroffice.models import Job
from brokeroffice.queues import queue_lengths
from brokeroffice.roles import BROKER_ADMIN, OPERATOR, VIEWER, has_role, role_required
from brokeroffice.sorting import chosen_sort, sorted_page
from brokeroffice.tasks import queue_selftest_task


@role_required(VIEWER)
def home(request):
    from accounts import selectors as accounts_selectors

    return render(request, "home.html", {
        "recent_jobs": selectors.jobs_recent()[:8],
        "sub_accounts": accounts_selectors.sub_account_counts(),
        "broker": accounts_selectors.broker_connection(),
        "kucoin_errors": dashboard.kucoin_errors_since(hours=24),
        "failed_jobs": dashboard.failed_jobs_since(hours=24),
        "schedules": dashboard.next_schedules(),
        "queue_lengths": queue_lengths(),
        "headroom": dashboard.rate_limit_headroom(),
        "rebates": dashboard.rebate_summary(),
        "tag_share": dashboard.tagged_share_today(),
        "withdrawals_to_approve": (accounts_selectors.withdrawals_waiting_for(request.user)
                                   if has_role(request.user, BROKER_ADMIN) else 0),
    })


JOB_COLUMNS = {"label": "label", "state": "state", "by": "requested_by_label", "queued": "created_at"}


@role_required(VIEWER)
def job_list(request):
    state = request.GET.get("state") or None
    jobs, sort = selectors.jobs_recent(state=state), chosen_sort(request, JOB_COLUMNS)
    page = sorted_page(request, jobs, sort, 50) if sort else Paginator(jobs, 50).get_page(request.GET.get("page"))
    return render(request, "jobs/list.html", {
        "page": page, "state": state, "states": Job.State.choices,
        "queue_lengths": queue_lengths(), "failed_last_day": selectors.jobs_failed_since(hours=24),
    })


@role_required(VIEWER)
def job_detail(request, job_id):
    job = get_object_or_404(Job, pk=job_id)
    return render(request, "jobs/detail.html", {"job": job})


@never_cache
@role_required(VIEWER)
def job_status(request, job_id):
    job = get_object_or_404(Job, pk=job_id)
    return JsonResponse(selectors.job_status(job))


@require_POST
@role_required(OPERATOR)
def queue_selftest_start(request):
    with transaction.atomic():
        job = job_create(kind="queue_selftest", label="Queue self-test", requested_by=request.user)
        job_enqueue(job=job, task=queue_selftest_task)
    messages.info(request, "Self-test queued: a worker counts ten steps.")
    return redirect("job-detail", job_id=job.pk)


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Liveness for load balancers: this process, its database and its queue."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@login_not_required
@never_cache
@require_GET
def readyz(request):
    """Readiness: also one real KuCoin call with the broker's credentials (cached for 30 s). A probe is the
    one place a web process talks to KuCoin: it must know whether the broker's key still works."""
    from accounts.health import kucoin_readiness

    report = health_report()
    report["checks"]["kucoin"] = kucoin_readiness()
    report["ok"] = report["ok"] and report["checks"]["kucoin"]["ok"]
    return JsonResponse(report, status=200 if report["ok"] else 503)
