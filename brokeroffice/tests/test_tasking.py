"""What every task shares: the database connection kept between a worker's tasks is closed by Django's rule."""
from types import SimpleNamespace

import pytest
from django.db import connection

from brokeroffice.tasking import _database_connection_checked


def _task(eager: bool):
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_closed_before_the_next_task(settings):
    connection.ensure_connection()
    connection.close_at = 0  # older than CONN_MAX_AGE
    _database_connection_checked(sender=_task(eager=False))
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_connection_within_its_age_is_kept_for_the_next_task():
    connection.ensure_connection()
    kept = connection.connection
    connection.close_at = None  # CONN_MAX_AGE = None: no age limit
    _database_connection_checked(sender=_task(eager=False))
    assert connection.connection is kept


@pytest.mark.django_db
def test_an_eager_task_leaves_its_callers_transaction_alone():
    connection.ensure_connection()
    kept = connection.connection
    _database_connection_checked(sender=_task(eager=True))
    assert connection.connection is kept and connection.in_atomic_block


@pytest.mark.django_db
def test_a_job_that_ends_on_kucoins_rate_limit_says_it_gave_up_not_that_it_will_try_again():
    from brokeroffice.jobs import job_create, job_run
    from brokeroffice.models import Job
    from kucoin.errors import RateLimitError

    job = job_create(kind="transfer_send", label="Transfer 1 USDT")
    for _ in range(3):  # three deliveries of its task; the last one gives up
        with pytest.raises(RateLimitError):
            with job_run(str(job.pk)):
                raise RateLimitError("Too Many Requests", code="429000", http_status=429)

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.error == "Gave up after 3 tries: KuCoin 429000: Too Many Requests — KuCoin's rate limit was reached."
