"""Partial and malformed listings are errors, never short lists passed off as complete
(issue 9, finding 6), through the client and the real CLI against tests/apiserver.py; and a
closed stdout pipe ends the CLI quietly (finding 14)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from cspctl.cloudstack import CloudStackClient, PartialListing
from cspctl.sessionlog import Journal
from tests.apiserver import APIKEY, SECRETKEY, ApiServer, Fault
from tests.cli_helpers import ROOT, assert_one_clean_error_line, run_cli

OOPS = '{"listsystemvmsresponse":{"count":4,"systemvm":"oops"}}'


def client_for(srv: ApiServer, journal: Journal | None = None) -> CloudStackClient:
    return CloudStackClient(srv.url, apikey=APIKEY, secretkey=SECRETKEY, journal=journal,
                            timeout=5.0, retry_backoff=0.01)


def env_for(srv: ApiServer) -> dict[str, str]:
    return {"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey, "CSPCTL_SECRETKEY": srv.secretkey}


async def test_count_beyond_the_pages_raises_partial_listing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    async with ApiServer(n_systemvms=500) as srv, client_for(srv, journal) as api:
        srv.claimed_counts["listSystemVms"] = 5000
        with pytest.raises(PartialListing) as info:
            await api.list_system_vms()
    err = info.value
    assert (err.got, err.expected) == (500, 5000)
    text = str(err)
    assert "\n" not in text
    assert text.startswith(f"127.0.0.1:{srv.port} listSystemVms: incomplete listing: 500 of "
                           "5000 rows in 10 pages")
    assert "hint:" in text
    events = [e for e in journal.events() if e.get("event") == "api.partial_list"]
    assert len(events) == 1 and "500 of 5000" in events[0]["error"]


async def test_wrong_shape_raises_partial_listing() -> None:
    async with ApiServer() as srv, client_for(srv) as api:
        srv.faults["listSystemVms"] = Fault(status=200, body=OOPS)
        with pytest.raises(PartialListing, match=r"malformed listing: 'systemvm' is str "
                           r"\"oops\", not a list of objects"):
            await api.list_system_vms()
        srv.faults["listZones"] = Fault(status=200, body=(
            '{"listzonesresponse":{"count":2,"zone":[{"id":"z"},7]}}'))
        with pytest.raises(PartialListing, match="1 item that is not an object"):
            await api.list_zones()
        srv.faults["listHosts"] = Fault(status=200, body=(
            '{"listhostsresponse":{"count":"many","host":[]}}'))
        with pytest.raises(PartialListing, match="'count' is \"many\""):
            await api.list_hosts()


async def test_honest_lists_still_pass() -> None:
    async with ApiServer(n_systemvms=1200) as srv, client_for(srv) as api:
        assert len(await api.list_system_vms()) == 1200
        srv.faults["listZones"] = Fault(status=200, body='{"listzonesresponse":{}}')
        assert await api.list_zones() == []


async def test_cli_list_with_a_lying_count_exits_non_zero_with_one_line() -> None:
    async with ApiServer(n_systemvms=500) as srv:
        srv.claimed_counts["listSystemVms"] = 5000
        res = await run_cli("list", "systemvms", env=env_for(srv))
        res_json = await run_cli("list", "systemvms", "--json", env=env_for(srv))
    for r in (res, res_json):
        line = assert_one_clean_error_line(r)
        assert "incomplete listing: 500 of 5000 rows" in line
        assert r.returncode == 3
        assert r.stdout == ""  # no half table, no half JSON


async def test_cli_list_and_diagnose_with_a_malformed_page_exit_non_zero() -> None:
    async with ApiServer() as srv:
        srv.faults["listSystemVms"] = Fault(status=200, body=OOPS)
        listed = await run_cli("list", "systemvms", env=env_for(srv))
        diagnosed = await run_cli("diagnose", "--all", "--no-ssh", env=env_for(srv))
    line = assert_one_clean_error_line(listed)
    assert "malformed listing: 'systemvm' is str" in line and listed.returncode == 3
    assert diagnosed.returncode != 0, diagnosed
    assert "Traceback" not in diagnosed.output
    assert "malformed listing" in diagnosed.stderr
    assert "✔" not in diagnosed.stdout


async def test_cli_list_into_a_closed_pipe_ends_quietly() -> None:
    # 2,000 hosts are far more than a pipe buffer: the writer meets the closed pipe for sure
    async with ApiServer(n_systemvms=2000) as srv:
        shell = (f"set -o pipefail; {sys.executable} -m cspctl list hosts | head -1; "
                 "echo \"status=$?\" >&2")
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", shell, cwd=ROOT, env={**os.environ, **env_for(srv)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    stderr = err.decode()
    assert len(out.decode().splitlines()) == 1
    assert "internal error" not in stderr and "BrokenPipe" not in stderr
    assert "Exception ignored" not in stderr and "Traceback" not in stderr
    assert stderr.strip() == "status=141", stderr  # 128 + SIGPIPE, nothing else said

