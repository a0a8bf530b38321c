"""Slow and flaky answers (issue 9, findings 11 and 12): a whole-call deadline however the
server trickles, messages that state the real attempts and elapsed time, and retries of
transient failures for reads (per page), never for writes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cspctl.cloudstack import ApiError, ApiTimeout, BadResponse, CloudStackClient
from cspctl.sessionlog import Journal
from tests.apiserver import APIKEY, SECRETKEY, ApiServer, Fault

HTML_500 = "<html><body><h1>HTTP Status 500 - Internal Server Error</h1></body></html>"


def client_for(url: str, **kw) -> CloudStackClient:
    opts = {"apikey": APIKEY, "secretkey": SECRETKEY, "retry_backoff": 0.05}
    opts.update(kw)
    return CloudStackClient(url, **opts)


class RawServer:
    """A raw asyncio HTTP server: ``trickle`` sends headers, then one byte a second, forever;
    ``hang`` reads the request and never answers."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.mode == "hang":
                await asyncio.sleep(3600)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            await writer.drain()
            while True:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.25)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/client/api"

    async def __aexit__(self, *exc: object) -> None:
        for w in self._writers:
            w.close()
        self._server.close()


@pytest.fixture(params=["trickle", "hang"])
async def slow(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, RawServer]]:
    server = RawServer(request.param)
    async with server as url:
        yield url, server


def _numbers(text: str) -> tuple[float, int, float]:
    m = re.search(r"no answer within ([\d.]+) s \((\d+) attempts?, ([\d.]+) s in all\)", text)
    assert m, text
    return float(m.group(1)), int(m.group(2)), float(m.group(3))


async def test_a_read_ends_by_its_deadline_and_says_what_happened(
        slow: tuple[str, RawServer], tmp_path: Path) -> None:
    url, server = slow
    journal = Journal(tmp_path / "j.jsonl")
    async with client_for(url, timeout=0.6, retries=2, journal=journal) as api:
        started = time.monotonic()
        with pytest.raises(ApiTimeout) as info:
            await asyncio.wait_for(api.list_zones(), 10)  # old code: never ends
        took = time.monotonic() - started
    # the trickling server sends a byte every 0.25 s, so httpx's per-read timeout never fires:
    # only the whole-call deadline (2 x timeout) ends it
    assert took < 1.2 + 0.8, took
    text = str(info.value)
    assert "\n" not in text
    within, attempts, in_all = _numbers(text)
    assert within == 0.6
    assert attempts == server.connections == 2  # the third try would not fit in the deadline
    assert abs(in_all - took) < 0.3, (in_all, took)
    event = next(e for e in journal.events() if e["event"] == "api")
    assert event["attempts"] == 2 and event["outcome"] == text


async def test_a_write_is_never_retried_and_ends_by_its_timeout(
        slow: tuple[str, RawServer]) -> None:
    url, server = slow
    async with client_for(url, timeout=0.5, retries=2) as api:
        started = time.monotonic()
        with pytest.raises(ApiTimeout) as info:
            await asyncio.wait_for(api.call("stopSystemVm", id="x"), 10)
        took = time.monotonic() - started
    assert took < 0.5 + 0.6
    assert server.connections == 1
    assert _numbers(str(info.value))[1:] == (1, pytest.approx(took, abs=0.3))


async def test_reset_and_html_500_on_one_page_are_retried_alone() -> None:
    async with ApiServer(n_systemvms=1200) as srv:
        srv.faults["listSystemVms"] = Fault(reset=True, page="2", times=1)
        async with client_for(srv.url, page_concurrency=1) as api:
            vms = await api.list_system_vms()
        assert len(vms) == 1200
        pages = [r.params["page"] for r in srv.requests if r.command == "listSystemVms"]
        assert sorted(pages) == ["1", "2", "2", "3"]  # only the bad page was asked again

        srv.requests.clear()
        srv.faults["listSystemVms"] = Fault(status=500, content_type="text/html",
                                            body=HTML_500, page="3", times=2)
        async with client_for(srv.url) as api:
            assert len(await api.list_system_vms()) == 1200
        pages = [r.params["page"] for r in srv.requests if r.command == "listSystemVms"]
        assert sorted(pages) == ["1", "2", "3", "3", "3"]


async def test_a_page_that_keeps_failing_names_its_attempts() -> None:
    async with ApiServer(n_systemvms=1200) as srv:
        srv.faults["listSystemVms"] = Fault(status=500, content_type="text/html",
                                            body=HTML_500, page="2")
        async with client_for(srv.url, retries=2) as api:
            with pytest.raises(BadResponse) as info:
                await api.list_system_vms()
    text = str(info.value)
    assert "HTTP 500" in text and re.search(r"\(3 attempts, [\d.]+ s in all\)", text), text


async def test_writes_and_cloudstack_530_envelopes_are_not_retried() -> None:
    async with ApiServer() as srv:
        srv.faults["stopSystemVm"] = Fault(reset=True)
        srv.faults["listPods"] = Fault(status=530, errortext="NullPointerException")
        async with client_for(srv.url) as api:
            with pytest.raises(Exception, match="stopSystemVm"):
                await api.stop_system_vm(srv.systemvms[0]["id"])
            with pytest.raises(ApiError, match="NullPointerException"):
                await api.list_pods()
        assert srv.commands().count("stopSystemVm") == 1
        assert srv.commands().count("listPods") == 1
