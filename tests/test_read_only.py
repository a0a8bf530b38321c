"""Read-only mode is enforced in the engine (issue 9, finding 7): the API client sends only
reads, the SSH pool refuses shells and operators' commands, diagnose writes nothing, and the
console's ``s`` refuses with a message. Through the real paths: a loopback CloudStack, the
lab's API and SSH servers, the CLI as a subprocess, and the console under Pilot."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cspctl.config import Profile, save_profile
from cspctl.gate import ReadOnlyRefused
from cspctl.lab.runner import Lab
from cspctl.session import Session
from cspctl.ssh import resolve_route
from tests.apiserver import APIKEY, SECRETKEY, ApiServer
from tests.tui_helpers import TIME_SCALE, fixed_settings, loaded, notifications, until

ROOT = Path(__file__).resolve().parents[1]


async def cspctl(*args: str, timeout: float = 90) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def journal_events() -> list[dict[str, Any]]:
    sessions = Path(os.environ["CSPCTL_STATE_DIR"]) / "sessions"
    return [json.loads(line) for f in sorted(sessions.glob("*.jsonl"))
            for line in f.read_text().splitlines()]


def lab_state(lab: Lab) -> dict[str, Any]:
    """What an operator's command could change: each VM's state and processes, and every SSH
    connection the lab ever accepted."""
    vms = {}
    for vm in lab.world.live_vms():
        vms[vm.name] = (vm.state, sorted((p.pid, p.comm) for p in vm.os.procs.values()))
    return {"vms": vms, "ssh": dict(lab.ssh.connection_counts)}


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    async with Lab("seed", time_scale=TIME_SCALE) as running:
        save_profile(running.profile("lab"))
        yield running


# -- the API client --------------------------------------------------------------------------

async def test_api_client_refuses_every_non_read_command_before_sending(tmp_path: Path) -> None:
    async with ApiServer(n_systemvms=2) as srv:
        profile = Profile(name="t", source=None, url=srv.url, apikey=APIKEY,
                          secretkey=SECRETKEY, read_only=True)
        async with Session.open(profile=profile) as session:
            assert session.gate.read_only and session.api.gate is session.gate
            vms = await session.api.list_system_vms()
            assert len(vms) == 2 and await session.api.version() == "4.8.0"
            refused = [
                session.api.stop_system_vm(vms[0].id),
                session.api.reboot_system_vm(vms[0].id),
                session.api.destroy_system_vm(vms[0].id),
                session.api.update_configuration("consoleproxy.sslEnabled", "true"),
                session.api.call("deployVirtualMachine", zoneid="zone-1"),
                session.api.run_diagnostics(vms[0].id, "8.8.8.8", "ping"),
            ]
            for call in refused:
                with pytest.raises(ReadOnlyRefused) as err:
                    await call
                assert err.value.exit_code == 5
                assert str(err.value).startswith("read-only mode: the API command ")
                assert "was not sent" in str(err.value)
        sent = set(srv.commands())
        journal = [e for e in session.journal.events() if e["event"] == "api"]
    assert sent and all(c.startswith("list") for c in sent), sent
    outcomes = {e["command"]: e["outcome"] for e in journal}
    assert outcomes["stopSystemVm"] == outcomes["updateConfiguration"] == "refused"
    assert outcomes["listSystemVms"] == "ok"


async def test_read_only_password_session_still_logs_in_and_out() -> None:
    async with ApiServer(n_systemvms=1) as srv:
        profile = Profile(name="t", source=None, url=srv.url, username="admin",
                          password="pa ss+w/rd~")
        async with Session.open(profile=profile, read_only=True) as session:
            assert len(await session.api.list_zones()) == 1
            with pytest.raises(ReadOnlyRefused):
                await session.api.call("updateConfiguration", name="x", value="y")
        assert srv.commands() == ["login", "listZones", "logout"]


async def test_read_write_session_does_send_writes() -> None:
    """The same calls without read-only reach the server (the gate is what stops them)."""
    async with ApiServer(n_systemvms=1) as srv:
        profile = Profile(name="t", source=None, url=srv.url, apikey=APIKEY,
                          secretkey=SECRETKEY)
        async with Session.open(profile=profile) as session:
            assert not session.gate.read_only
            await session.api.update_configuration("consoleproxy.sslEnabled", "true")
        assert "updateConfiguration" in srv.commands()


# -- the SSH pool (the engine, no UI) -------------------------------------------------------------

async def test_pool_refuses_shells_and_operator_commands_but_runs_probes(lab: Lab) -> None:
    before = lab_state(lab)
    async with Session.open(profile=lab.profile(), read_only=True) as session:
        vm = (await session.api.list_system_vms(name="v-2-VM"))[0]
        route = await resolve_route(vm, session.api, session.profile)
        with pytest.raises(ReadOnlyRefused, match="interactive shell on v-2-VM") as err:
            await session.ssh.open_shell(route)
        assert err.value.exit_code == 5 and "--read-only" in str(err.value)
        with pytest.raises(ReadOnlyRefused, match="'service cloud stop' on v-2-VM"):
            await session.ssh.run_operator_command(route, "service cloud stop")
        assert lab_state(lab) == before  # refused before any connection
        probe = await session.ssh.run(route, "pgrep java")  # a diagnostic's look
        assert probe.exit_status == 0 and probe.stdout.strip().isdigit()
    events = list(session.journal.events())
    refused = [e for e in events if e["event"] == "ssh.refused"]
    assert [e["vm"] for e in refused] == ["v-2-VM", "v-2-VM"]
    assert all(e["reason"].startswith("read-only mode:") for e in refused)
    assert not [e for e in events if e["event"] == "ssh.shell"]
    ran = [e["command"] for e in events if e["event"] == "ssh.command"]
    assert ran == ["pgrep java"]
    assert lab_state(lab)["vms"] == before["vms"]


# -- the CLI against the lab ------------------------------------------------------------------

async def test_cli_read_only_ssh_command_is_refused_and_changes_nothing(lab: Lab) -> None:
    before = lab_state(lab)
    cpvm = lab.world.vm_by_name("v-2-VM")
    java = cpvm.os.java_pid
    assert java is not None
    rc, out, err = await cspctl("--read-only", "--profile", "lab", "ssh", "v-2-VM", "--",
                                "service", "cloud", "stop")
    assert (rc, out) == (5, "")
    assert err.strip().splitlines() == [
        "cspctl: read-only mode: the command 'service cloud stop' on v-2-VM could change the VM "
        "and is not allowed (to allow it, run without --read-only and without "
        "read_only = true in the profile)"]
    rc, _out, err = await cspctl("--read-only", "--profile", "lab", "ssh", "v-2-VM")
    assert rc == 5 and "interactive shell on v-2-VM" in err
    rc, out, err = await cspctl("--read-only", "--profile", "lab", "ssh", "v-2-VM",
                                "--print-route")
    assert rc == 0 and "2. systemvm root@169.254." in out, err
    assert lab_state(lab) == before
    assert cpvm.os.java_pid == java
    # the profile's read_only = true is the same gate, without the flag
    save_profile(dataclasses.replace(lab.profile("lab"), read_only=True))
    rc, _out, err = await cspctl("--profile", "lab", "ssh", "v-2-VM", "--", "reboot")
    assert rc == 5 and "read-only mode" in err
    assert lab_state(lab) == before
    # and without read-only the very same command does stop the agent (the test can fail)
    save_profile(lab.profile("lab"))
    rc, out, err = await cspctl("--profile", "lab", "ssh", "v-2-VM", "--",
                                "service", "cloud", "stop")
    assert rc == 0, err
    assert cpvm.os.java_pid is None
    refused = [e for e in journal_events() if e["event"] == "ssh.refused"]
    assert len(refused) == 3


async def test_cli_read_only_diagnose_writes_no_test_file(lab: Lab) -> None:
    args = ("--profile", "lab", "diagnose", "s-1-VM", "--check", "secondary-storage",
            "--json")
    rc, out, err = await cspctl("--read-only", *args)
    assert rc in (0, 1, 2), err
    finding = next(f for f in json.loads(out)["vms"][0]["findings"]
                   if f["check_id"] == "secondary-storage")
    commands = [e["command"] for e in journal_events() if e["event"] == "ssh.command"]
    # the probes still ran (in the VM's one batched script), each shown as its own step
    assert any("cat /proc/mounts" in c for c in commands)
    assert [e for e in finding["evidence"] if e["command"] == "cat /proc/mounts"
            and e["exit_status"] == 0]
    if finding["status"] == "ok":  # the seed SSVM has its storage mounted
        assert "write test skipped: read-only mode" in finding["summary"]
    assert not [c for c in commands if "touch" in c or ".cspctl-write-test" in c]
    # read-write, the same diagnosis does write its test file
    rc, out, err = await cspctl(*args)
    assert rc in (0, 1, 2), err
    commands = [e["command"] for e in journal_events() if e["event"] == "ssh.command"]
    assert [c for c in commands if c.startswith("touch ") and ".cspctl-write-test" in c]


# -- the console -----------------------------------------------------------------------------

async def test_console_s_in_read_only_refuses_with_a_message_and_opens_nothing(lab: Lab) -> None:
    from tui.app import CspctlApp
    from tui.backend import Backend
    from tui.shell_pane import ShellPane

    settings = fixed_settings()

    async def opener() -> Backend:
        return Backend.for_lab(lab, read_only=True, settings=settings)

    before = lab_state(lab)
    app = CspctlApp(opener, settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await until(pilot, lambda: any("read-only mode" in n for n in notifications(app)),
                    what="refusal notification")
        note = next(n for n in notifications(app) if "read-only mode" in n)
        assert note.startswith("error: shell ") and "interactive shell on" in note
        assert not app.query(ShellPane) and app.tabs.active == "overview"
        app.open_shell(app.snapshot.vms[0])  # the command palette's way in: same refusal
        await pilot.pause()
        assert not app.query(ShellPane)
        await app.action_real_terminal()  # ctrl+t: refused before the console is suspended
        await pilot.pause()
        assert len([n for n in notifications(app) if "read-only mode" in n]) == 3
        events = list(app.backend.session.journal.events())
    assert len([e for e in events if e["event"] == "ssh.refused"]) == 3
    assert not [e for e in events if e["event"] in ("ui.real_terminal", "ssh.shell")]
    assert lab_state(lab) == before
