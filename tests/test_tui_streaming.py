"""The console's first screen on a large cloud does not wait for the last page: the first
pages' rows are shown as they arrive, marked "loading n/N"; the complete listing replaces them
in place; a listing that fails half way never leaves its partial rows looking complete."""

from __future__ import annotations

import asyncio

from aiohttp import web

from cspctl.config import Profile
from cspctl.session import Session
from tests.apiserver import ApiServer, Fault
from tests.tui_helpers import fixed_settings, loaded, screen_text, until, until_text
from tui.app import CspctlApp
from tui.backend import Backend


def console(srv: ApiServer) -> CspctlApp:
    settings = fixed_settings()
    profile = Profile(name="big", source=None, url=srv.url, apikey=srv.apikey,
                      secretkey=srv.secretkey, timeout=10.0)

    async def opener() -> Backend:
        return Backend(Session.open(profile=profile), settings=settings)

    return CspctlApp(opener, settings=settings)


def hold_page(srv: ApiServer, page: str) -> asyncio.Event:
    """``page`` of listSystemVms is answered only once the returned event is set."""
    release = asyncio.Event()
    answer = srv._answer

    async def held(request: web.Request) -> web.StreamResponse:
        if (request.rel_url.query.get("command") == "listSystemVms"
                and request.rel_url.query.get("page") == page):
            await release.wait()
        return await answer(request)

    srv._answer = held  # type: ignore[method-assign]
    return release


async def test_first_rows_are_on_screen_before_the_last_page_arrives() -> None:
    async with ApiServer(n_systemvms=1500) as srv:
        release = hold_page(srv, "3")
        app = console(srv)
        async with app.run_test(size=(120, 30)) as pilot:
            text = await until_text(pilot, "loading 1,000/1,500", timeout=20)
            # rows are there and selectable, counted honestly as a part of the whole
            table = app.overview.table
            assert table.row_count == 1000
            assert "v-1-VM" in text or "s-0-VM" in text
            zone_list = "\n".join(line[:18] for line in text.splitlines())
            assert "Zones …" in zone_list and "1,000/1,500" in zone_list
            assert app.snapshot is None  # the complete snapshot is not in yet
            release.set()
            await loaded(pilot)
            await until(pilot, lambda: "loading 1," not in screen_text(app),
                        what="the loading marker gone")
            assert table.row_count == 1500
            assert set(table.row_keys) == {v["id"] for v in srv.systemvms}
            assert "Zones …" not in screen_text(app) and "/1,500" not in screen_text(app)
            assert "System VMs (1500, ✘1 unhealthy)" in screen_text(app)


async def test_a_listing_failing_half_way_clears_its_partial_rows() -> None:
    async with ApiServer(n_systemvms=1500) as srv:
        release = hold_page(srv, "3")
        srv.faults["listSystemVms"] = Fault(status=530, page="3",
                                            errortext="page three broke")
        app = console(srv)
        async with app.run_test(size=(120, 30)) as pilot:
            await until_text(pilot, "loading 1,000/1,500", timeout=20)
            release.set()
            await until(pilot, lambda: app.api_error is not None, what="the API error")
            await pilot.pause(0.2)
            assert app.overview.table.row_count == 0
            text = screen_text(app)
            assert "loading 1,000" not in text and "page three broke" in text
