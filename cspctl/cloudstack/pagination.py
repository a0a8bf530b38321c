"""Fetch every page of a CloudStack list: page 1 reveals ``count``, the rest concurrently
(when the size of the list can be predicted, the first pages go out together with page 1).

CloudStack caps a page at ``default.page.size`` (500) and, without ``page``/``pagesize``,
silently returns only the first 500 rows, so every list goes through here.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

PageFetcher = Callable[[int, int], Awaitable[tuple[list[T], int | None]]]
"""``fetch(page, pagesize) -> (rows, count)``; ``count`` None when the server sent none."""
PageListener = Callable[[int, list[T], int | None], None]
"""``on_page(page, rows, count)``: called as each page arrives (in arrival order)."""


class ShortListing(Exception):
    """The pages held fewer rows than every ``count`` the server reported: rows are missing.

    The caller (the client) turns it into a typed, one-line error naming server and command.
    """

    def __init__(self, got: int, expected: int, pages: int) -> None:
        super().__init__(f"{got} of {expected} rows in {pages} page{'s' if pages != 1 else ''}")
        self.got, self.expected, self.pages = got, expected, pages


async def _gather_or_cancel(aws: list[Awaitable[tuple[list[T], int | None]]]
                            ) -> list[tuple[list[T], int | None]]:
    """Like gather, but the first failure cancels the other pages (no stray requests)."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def fetch_all(fetch: PageFetcher[T], *, page_size: int = 500,
                    concurrency: int = 4, first_pages: int = 1,
                    on_page: PageListener[T] | None = None) -> list[T]:
    """All rows in server order.

    ``first_pages``: pages requested at once before any ``count`` is known (a prediction,
    e.g. the size of the same list a moment ago); pages past the end come back empty and are
    ignored, so a wrong guess costs requests, never rows. ``on_page`` sees every page as it
    arrives (a caller can show the first rows before the last page is in).

    Stops at the first empty page (a page past the end carries ``count`` but no rows) or once
    ``count`` rows were seen. If the server returned fewer rows than asked on a full page 1
    (a smaller server cap), falls back to fetching one page after the other. Raises
    :class:`ShortListing` when the rows fall short of the smallest ``count`` any page
    reported (a lying count, pages lost): a partial list is never passed off as complete.
    """
    counts: list[int] = []
    fetched = 0

    async def page_of(page: int, size: int) -> tuple[list[T], int | None]:
        nonlocal fetched
        page_rows, page_count = await fetch(page, size)
        fetched += 1
        if page_count is not None:
            counts.append(page_count)
        if on_page is not None and page_rows:
            on_page(page, page_rows, page_count)
        return page_rows, page_count

    out = await _fetch_pages(page_of, page_size, concurrency, max(1, first_pages))
    if counts and len(out) < min(counts):
        raise ShortListing(len(out), min(counts), fetched)
    return out


async def _fetch_pages(fetch: PageFetcher[T], page_size: int, concurrency: int,
                       first_pages: int) -> list[T]:
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(page: int) -> tuple[list[T], int | None]:
        async with sem:
            return await fetch(page, page_size)

    if first_pages > 1:
        wave = await _gather_or_cancel([one(p) for p in range(1, first_pages + 1)])
    else:
        wave = [await fetch(1, page_size)]
    rows, count = wave[0]
    if not rows or (count is not None and len(rows) >= count):
        return rows
    out = list(rows)
    next_page = 2
    if count is not None and len(rows) == page_size:
        pages = math.ceil(count / page_size)
        results = wave[1:] + await _gather_or_cancel(
            [one(p) for p in range(len(wave) + 1, pages + 1)])
        for page_rows, _ in results:
            out.extend(page_rows)
        next_page = len(results) + 2
        last_rows = results[-1][0] if results else rows
        latest = max([c for _, c in results if c is not None] + [count])
        if len(last_rows) < page_size or len(out) >= latest:
            return out
        count = latest
    # sequential: no count, a smaller server page, or rows added while we were paging
    last_len = len(rows) if next_page == 2 else page_size
    while (len(out) < count) if count is not None else (last_len >= page_size):
        page_rows, new_count = await fetch(next_page, page_size)
        if not page_rows:
            break
        out.extend(page_rows)
        last_len = len(page_rows)
        count = new_count if new_count is not None else count
        next_page += 1
    return out
