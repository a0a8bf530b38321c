"""fetch_all: ordering under concurrency, the concurrency bound, and the stop conditions.

A plain in-process page source stands in for the server here; the loopback HTTP version of
the same behaviour is in test_api_client.py.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from cspctl.cloudstack.pagination import ShortListing, fetch_all


class Pages:
    """Rows 0..total-1 served page by page, with jittered latency and in-flight accounting."""

    def __init__(self, total: int, *, count: int | None = -1, cap: int | None = None,
                 jitter: float = 0.01) -> None:
        self.total, self.cap, self.jitter = total, cap, jitter
        self.count = total if count == -1 else count
        self.calls: list[tuple[int, int]] = []
        self.in_flight = self.max_in_flight = 0

    async def __call__(self, page: int, size: int) -> tuple[list[int], int | None]:
        self.calls.append((page, size))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(random.random() * self.jitter)
            size = min(size, self.cap or size)
            return list(range(self.total))[(page - 1) * size: page * size], self.count
        finally:
            self.in_flight -= 1


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_order_and_bound(concurrency: int) -> None:
    src = Pages(2345)
    rows = await fetch_all(src, page_size=100, concurrency=concurrency)
    assert rows == list(range(2345))
    assert src.calls[0] == (1, 100) and len(src.calls) == 24
    assert src.max_in_flight <= concurrency
    if concurrency > 1:
        assert src.max_in_flight > 1


async def test_single_short_page_and_empty() -> None:
    src = Pages(7)
    assert await fetch_all(src, page_size=500) == list(range(7))
    assert src.calls == [(1, 500)]
    assert await fetch_all(Pages(0, count=None), page_size=500) == []


async def test_count_that_pages_do_not_reach_is_a_short_listing() -> None:
    # count claims more rows than the pages hold (later pages empty): never passed off as all
    src = Pages(250, count=1000)
    with pytest.raises(ShortListing) as info:
        await fetch_all(src, page_size=100, concurrency=4)
    assert (info.value.got, info.value.expected) == (250, 1000)
    assert len(src.calls) == 10  # pages 2..10 were planned from count; no loop beyond
    assert str(info.value) == "250 of 1000 rows in 10 pages"


async def test_first_page_empty_with_a_count_is_short() -> None:
    with pytest.raises(ShortListing, match=r"0 of 5 rows in 1 page$"):
        await fetch_all(Pages(0, count=5), page_size=100)


async def test_rows_deleted_while_paging_lower_the_count_and_still_add_up() -> None:
    # page 1 said 300; by the time later pages come, 100 rows were deleted and the server
    # says 200 everywhere: 200 rows are the whole (smaller) list
    async def fetch(page: int, size: int) -> tuple[list[int], int | None]:
        data = list(range(200))
        return data[(page - 1) * size: page * size], (300 if page == 1 else 200)

    assert await fetch_all(fetch, page_size=100, concurrency=2) == list(range(200))


async def test_without_count_pages_sequentially_until_short_page() -> None:
    src = Pages(1050, count=None)
    assert await fetch_all(src, page_size=500) == list(range(1050))
    assert [p for p, _ in src.calls] == [1, 2, 3]


async def test_smaller_server_cap_falls_back_to_sequential() -> None:
    src = Pages(450, cap=200)
    assert await fetch_all(src, page_size=500, concurrency=4) == list(range(450))
    assert [p for p, _ in src.calls] == [1, 2, 3]


async def test_failure_cancels_other_pages() -> None:
    started: list[int] = []

    async def fetch(page: int, size: int) -> tuple[list[int], int | None]:
        started.append(page)
        if page == 2:
            raise RuntimeError("page 2 broke")
        if page > 2:
            await asyncio.sleep(10)
        return list(range(size)), 10 * size

    with pytest.raises(RuntimeError, match="page 2"):
        await asyncio.wait_for(fetch_all(fetch, page_size=10, concurrency=3), 2)
    assert 2 in started
