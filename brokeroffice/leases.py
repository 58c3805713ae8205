"""Short leases on rows, so that one task execution at a time acts on a row (a task may be delivered
twice), without holding a database lock while KuCoin answers.

A lease's expiry is also its owner's token: each execution sets its own (jittered to the microsecond, so no
two executions set the same one), and an execution that takes over a row whose lease ran out sets a new one.
So an execution can tell, in the same UPDATE that writes, whether the row is still its own."""
from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator

from django.conf import settings
from django.db.models import Model, Q
from django.utils import timezone


class LeaseHeld(Exception):
    """Another execution holds the row; try again later."""


class LeaseLost(LeaseHeld):
    """This execution's lease ran out and another execution took the row over: this one must stop."""


def lease_expiry(seconds: int | None = None) -> datetime:
    seconds = seconds or settings.ROW_LEASE_SECONDS
    return timezone.now() + timedelta(seconds=seconds, microseconds=random.randrange(1_000_000))


class Lease:
    """A lease this execution took; `until` is the expiry it set, by which the row is known to be its own."""

    def __init__(self, model: type[Model], pk: Any, until: datetime) -> None:
        self.model, self.pk, self.until = model, pk, until

    def _rows(self):
        return self.model._default_manager.filter(pk=self.pk, lease_until=self.until)

    def update(self, *, only_if: Q | None = None, renew_seconds: int | None = None, **changes) -> bool:
        """Writes `changes` (and with `renew_seconds`, a new expiry that far from now) in one conditional UPDATE,
        only while this execution still holds the row and the row matches `only_if`. False: nothing written.
        A lease that ran out without anyone taking the row over is still this execution's."""
        rows = self._rows() if only_if is None else self._rows().filter(only_if)
        until = lease_expiry(renew_seconds) if renew_seconds else self.until
        if rows.update(lease_until=until, **changes) != 1:
            return False
        self.until = until
        return True

    def renew(self, seconds: int, *, only_if: Q | None = None, **changes) -> bool:
        return self.update(only_if=only_if, renew_seconds=seconds, **changes)

    def release(self) -> None:
        lease_release(self.model, self.pk, until=self.until)


def lease_take(model: type[Model], pk, *, seconds: int | None = None) -> Lease | None:
    """The row's lease when no other execution holds it; None otherwise."""
    now = timezone.now()
    until = lease_expiry(seconds)
    claimed = (
        model._default_manager.filter(pk=pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=until)
    )
    return Lease(model, pk, until) if claimed == 1 else None


def lease_acquire(model: type[Model], pk, *, seconds: int | None = None) -> bool:
    return lease_take(model, pk, seconds=seconds) is not None


def lease_release(model: type[Model], pk, *, until: datetime | None = None) -> None:
    """Frees the row; with `until`, only while the lease is still the one that ended then (an execution whose
    lease ran out must not free the row another execution took over)."""
    rows = model._default_manager.filter(pk=pk)
    if until is not None:
        rows = rows.filter(lease_until=until)
    rows.update(lease_until=None)


@contextmanager
def leased(model: type[Model], pk, *, seconds: int | None = None) -> Iterator[Lease]:
    """Holds the row's lease for the body; raises LeaseHeld when another execution has it. The body may use
    the Lease to write only while the row is still its own, and to renew it."""
    lease = lease_take(model, pk, seconds=seconds)
    if lease is None:
        raise LeaseHeld(f"{model._meta.label} {pk} is being handled by another worker")
    try:
        yield lease
    finally:
        lease.release()
