"""Short leases on rows, so that one task execution at a time acts on a row (a task may be delivered
twice), without holding a database lock while KuCoin answers."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

from django.conf import settings
from django.db.models import Model, Q
from django.utils import timezone


class LeaseHeld(Exception):
    """Another execution holds the row; try again later."""


def lease_acquire(model: type[Model], pk, *, seconds: int | None = None) -> bool:
    now = timezone.now()
    seconds = seconds or settings.ROW_LEASE_SECONDS
    claimed = (
        model._default_manager.filter(pk=pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + timedelta(seconds=seconds))
    )
    return claimed == 1


def lease_release(model: type[Model], pk) -> None:
    model._default_manager.filter(pk=pk).update(lease_until=None)


@contextmanager
def leased(model: type[Model], pk, *, seconds: int | None = None) -> Iterator[None]:
    """Holds the row's lease for the body; raises LeaseHeld when another execution has it."""
    if not lease_acquire(model, pk, seconds=seconds):
        raise LeaseHeld(f"{model._meta.label} {pk} is being handled by another worker")
    try:
        yield
    finally:
        lease_release(model, pk)
