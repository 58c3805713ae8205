"""Two recounts of the tagged share at once (the status sync's, every 5 minutes, and the schedule's, every 10, on
a queue that runs 4 tasks together) both succeed and leave the right counts. On PostgreSQL (CI); SQLite lets one
writer at a time, so there the second simply waits."""
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import ApiKeyFactory
from brokeroffice.testing.waiting import wait_until
from trading.models import Order, TagShare, TagShareDay
from trading.services import shares
from trading.tests.test_share_totals import orders

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="two writers at once need PostgreSQL (set DATABASE_URL)")


def waits_for_a_lock(pid: int | None) -> bool:
    """Whether that database session is blocked, waiting for a lock another transaction holds."""
    if pid is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [pid])
        return cursor.fetchone()[0]


def test_two_recounts_at_once_both_succeed_with_the_right_counts(transactional_db, monkeypatch):
    tagging, untagged = ApiKeyFactory(), ApiKeyFactory()
    orders(tagging, 3)
    orders(untagged, 2, verification=Order.Verification.UNTAGGED, tags="")
    shares.tag_share_refresh()  # today's rows exist: the second recount meets the first one's rewrite of them
    orders(tagging, 1)  # verified since

    # The first recount, inside its transaction, goes on only once the second is blocked behind it, so that the
    # two overlap every time (without the fix the second waits in its DELETE, then its INSERT breaks the key).
    first_inside, second_pid, failures = threading.Event(), {}, {}
    real_totals = shares.tag_share_totals

    def totals_once_the_second_waits(**kwargs):
        if threading.current_thread().name == "first":
            first_inside.set()
            wait_until(lambda: waits_for_a_lock(second_pid.get("pid")), timeout=60,
                       what="the second recount to wait for the first")
        return real_totals(**kwargs)

    monkeypatch.setattr(shares, "tag_share_totals", totals_once_the_second_waits)

    def recount(name: str) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                if name == "second":
                    second_pid["pid"] = cursor.fetchone()[0]
            shares.tag_share_refresh()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures[name] = repr(exc)
        finally:
            connection.close()

    first = threading.Thread(target=recount, args=("first",), name="first")
    first.start()
    assert first_inside.wait(60)
    second = threading.Thread(target=recount, args=("second",), name="second")
    second.start()
    first.join(120)
    second.join(120)

    assert failures == {}
    today = TagShareDay.objects.get(day=timezone.localdate())
    assert (today.tagged, today.untagged) == (4, 2)
    assert sorted((s.tagged, s.untagged) for s in TagShare.objects.filter(day=timezone.localdate())) == [(0, 2), (4, 0)]
