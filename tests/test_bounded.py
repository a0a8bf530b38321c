"""Memory and disk stay bounded whatever a server sends (issue 9, finding 3).

A response body larger than the client accepts is abandoned (announced or streamed); a 50 MB
name in listSystemVms is cut in the models, so ``list`` and ``diagnose --all --no-ssh`` stay
well under 500 MB and the journal stays small; journal events have a maximum size; the output
of an SSH command kept in memory is capped (real OpenSSH sshd).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from aiohttp import web

from cspctl.cloudstack import CloudStackClient
from cspctl.cloudstack.errors import ResponseTooLarge
from cspctl.cloudstack.models import SystemVm
from cspctl.sessionlog import Journal, state_dir
from cspctl.sessionlog.journal import MAX_EVENT
from cspctl.ssh import HostKeyStore, SshPool, direct_route
from cspctl.ssh.pool import MAX_COMMAND_OUTPUT
from cspctl.text import MAX_FIELD
from tests.apiserver import ApiServer, Fault
from tests.cli_helpers import ROOT
from tests.sshd import SshdServer

MB = 2**20


def client_for(srv: ApiServer, **kw: object) -> CloudStackClient:
    return CloudStackClient(srv.url, apikey=srv.apikey, secretkey=srv.secretkey, retries=0,
                            **kw)  # type: ignore[arg-type]


async def test_announced_body_over_the_cap_is_not_read() -> None:
    async with ApiServer() as srv:
        srv.faults["listZones"] = Fault(status=200, body='{"x": "' + "a" * (2 * MB) + '"}')
        async with client_for(srv) as api:
            api.max_body = MB
            with pytest.raises(ResponseTooLarge) as err:
                await api.list_zones()
            assert await api.list_system_vms()  # the client still works
    assert "listZones: response larger than 1 MB" in str(err.value)
    assert "\n" not in str(err.value)


async def test_streamed_body_over_the_cap_is_abandoned() -> None:
    """No Content-Length (chunked, endless): reading stops at the cap."""
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(b'{"listzonesresponse": {"zone": [{"name": "')
        try:
            while sent < 200 * MB:
                await resp.write(b"a" * 65536)
                sent += 65536
        except (ConnectionError, RuntimeError):
            pass
        return resp

    app = web.Application()
    app.router.add_get("/client/api", endless)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        api = CloudStackClient(f"http://127.0.0.1:{port}/client/api", apikey="k" * 8,
                               secretkey="s" * 8, retries=0)
        api.max_body = 2 * MB
        async with api:
            with pytest.raises(ResponseTooLarge):
                await api.list_zones()
    finally:
        await runner.cleanup()
    assert sent < 50 * MB  # abandoned early, not read to the end


def test_model_fields_are_capped_in_raw_too() -> None:
    vm = SystemVm.from_api({"name": "v" * 100_000, "details": {"k": ["x" * 100_000]},
                            "id": "ok"})
    assert vm.id == "ok"
    assert vm.name is not None and len(vm.name) < MAX_FIELD + 100
    assert vm.name.endswith("…[95904 more characters cut]")
    assert vm.raw["name"] == vm.name
    assert len(vm.raw["details"]["k"][0]) < MAX_FIELD + 100


def test_journal_events_have_a_maximum_size(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.record("big", output="o" * (10 * MB), items=["i" * 100_000] * 50)
    journal.record("many", **{f"f{i}": "x" * 5000 for i in range(2000)})
    journal.record("small", name="v-1-VM")
    journal.close()
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert all(len(line) <= MAX_EVENT for line in lines)
    big, many, small = (json.loads(line) for line in lines)
    assert big["truncated"] > MAX_EVENT and big["output"].startswith("oooo")
    assert "more characters cut]" in big["output"]
    assert many["truncated"] and many["fields"][:2] == ["f0", "f1"]
    assert small == {"v": small["v"], "ts": small["ts"], "event": "small", "name": "v-1-VM"}


# -- a 50 MB name, end to end ----------------------------------------------------------------

RSS_WRAPPER = """
import resource, sys
from cspctl.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(f"maxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


async def run_measured(*argv: str, env: dict[str, str]) -> tuple[int, bytes, str, int]:
    """The real CLI in a subprocess: (exit, stdout, stderr without the measure, max RSS MB)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RSS_WRAPPER, *argv, cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    lines = err.decode().splitlines()
    rss = next(int(ln.split("=")[1]) for ln in lines if ln.startswith("maxrss_kb="))
    rest = "\n".join(ln for ln in lines if not ln.startswith("maxrss_kb="))
    return proc.returncode or 0, out, rest, rss // 1024


@pytest.mark.timeout(300)
async def test_a_50_mb_name_keeps_memory_and_journal_small() -> None:
    async with ApiServer(n_systemvms=2) as srv:
        srv.systemvms[0]["name"] = "v-1-VM" + "\x1b" * 10 + "N" * (50 * MB)
        env = {"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey,
               "CSPCTL_SECRETKEY": srv.secretkey}
        sessions = state_dir() / "sessions"
        code, out, err, rss = await run_measured("diagnose", "--all", "--no-ssh", env=env)
        assert code in (0, 1, 2), err
        assert rss < 500, f"diagnose used {rss} MB"
        assert len(out) < 2 * MB
        assert "v-1-VM\\x1b" in out.decode() and "more characters cut]" in out.decode()
        journal_size = sum(p.stat().st_size for p in sessions.glob("*.jsonl"))
        assert journal_size < 5 * MB, f"journal grew to {journal_size} bytes"

        code, out, err, rss = await run_measured("list", "systemvms", "--json", env=env)
        assert code == 0, err
        assert rss < 500, f"list used {rss} MB"
        names = [d["name"] for d in json.loads(out)]
        assert max(len(n) for n in names) < MAX_FIELD + 100


# -- SSH command output ----------------------------------------------------------------------


@pytest.mark.sshd
async def test_ssh_output_kept_in_memory_is_capped(sshd: SshdServer, client_key: Path,
                                                   tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_systemvms.json")
    route = direct_route("127.0.0.1", sshd.port, "root", keys=(str(client_key),),
                         vm_id="vm-1", name="v-1-VM")
    total = MAX_COMMAND_OUTPUT * 3
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        res = await pool.run(route, f"head -c {total} /dev/zero | tr '\\0' x; echo END",
                             timeout=60)
    assert res.exit_status == 0
    assert len(res.stdout) < MAX_COMMAND_OUTPUT + 200
    assert res.stdout.startswith("xxxx") and res.stdout.endswith("xxxEND\n")
    assert f"[{total + 4 - MAX_COMMAND_OUTPUT} characters of output not kept]" in res.stdout


CONSOLE_WRAPPER = """
import asyncio, resource, sys, time
from functools import partial
from tui.app import CspctlApp
from tui.backend import Backend
from tests.tui_helpers import fixed_settings, screen_text

async def main():
    settings = fixed_settings()
    app = CspctlApp(partial(Backend.open_profile, None, settings=settings), settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 120
        for wanted in (1, 2, 3):
            while app.refresh_count < wanted and time.monotonic() < deadline:
                await pilot.pause(0.1)
            if wanted < 3:
                app.action_refresh()
        await pilot.pause(0.5)
        text = screen_text(app)
        print(f"refreshes={app.refresh_count}")
        print(f"shown={'v-1-VM' in text and 'NNNN' in text}")
        print(f"rows={app.overview.table.row_count}")
        print(f"raw_esc={chr(27) in text}")
    print(f"maxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")

asyncio.run(main())
"""


@pytest.mark.timeout(300)
async def test_a_50_mb_name_keeps_the_console_small() -> None:
    """The console refreshes a listing with a 50 MB name three times within 500 MB."""
    async with ApiServer(n_systemvms=2) as srv:
        srv.systemvms[0]["name"] = "v-1-VM" + "\x1b" * 10 + "N" * (50 * MB)
        env = {"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey,
               "CSPCTL_SECRETKEY": srv.secretkey}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CONSOLE_WRAPPER, cwd=ROOT, env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()[-3000:]
    facts = dict(line.split("=", 1) for line in out.decode().splitlines() if "=" in line)
    assert int(facts["refreshes"]) >= 3, facts
    assert facts["rows"] == "2" and facts["shown"] == "True" and facts["raw_esc"] == "False"
    rss = int(facts["maxrss_kb"]) // 1024
    assert rss < 500, f"the console used {rss} MB"
