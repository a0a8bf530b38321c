"""Listing: every page of a list command, concurrently, checked against ``count``.

:class:`PagedCaller` adds to the request path what a list needs: the pages fetched
together (:func:`cspctl.cloudstack.pagination.fetch_all`), a smaller server page size learned,
the size of a listing remembered so its pages go out at once next time, rows reported as
pages arrive, and an incomplete or malformed listing raised as ``PartialListing``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

from cspctl.cloudstack import envelope, list_sizes
from cspctl.cloudstack.caller import ApiCaller, clean_params
from cspctl.cloudstack.errors import ApiError, PartialListing
from cspctl.cloudstack.models import Model
from cspctl.cloudstack.pagination import ShortListing, fetch_all

M = TypeVar("M", bound=Model)
RowsListener = Callable[[list[M], int | None], None]
"""``on_rows(rows so far, expected count or None)`` while a listing's pages arrive."""
_PAGE_CAP = re.compile(r"max allowed page size value: (\d+)")


class PagedCaller(ApiCaller):
    """The request path plus complete listings."""

    async def list_rows(self, command: str, model: type[M], *,
                        on_rows: RowsListener[M] | None = None, **params: Any) -> list[M]:
        """Every row of a list command (all pages; page 1 first, the rest concurrently; when
        this client listed the same a moment ago, as many pages as it had go out at once).

        With an explicit ``page``/``pagesize`` only that page is fetched. ``on_rows(rows,
        expected)`` is called as pages arrive with every row received so far (pages in server
        order, a page still on its way leaves a gap) and the server's ``count`` (or the size
        predicted from the last listing); the list returned is still the complete one.
        """
        clean = clean_params(params)
        if "page" in clean or "pagesize" in clean:
            return self._rows(command, model, await self._request(command, clean))
        key = (command, tuple(sorted(clean.items())))
        if not self._sizes_loaded:
            self._sizes_loaded = True
            self._list_sizes.update(list_sizes.load(self._sizes_file, self.server))
        rows = await self._list_all(command, model, clean, self._list_sizes.get(key, 0),
                                    on_rows)
        if (len(rows) > self.page_size or key in self._list_sizes) and (
                self._list_sizes.get(key) != len(rows)):
            self._list_sizes[key] = len(rows)  # only lists of several pages are remembered
            self._sizes_dirty = True
        return rows

    async def _list_all(self, command: str, model: type[M], clean: dict[str, str],
                        predicted: int, on_rows: RowsListener[M] | None = None) -> list[M]:
        def first_pages() -> int:
            return min(max(1, math.ceil(predicted / self.page_size)), self.page_concurrency)

        received: dict[int, list[M]] = {}

        def arrived(page: int, rows: list[M], count: int | None) -> None:
            if on_rows is None:
                return
            received[page] = rows
            so_far = [row for number in sorted(received) for row in received[number]]
            on_rows(so_far, count if count is not None else (predicted or None))

        async def fetch(page: int, size: int) -> tuple[list[M], int | None]:
            inner = await self._request(command, {**clean, "page": str(page),
                                                  "pagesize": str(size)})
            return self._rows(command, model, inner), envelope.list_count(inner)

        try:
            try:
                return await fetch_all(fetch, page_size=self.page_size,
                                       concurrency=self.page_concurrency,
                                       first_pages=first_pages(), on_page=arrived)
            except ApiError as exc:
                cap = _PAGE_CAP.search(exc.errortext or "")
                if not cap or int(cap.group(1)) >= self.page_size or int(cap.group(1)) < 1:
                    raise
                self.page_size = int(cap.group(1))  # the server's default.page.size is smaller
                received.clear()  # page numbers now mean other rows
                return await fetch_all(fetch, page_size=self.page_size,
                                       concurrency=self.page_concurrency,
                                       first_pages=first_pages(), on_page=arrived)
        except ShortListing as short:
            raise self._partial(command, f"incomplete listing: {short} (the pages do not add "
                                "up to the server's count)", got=short.got,
                                expected=short.expected) from None

    def _rows(self, command: str, model: type[M], inner: dict[str, Any]) -> list[M]:
        """The rows of one list page; a page of the wrong shape is an error, never []."""
        problem = envelope.list_shape_problem(inner, model.object_name)
        if problem is not None:
            raise self._partial(command, f"malformed listing: {problem}")
        return envelope.parse_list(inner, model)

    def _partial(self, command: str, problem: str, *, got: int | None = None,
                 expected: int | None = None) -> PartialListing:
        """The error for a listing that cannot be complete, journalled."""
        err = PartialListing(self.server, command, problem, got=got, expected=expected)
        self._scrub_exc(err)
        if self.journal is not None:
            self.journal.record("api.partial_list", server=self.server, command=command,
                                error=str(err))
        return err
