"""Resumes actions whose task was lost (a worker killed mid-task on a queue that cannot give the task back,
a message dropped by a restart): rows still waiting long after their last change are queued again. The
services check KuCoin before acting, and row leases keep two runs apart, so resuming is always safe."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import KycSubmission, SubAccount, SubAccountApiKey, Transfer
from brokeroffice.jobs import JobRun, job_start

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
    pending_kyc = KycSubmission.objects.filter(state=KycSubmission.State.PENDING).select_related("sub_account")
    for row in _stalled(pending_kyc, now, changed_field="created_at"):
        found.append((f"Resume: submit KYC of {row.sub_account}", tasks.kyc_submit_task, (row.pk,)))
    return found


def _stalled_orders(now) -> list[tuple[str, object, tuple]]:
    """Orders still waiting to be sent, or whose answer was lost: the task looks each up by clientOid first."""
    from trading.models import Order
    from trading.tasks import order_place_task

    orders = _stalled(Order.objects.filter(state__in=Order.SENDING_STATES), now)
    return [(f"Resume: {row}", order_place_task, (row.pk,)) for row in orders]


def resume_stalled(*, run: JobRun) -> int:
    found = stalled_actions()
    for label, task, args in found:
        job_start(kind=task.name.rsplit(".", 1)[-1], label=label, task=task, args=args, requested_by_label="resume")
    run.succeed(f"Queued {len(found)} stalled action(s) again." if found else "Nothing had stalled.", {"resumed": len(found)})
    return len(found)
