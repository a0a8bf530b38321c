"""`cspctl repair` end to end: the CLI in a subprocess against an in-process lab (real HTTP
API, real SSH through the hosts), the lab's full state compared before and after."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import time
from collections.abc import AsyncIterator
from typing import Any

from cspctl.config import save_profile
from cspctl.lab import Faults, Lab
from cspctl.lab.snapshot import state
from tests.cli_helpers import CliResult, run_cli
from tests.pty_helpers import cspctl_on_tty

TIME_SCALE = 0.01
ASSETS = ("images", "js", "css")


@contextlib.asynccontextmanager
async def lab(scenario: str = "seed", **kw: Any) -> AsyncIterator[Lab]:
    async with Lab(scenario, time_scale=TIME_SCALE, **kw) as running:
        save_profile(running.profile("lab"))
        yield running


async def repair(*args: str) -> CliResult:
    return await run_cli("--profile", "lab", "repair", *args, timeout=120)


def journal() -> list[dict[str, Any]]:
    root = os.environ["CSPCTL_STATE_DIR"]
    events = []
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            if name.endswith(".jsonl"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                    events += [json.loads(line) for line in fh if line.strip()]
    return events


def repair_events(kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in journal() if e["event"].startswith("repair.")
            and (kind is None or e["event"] == kind)]


def cpvm_os(running: Lab) -> Any:
    vm = running.world.vm_by_name("v-2-VM")
    assert vm is not None
    return vm, vm.os


def java_cwd(machine: Any) -> tuple[int, str, bool]:
    java = machine.java_proc
    assert java is not None
    return java.pid, machine.fs.path_of(java.cwd), java.cwd.deleted


async def test_protect_assets_fixes_the_seed_end_to_end() -> None:
    async with lab() as running:
        vm, machine = cpvm_os(running)
        assert java_cwd(machine)[2] is True and not vm.agent_connected
        result = await repair("protect-assets", "v-2-VM", "--yes", "--timeout", "20")
        assert result.returncode == 0, result.output
        assert "VERIFIED: done and verified" in result.stdout
        assert "✔ Java working directory intact: cwd intact" in result.stdout
        assert "✔ Console assets served" in result.stdout
        assert "✔ Agent state (listHosts): agent Up" in result.stdout
        # the lab itself: flags on disk, a new java in an intact directory, agent Up
        for d in ASSETS:
            assert machine.fs.lookup(f"/usr/local/cloud/systemvm/{d}").immutable
        pid, cwd, deleted = java_cwd(machine)
        assert (cwd, deleted) == ("/usr/local/cloud/systemvm", False) and pid != 2345
        assert vm.agent_state() == "Up"
        # seen by other clients too: plain OpenSSH and cs (PyPI)
        await _openssh_sees_immutable_flags(running, vm)
        await _cs_sees_agent_up(running)
    steps = repair_events("repair.step")
    assert [(e["step"], e["status"]) for e in steps] == [
        ("chattr", "done"), ("kill-java", "done"), ("start-cloud", "done"),
        ("early-config", "done"), ("wait-agent", "done")]
    questions = repair_events("repair.question")
    assert [q["step"] for q in questions] == ["chattr", "kill-java", "start-cloud",
                                              "early-config"]
    assert questions[0]["preview"].endswith(
        "chattr +i /usr/local/cloud/systemvm/images /usr/local/cloud/systemvm/js "
        "/usr/local/cloud/systemvm/css")
    assert [a["answer"] for a in repair_events("repair.answer")] == ["yes"] * 4
    end = repair_events("repair.end")[-1]
    assert (end["status"], end["exit_code"]) == ("verified", 0)


async def _openssh_sees_immutable_flags(running: Lab, vm: Any) -> None:
    from cspctl.cli.cmd_lab import openssh_command

    argv = shlex.split(openssh_command(running, vm))
    proc = await asyncio.create_subprocess_exec(
        argv[0], "-o", "BatchMode=yes", *argv[1:],
        "lsattr -d /usr/local/cloud/systemvm/images /usr/local/cloud/systemvm/js "
        "/usr/local/cloud/systemvm/css",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 3 and all(line.split()[0][4] == "i" for line in lines), lines


async def _cs_sees_agent_up(running: Lab) -> None:
    import cs

    def ask() -> Any:
        api = cs.CloudStack(endpoint=running.url, key=running.apikey, secret=running.secretkey)
        return api.listHosts(type="ConsoleProxy", name="v-2-VM")

    hosts = await asyncio.get_running_loop().run_in_executor(None, ask)
    assert hosts["host"][0]["state"] == "Up"


async def test_reboot_does_not_fix_the_seed_and_names_protect_assets() -> None:
    budget = 60.0
    async with lab() as running:
        _vm, machine = cpvm_os(running)
        boots, old_pid = machine.boots, java_cwd(machine)[0]
        began = time.monotonic()
        result = await repair("reboot", "v-2-VM", "--yes", "--timeout", f"{budget:g}")
        took = time.monotonic() - began
        assert result.returncode == 1, result.output
        assert "UNVERIFIED" in result.stdout
        # the wait ends once the agent's diagnosed cause is back, not at the deadline
        assert took < budget / 2, (took, result.output)
        assert ("v-2-VM is Running, its agent Disconnected, and the diagnosed cause is back "
                "(Java working directory intact; Console assets served") in result.stdout
        assert "reboot does not fix that, protect-assets does" in result.stdout
        assert "not Up after" not in result.stdout
        assert "cspctl repair protect-assets v-2-VM" in result.stdout
        assert "console session(s) through v-2-VM (activeviewersessions) will drop" \
            not in result.stdout  # --yes shows no question; the journal has it
        # it really rebooted: new boot, new pids, and the fault is back
        assert machine.boots == boots + 1
        pid, _cwd, deleted = java_cwd(machine)
        assert pid != old_pid and deleted
    question = repair_events("repair.question")[0]
    assert any("activeviewersessions" in line for line in question["blast_radius"])


async def test_recreate_with_a_wrong_name_exits_5_and_touches_nothing() -> None:
    async with lab() as running:
        before = state(running.world)
        result = await repair("recreate", "v-2-VM", "--yes", "--confirm-name", "v-9-VM")
        assert result.returncode == 5, result.output
        assert "not confirmed" in result.stdout
        assert state(running.world) == before
    answer = repair_events("repair.answer")[0]
    assert (answer["kind"], answer["typed"]) == ("type-name", "v-9-VM")


async def test_dry_run_read_only_and_no_terminal_change_nothing() -> None:
    async with lab() as running:
        before = state(running.world)
        dry = await repair("protect-assets", "v-2-VM", "--dry-run")
        assert dry.returncode == 0, dry.output
        # the same marker as the console's wizard (one vocabulary: StepStatus)
        assert dry.stdout.count("dry-run: not run") == 4
        assert dry.stdout.count("  ○ dry-run: dry-run: not run") == 4
        assert "chattr +i /usr/local/cloud/systemvm/images" in dry.stdout
        ro = await run_cli("--profile", "lab", "--read-only", "repair", "protect-assets",
                           "v-2-VM", "--yes")
        assert ro.returncode == 5, ro.output
        assert "read-only mode: refused" in ro.stdout
        assert "⊘ refused" in ro.stdout
        plain = await repair("reboot", "v-2-VM")  # stdin is not a terminal, no --yes
        assert plain.returncode == 5 and "no terminal to confirm" in plain.stderr
        assert state(running.world) == before
    statuses = [e["status"] for e in repair_events("repair.step")]
    assert "done" not in statuses and "refused" in statuses


async def test_declined_on_the_terminal_changes_nothing() -> None:
    async with lab() as running:
        cp = running.world.vm_by_name("v-2-VM")
        assert cp is not None
        cp.viewer_sessions = 2
        before = state(running.world)
        proc, term = await cspctl_on_tty("--profile", "lab", "repair", "reboot", "v-2-VM")
        master = term.master
        await term.read_until(b"[y/N]")
        assert b"rebootSystemVm id=" in term.seen
        assert b"blast radius: 2 console session(s) through v-2-VM (activeviewersessions) " \
            b"will drop" in term.seen
        os.write(master, b"n\n")
        rc = await asyncio.wait_for(proc.wait(), 60)
        await term.read_until(b"next:")
        os.close(master)
        assert rc == 5, term.seen
        assert state(running.world) == before
    answers = repair_events("repair.answer")
    assert [(a["step"], a["answer"]) for a in answers] == [("reboot", "no")]
    assert [e["status"] for e in repair_events("repair.step")] == ["declined"]


async def test_a_step_failing_midway_stops_and_the_journal_says_what_ran() -> None:
    async with lab(faults=Faults(fail_steps="cloud-start")) as running:
        _vm, machine = cpvm_os(running)
        result = await repair("protect-assets", "v-2-VM", "--yes", "--json")
        assert result.returncode == 3, result.output
        outcome = json.loads(result.stdout)
        assert outcome["status"] == "failed"
        assert outcome["ran"] == ["chattr", "kill-java", "start-cloud"]
        assert outcome["not_run"] == ["early-config", "wait-agent"]
        assert "service cloud start" in outcome["message"]
        assert "chattr -i" in outcome["next"]  # how to undo what ran
        # the lab: flags set, java killed, nothing started
        assert machine.fs.lookup("/usr/local/cloud/systemvm/js").immutable
        assert machine.java_proc is None
    steps = repair_events("repair.step")
    assert [(e["step"], e["status"]) for e in steps] == [
        ("chattr", "done"), ("kill-java", "done"), ("start-cloud", "failed")]
    assert [q["step"] for q in repair_events("repair.question")] == [
        "chattr", "kill-java", "start-cloud"]
    assert [a["answer"] for a in repair_events("repair.answer")] == ["yes"] * 3


async def test_repair_list_explains_suggestions() -> None:
    async with lab():
        all_ = await repair("list")
        assert all_.returncode == 0
        for pid in ("protect-assets", "reboot", "recreate", "restart-cloud",
                    "unprotect-assets", "fix-timezone", "ssl-off"):
            assert pid in all_.stdout
        for_vm = await repair("list", "v-2-VM", "--json")
        assert for_vm.returncode == 0, for_vm.output
        unknown = await repair("reboot", "v-9-VM", "--yes")
        assert unknown.returncode == 3
        assert unknown.stderr.startswith("cspctl: no system VM named 'v-9-VM' in profile lab")
        suggested = json.loads(for_vm.stdout)["suggested"]
        assert suggested[0]["id"] == "protect-assets"
        assert any(f["check_id"] == "java-cwd" for f in suggested[0]["findings"])


async def test_usage_errors() -> None:
    assert (await repair("nope", "v-2-VM")).returncode == 2
    assert (await repair("reboot", "x; rm -rf /")).returncode == 2
    assert (await repair("reboot", "v-2-VM", "--timeout", "0")).returncode == 2


async def test_lab_serve_refuses_an_unknown_step_fault() -> None:
    bad = await run_cli("lab", "serve", "--fault", "fail_steps=chattr,nope")
    assert bad.returncode == 2
    assert bad.stderr.startswith("cspctl: --fault 'fail_steps=chattr,nope': unknown step 'nope'")


async def test_recreate_asks_for_the_name_on_the_terminal() -> None:
    async with lab() as running:
        old = running.world.vm_by_name("s-1-VM")
        assert old is not None
        proc, term = await cspctl_on_tty("--profile", "lab", "repair", "recreate", "s-1-VM",
                                         "--timeout", "5")
        master = term.master
        await term.read_until(b"to confirm: ")
        assert b"destroySystemVm id=" in term.seen and b"undo: not possible" in term.seen
        assert b"no other SSVM in the zone takes over" in term.seen
        os.write(master, b"s-1-VM\n")
        rc = await asyncio.wait_for(proc.wait(), 90)
        await term.read_until(b"next:")
        os.close(master)
        assert rc == 1, term.seen  # re-created, but the seed fault came back with it
        assert old.removed or old.state in ("Destroyed", "Expunging")
        assert b"the VM is now s-3-VM" in term.seen
        assert b"cspctl repair protect-assets s-3-VM" in term.seen
    answer = repair_events("repair.answer")[0]
    assert (answer["kind"], answer["typed"]) == ("type-name", "s-1-VM")
