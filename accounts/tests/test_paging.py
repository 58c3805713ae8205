"""KuCoin's pages fetched by threads: every page once, in order, memory bounded, failures raised in place."""
import threading
import time

import pytest

from accounts.services import paging
from accounts.services.paging import pages_in_order
from kucoin.models import Page


class FakeList:
    """A KuCoin list of `total` pages of one item each, as its page calls answer it."""

    def __init__(self, total: int, fail_at: int | None = None, total_after: dict | None = None):
        self.total, self.fail_at, self.total_after = total, fail_at, total_after or {}
        self.asked: list[int] = []
        self.threads: set[threading.Thread] = set()
        self.lock = threading.Lock()

    def fetch(self, number: int) -> Page:
        with self.lock:
            self.asked.append(number)
            self.threads.add(threading.current_thread())
        time.sleep(0.002)  # a round trip, so that both threads take part
        if number == self.fail_at:
            raise RuntimeError(f"KuCoin refused page {number}")
        total = self.total_after.get(number, self.total)
        items = [f"item {number}"] if number <= total else []
        return Page(items=items, current_page=number, page_size=1, total_num=total, total_page=total)


def test_every_page_comes_once_and_in_order_from_two_threads():
    kucoin = FakeList(total=40)
    pages = list(pages_in_order([kucoin.fetch, kucoin.fetch]))
    assert [page.items[0] for page in pages] == [f"item {n}" for n in range(1, 41)]
    assert sorted(kucoin.asked) == list(range(1, 41))
    assert len(kucoin.threads) == 2
    assert not any(thread.is_alive() for thread in kucoin.threads)  # the fetching threads have ended


def test_pages_are_fetched_at_most_a_few_ahead_of_the_reader():
    kucoin = FakeList(total=50)
    pages = pages_in_order([kucoin.fetch, kucoin.fetch])
    next(pages)
    time.sleep(0.2)  # time enough to fetch every page, were nothing holding the threads back
    assert max(kucoin.asked) <= 2 + paging.AHEAD
    pages.close()


def test_a_failed_page_is_raised_at_its_turn_after_the_pages_before_it():
    kucoin = FakeList(total=30, fail_at=7)
    read = []
    with pytest.raises(RuntimeError, match="KuCoin refused page 7"):
        for page in pages_in_order([kucoin.fetch, kucoin.fetch]):
            read.append(page.current_page)
    assert read == [1, 2, 3, 4, 5, 6]
    assert max(kucoin.asked) <= 7 + paging.AHEAD


def test_a_list_that_grows_while_read_is_read_to_its_new_end():
    kucoin = FakeList(total=5, total_after={n: 8 for n in range(5, 9)})
    pages = list(pages_in_order([kucoin.fetch, kucoin.fetch]))
    assert [page.current_page for page in pages] == list(range(1, 9))


def test_a_list_that_shrinks_while_read_ends_at_its_first_empty_page():
    kucoin = FakeList(total=10, total_after={n: 3 for n in range(4, 11)})
    pages = list(pages_in_order([kucoin.fetch, kucoin.fetch]))
    assert [page.current_page for page in pages] == [1, 2, 3, 4]
    assert pages[-1].items == []


def test_an_empty_list_is_one_empty_page():
    kucoin = FakeList(total=0)
    pages = list(pages_in_order([kucoin.fetch, kucoin.fetch]))
    assert [page.items for page in pages] == [[]]
    assert kucoin.asked == [1]
