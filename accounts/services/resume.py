"""Resumes actions whose task was lost (a worker killed mid-task on a queue that cannot give the task back,
a message dropped by a restart): rows still waiting long after their last change are queued again. The
services check KuCoin before acting, and row leases keep two runs apart, so resuming is always safe. Orders are
the exception to "queued again": a stalled order is only looked up, never sent late (trading's `order_resolve`)."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import FastApiConnection, KycSubmission, SubAccount, SubAccountApiKey, Transfer
from brokeroffice.jobs import JobRun, job_start
from brokeroffice.models import Job

# Longer than a task's whole retry schedule, so that a row waiting for its own retry is left alone.
STALLED_AFTER = timedelta(minutes=30)


def _stalled(queryset, now, changed_field: str = "updated_at"):
    unchanged = {f"{changed_field}__lt": now - STALLED_AFTER}
    return queryset.filter(**unchanged).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))


def stalled_actions(now=None) -> list[tuple[str, object, tuple]]:
    """(label, task, args) for every action that should have finished by now."""
    from accounts import tasks

    now = now or timezone.now()
    found = []
    for row in _stalled(SubAccount.objects.filter(state=SubAccount.State.PENDING), now):
        found.append((f"Resume: create sub-account {row}", tasks.subaccount_create_task, (row.pk,)))
    for row in _stalled(SubAccount.objects.filter(state=SubAccount.State.RETIRING), now):
        found.append((f"Resume: retire sub-account {row}", tasks.subaccount_retire_task, (row.pk,)))
    key_tasks = {
        SubAccountApiKey.State.UPDATING: tasks.apikey_update_task,
        SubAccountApiKey.State.DELETING: tasks.apikey_delete_task,
    }
    keys = SubAccountApiKey.objects.filter(state__in=[SubAccountApiKey.State.PENDING, *key_tasks]).select_related("sub_account")
    for row in _stalled(keys, now):
        if row.state == SubAccountApiKey.State.PENDING:
            task = tasks.apikey_import_task if row.source == SubAccountApiKey.Source.IMPORTED else tasks.apikey_create_task
        else:
            task = key_tasks[row.state]
        found.append((f"Resume: {row.get_state_display().lower()} API key “{row.label}”", task, (row.pk,)))
    # An "outcome unknown" transfer with KuCoin's refusal recorded waits for a person, not for a retry.
    transfers = Transfer.objects.filter(Q(state=Transfer.State.PENDING) | Q(state=Transfer.State.UNKNOWN, error_code=""))
    for row in _stalled(transfers.select_related("sub_account"), now):
        found.append((f"Resume: {row}", tasks.transfer_send_task, (row.pk,)))
    found += _stalled_orders(now)
    # A Fast API key whose task gave up without a key or a failure: asked for again under the same apiName, which
    # KuCoin refuses if the lost call made the key. Only while the tokens can still be refreshed.
    keys_due = (FastApiConnection.objects.filter(state=FastApiConnection.State.CONNECTED, api_key__isnull=True,
                                                 failure_kind="", refresh_expires_at__gt=now)
                .exclude(refresh_token=""))
    for row in _stalled(keys_due, now):
        found.append((f"Resume: create the API key of customer {row.customer_ref}", tasks.fastapi_connect_task,
                      (row.pk,)))
    pending_kyc = KycSubmission.objects.filter(state=KycSubmission.State.PENDING).select_related("sub_account")
    for row in _stalled(pending_kyc, now, changed_field="created_at"):
        found.append((f"Resume: submit KYC of {row.sub_account}", tasks.kyc_submit_task, (row.pk,)))
    return found


def _stalled_orders(now) -> list[tuple[str, object, tuple]]:
    """Orders still waiting to be sent, or whose answer was lost: each is looked up by clientOid and recorded,
    or marked not placed. Never sent again: by now staff see its job failed and may have placed another."""
    from trading.models import Order
    from trading.tasks import order_resolve_task

    orders = _stalled(Order.objects.filter(state__in=Order.SENDING_STATES), now)
    if _placing_under_way():
        orders = orders.exclude(sent_at__isnull=True)  # a big batch's later chunks may still wait in the queue
    return [(f"Resume: look up {row}", order_resolve_task, (row.pk,)) for row in orders]


def _placing_under_way() -> bool:
    """Whether some order job still waits or runs: until none does (or `jobs_mark_lost` ends it), an order never
    sent may simply be waiting for its turn, and is not given up."""
    return Job.objects.filter(kind__in=("order_place", "orders_place"),
                              state__in=(Job.State.PENDING, Job.State.RUNNING)).exists()


def resume_stalled(*, run: JobRun) -> int:
    found = stalled_actions()
    for label, task, args in found:
        job_start(kind=task.name.rsplit(".", 1)[-1], label=label, task=task, args=args, requested_by_label="resume")
    run.succeed(f"Queued {len(found)} stalled action(s) again." if found else "Nothing had stalled.", {"resumed": len(found)})
    return len(found)
