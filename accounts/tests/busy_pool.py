"""A rate limiter as a busy broker account sees it, for tests that keep an execution waiting past its lease."""
from kucoin.ratelimit import RateLimiter


class BusyPool(RateLimiter):
    """Every call in one of KuCoin's pools must wait `wait_s` for room (the others never wait); KuCoin's own
    figures are ignored. The wait passes through `on_wait` (in tests, on Django's clock moved by hand)."""

    def __init__(self, pool: str, wait_s: float, on_wait) -> None:
        super().__init__(sleep=on_wait)
        self.pool, self.wait_ms, self._must_wait = pool, int(wait_s * 1000), False

    def acquire(self, account, pool, weight, max_wait_s=None):
        self._must_wait = pool == self.pool
        return super().acquire(account, pool, weight, max_wait_s)

    def _try_acquire(self, account, pool, weight):
        if self._must_wait:
            self._must_wait = False
            return False, self.wait_ms
        return True, 0

    def observe(self, account, pool, limit, remaining, reset_ms) -> None:
        pass

    def exhaust(self, account, pool, reset_ms) -> None:
        pass


def keep_first_execution_waiting(monkeypatch, clock, *, service_module, pool: str, row, wait_s: float,
                                 take_over) -> dict:
    """The first broker client `service_module` makes sees `pool` busy (`wait_s` before each call, passed on
    Django's clock); once `row`'s lease has run out during such a wait, `take_over()` runs, once, as another
    worker would. Later clients (the other execution's) are not kept waiting. -> {"taken_over": bool}"""
    from django.utils import timezone

    from accounts import clients

    seen = {"taken_over": False}

    def on_wait(seconds: float) -> None:
        clock(seconds)
        lease_ran_out = type(row).objects.filter(pk=row.pk, lease_until__lt=timezone.now()).exists()
        if lease_ran_out and not seen["taken_over"]:
            seen["taken_over"] = True
            take_over()

    made = []

    def broker_client():
        client = clients.broker_client()
        if not made:
            client.transport.rate_limiter = BusyPool(pool, wait_s, on_wait)
        made.append(client)
        return client

    monkeypatch.setattr(service_module, "broker_client", broker_client)
    return seen
