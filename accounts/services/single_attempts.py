"""Requests that move money are made one attempt at a time, each inside a row lease renewed just before it,
so that no attempt can outlive the lease and let a second execution send the same action while the first is
still waiting for KuCoin.

The client's transport would retry a 429 itself and wait up to a minute for the rate limiter each time; here
a copy of it makes a single attempt per call and waits at most SEND_WAIT_S, and `in_attempts` gives KuCoin's
429 (nothing done) its retries, renewing the lease before each."""
from __future__ import annotations

import copy
import math
from typing import Callable, TypeVar

from django.conf import settings

from kucoin.errors import BudgetWaitExceeded, RateLimitError
from kucoin.transport import Transport

# The longest wait for the rate limiter before an attempt, how many attempts KuCoin's 429 gets, and the
# slack for the database writes around an attempt.
SEND_WAIT_S = 20
SEND_ATTEMPTS = 4
SEND_LEASE_SLACK_S = 15

T = TypeVar("T")


class _ShortWait:
    """The shared rate limiter, waiting at most `max_wait_s` for room (BudgetWaitExceeded past it)."""

    def __init__(self, limiter, max_wait_s: float) -> None:
        self._limiter, self._max_wait_s = limiter, max_wait_s

    def acquire(self, account: str, pool: str, weight: int, max_wait_s: float | None = None) -> int:
        return self._limiter.acquire(account, pool, weight, max_wait_s=self._max_wait_s)

    def __getattr__(self, name):
        return getattr(self._limiter, name)


def one_attempt_transport(transport: Transport) -> Transport:
    """A copy of the transport that makes one attempt per call (a 429 comes back to the caller) and waits at
    most SEND_WAIT_S for the rate limiter."""
    single = copy.copy(transport)
    single.max_get_retries = 0
    single.rate_limiter = _ShortWait(transport.rate_limiter, SEND_WAIT_S)
    return single


def attempt_lease_seconds(transport: Transport) -> int:
    """Longer than one attempt can last: a clock sync and the request, and both again when KuCoin refuses the
    timestamp, each after a wait for the limiter and within the connect and read timeouts (unless
    SEND_ATTEMPT_LEASE_SECONDS says otherwise: the reliability tests, whose workers are killed mid-attempt)."""
    if settings.SEND_ATTEMPT_LEASE_SECONDS:
        return settings.SEND_ATTEMPT_LEASE_SECONDS
    connect, read = transport.timeout
    return math.ceil(4 * (SEND_WAIT_S + connect + read)) + SEND_LEASE_SLACK_S


def in_attempts(send: Callable[[], T], *, before_next: Callable[[], None]) -> T:
    """`send()`, again after each 429 (up to SEND_ATTEMPTS), calling `before_next()` (the lease's renewal)
    before each new attempt. No room at the rate limiter soon is raised at once: the task tries again later."""
    attempt = 1
    while True:
        try:
            return send()
        except BudgetWaitExceeded:
            raise
        except RateLimitError:
            if attempt == SEND_ATTEMPTS:
                raise
        attempt += 1
        before_next()
