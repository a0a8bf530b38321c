"""A large listing at the network limit: pages in flight together (counted at the loopback
server), and its first rows handed out before its last page arrives."""

from __future__ import annotations

import asyncio

from aiohttp import web

from cspctl.cloudstack import CloudStackClient, SystemVm
from tests.apiserver import APIKEY, SECRETKEY, ApiServer


def client_for(srv: ApiServer, **kw: object) -> CloudStackClient:
    return CloudStackClient(srv.url, apikey=APIKEY, secretkey=SECRETKEY, timeout=5.0,
                            retry_backoff=0.01, **kw)  # type: ignore[arg-type]


async def test_pages_are_in_flight_together_at_the_server() -> None:
    # each answer takes 0.5 s: pages sent together overlap at the server even when a loaded
    # machine spreads out the sending
    async with ApiServer(n_systemvms=5000, latency=0.5) as srv:
        async with client_for(srv) as api:
            first = await api.list_system_vms()
            # the size is unknown: page 1 alone reveals count, then the 9 others at once
            assert srv.max_in_flight == 9
            srv.max_in_flight = 0
            srv.requests.clear()
            second = await api.list_system_vms()
        # the size is known now: all 10 pages go out together, one round trip in all
        assert srv.max_in_flight == 10
        assert len(srv.requests) == 10
    assert [vm.id for vm in second] == [vm.id for vm in first] == [
        v["id"] for v in srv.systemvms]


async def test_first_rows_are_handed_out_before_the_last_page_arrives() -> None:
    async with ApiServer(n_systemvms=1500, latency=0.02) as srv:
        last_page_answered = False
        seen: list[tuple[int, int | None, bool]] = []

        def on_rows(rows: list[SystemVm], expected: int | None) -> None:
            assert all(isinstance(vm, SystemVm) for vm in rows)
            seen.append((len(rows), expected, last_page_answered))

        async with client_for(srv) as api:
            await api.list_system_vms()  # learns the size: 3 pages
            answer = srv._answer

            async def page_3_late(request: web.Request) -> web.StreamResponse:
                nonlocal last_page_answered
                if request.rel_url.query.get("page") == "3":
                    await asyncio.sleep(0.3)
                    last_page_answered = True
                return await answer(request)

            srv._answer = page_3_late  # type: ignore[method-assign]
            vms = await api.list_system_vms(on_rows=on_rows)
    assert [vm.id for vm in vms] == [v["id"] for v in srv.systemvms]
    # rows came in steps, each call with every row so far and the expected total
    counts = [n for n, _, _ in seen]
    assert counts == [500, 1000, 1500]
    assert {expected for _, expected, _ in seen} == {1500}
    # the first rows were out while the last page was still on its way
    assert [late for _, _, late in seen] == [False, False, True]
