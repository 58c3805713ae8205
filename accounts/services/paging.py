"""KuCoin's pages of a list, fetched by a few threads while the caller writes the ones already in, and handed
to it in page order.

A page is a round trip to KuCoin, signing and parsing on our side and serving on KuCoin's; two requests in
flight keep both busy, where one waits for the other (bench/bench_subaccount_sync.py).
"""
from __future__ import annotations

import contextvars
import threading
from typing import Callable, Iterator

from django.db import connections

from kucoin.models import Page

FETCHERS = 2  # requests in flight: KuCoin's rate limiter paces them like any other calls
AHEAD = 4  # pages fetched beyond the one being written, at most (bounds memory whatever the list's length)


class _Shared:
    """What the fetching threads and the reading side share, under one condition."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.next_to_fetch = 1
        self.next_to_read = 1
        self.last = 1  # the last page to fetch: page 1 first, then the largest total_page any page announced
        self.known = False  # whether page 1 has told how many pages there are
        self.done: dict[int, Page | BaseException] = {}
        self.stopped = False

    def claim(self) -> int | None:
        """The next page number to fetch, once allowed; None when there is none left."""
        with self.changed:
            while not self.stopped and (self.next_to_fetch > self.next_to_read + AHEAD
                                        or (not self.known and self.next_to_fetch > 1)):
                self.changed.wait()
            if self.stopped or self.next_to_fetch > self.last:
                return None
            self.next_to_fetch += 1
            return self.next_to_fetch - 1

    def put(self, number: int, result: Page | BaseException) -> None:
        with self.changed:
            self.done[number] = result
            if isinstance(result, BaseException) or not result.items:
                self.last = min(self.last, number) if self.known else number  # nothing to fetch past it
            else:
                self.last = max(self.last, result.total_page)
            self.known = self.known or number == 1
            self.changed.notify_all()

    def take(self, number: int) -> Page | BaseException:
        with self.changed:
            while number not in self.done:
                self.changed.wait()
            self.next_to_read = number + 1
            self.changed.notify_all()
            return self.done.pop(number)

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
            self.changed.notify_all()


def pages_in_order(fetchers: list[Callable[[int], Page]]) -> Iterator[Page]:
    """Every page of a list, in order: page 1, then up to the last page any page announced; a page that
    comes back empty ends the list. Each of `fetchers` (`fetch(page_number)`) gets a thread of its own, with
    a copy of the caller's context. A failed fetch is raised here, in the caller, at that page's turn."""
    shared = _Shared()

    def fetch(fetch_page: Callable[[int], Page]) -> None:
        try:
            while (number := shared.claim()) is not None:
                try:
                    result: Page | BaseException = fetch_page(number)
                except BaseException as exc:  # handed to the reading side, which raises it
                    result = exc
                shared.put(number, result)
        finally:
            connections.close_all()  # this thread's own database connection (the call log writes through it)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(fetch, fetch_page), daemon=True)
               for fetch_page in fetchers]
    for thread in threads:
        thread.start()
    try:
        number = 1
        while True:
            page = shared.take(number)
            if isinstance(page, BaseException):
                raise page
            yield page
            if not page.items or number >= page.total_page:
                return
            number += 1
    finally:
        shared.stop()
        for thread in threads:
            thread.join()
