import pytest

from brokeroffice.models import Job
from brokeroffice.testing.waiting import wait_until


@pytest.fixture
def finished():
    """Waits for a job to end and returns it as it ended."""

    def wait(job: Job, timeout: float = 90) -> Job:
        return wait_until(lambda: Job.objects.filter(pk=job.pk, state__in=Job.FINISHED_STATES).first(),
                          timeout=timeout, what=f"job “{job.label}”")

    return wait


@pytest.fixture
def synced_sub_accounts(kucoin_worker, finished):
    """The sandbox's seeded sub-accounts, synced into the database."""
    from accounts.models import SubAccount
    from accounts.tasks import subaccounts_sync_task
    from brokeroffice.jobs import job_start

    job = finished(job_start(kind="subaccounts_sync", label="Sync", task=subaccounts_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    return SubAccount.objects.all()
