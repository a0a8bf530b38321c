"""Batched probes: the script runs the same in the lab's shell, dash and bash (a real sshd), each
probe gets exactly what it would get alone, and what the batch does not deliver runs alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cspctl.diagnostics.batch import FollowUps, ProbeBatch, batchable, plan_probes
from cspctl.diagnostics.checks import CATALOGUE
from cspctl.lab.scenarios import build_world
from cspctl.sessionlog import Journal
from cspctl.ssh import CommandResult, HostKeyStore, SshPool, direct_route
from tests.sshd import SshdServer

PROBES = (
    "echo hello",
    "printf 'no newline'",
    "ls /nonexistent-cspctl-dir",  # stderr, exit 2
    "false",
    "echo out; echo err >&2",
    "cat /etc/hostname /nonexistent-too",
    "true",
)


async def _through(batch: ProbeBatch, run: Any) -> dict[str, CommandResult | None]:
    batch.start(run)
    return {c: await batch.result(c) for c in batch.commands}


def _same(batched: CommandResult | None, alone: CommandResult) -> None:
    assert batched is not None
    assert (batched.stdout, batched.stderr, batched.exit_status) == (
        alone.stdout, alone.stderr, alone.exit_status), batched.command


def test_what_may_share_a_shell() -> None:
    assert batchable("df -P") and batchable("curl -s -w '%{http_code}' http://x/")
    assert batchable("a && b || c") and batchable("ss -ltn 2>/dev/null | grep 80")
    for bad in ("exit 3", "cd /tmp", "sleep 1 &", "echo a # note", "cat <<EOF", "echo $(id)",
                "echo 'open", "export A=1", "a\nb", ""):
        assert not batchable(bad), bad
    assert plan_probes([["a", "b"], ["b", "exit"], ["c"]]) == ("a", "b", "c")
    # every probe the catalogue declares goes into the batch
    declared = [p for c in CATALOGUE for p in (*c.probes, *c.host_probes)]
    assert declared and all(batchable(p) for p in declared)


async def test_lab_shell_answers_the_batch_like_single_runs() -> None:
    vm = build_world("healthy").live_vms()[0]
    probes = ("cat /var/cache/cloud/cmdline", "pgrep java", "ls /nope", "df -P",
              "date +%Z", "free -m")
    batch = ProbeBatch(probes)

    async def run(script: str, on_output: Any) -> CommandResult:
        chunks, status, _ = vm.os.new_shell().run_chunks(script)
        for stream, text in chunks:
            on_output("stdout" if stream == 1 else "stderr", text)
        return CommandResult(script, status, "", "", 0.0)

    got = await _through(batch, run)
    for command in probes:
        alone = vm.os.execute(command)
        _same(got[command], CommandResult(command, alone.status, alone.stdout, alone.stderr,
                                          0.0))


@pytest.mark.sshd
@pytest.mark.parametrize("shell", ["bash", "dash"])
async def test_real_sshd_bash_and_dash(sshd: SshdServer, client_key: Path, tmp_path: Path,
                                       shell: str) -> None:
    route = direct_route("127.0.0.1", sshd.port, "root", keys=(str(client_key),),
                         vm_id="vm-1", name="v-1-VM")
    journal = Journal(tmp_path / "j.jsonl")
    async with SshPool(journal=journal, hostkeys=HostKeyStore(tmp_path / "k.json"),
                       policy="accept-new") as pool:
        batch = ProbeBatch(PROBES)

        async def run(script: str, on_output: Any) -> CommandResult:
            # the login shell of a system VM is bash; dash is /bin/sh on Debian
            quoted = "'" + script.replace("'", "'\"'\"'") + "'"
            return await pool.run(route, f"{shell} -c {quoted}", on_output=on_output)

        got = await _through(batch, run)
        for command in PROBES:
            alone = await pool.run(route, f"{shell} -c '{command}'" if "'" not in command
                                   else command)
            _same(got[command], alone)
    assert got["printf 'no newline'"].stdout == "no newline"  # type: ignore[union-attr]
    assert got["ls /nonexistent-cspctl-dir"].exit_status == 2  # type: ignore[union-attr]


async def test_a_stalled_probe_lets_the_later_ones_run_alone() -> None:
    batch = ProbeBatch(["first", "slow", "after"], stall=0.2)
    release = asyncio.Event()

    async def run(script: str, on_output: Any) -> CommandResult:
        tok = batch.token
        on_output("stdout", f"1\n{tok}:0:0\n")
        on_output("stderr", f"{tok}:0\n")
        await release.wait()  # "slow" never finishes while we wait
        return CommandResult(script, 0, "", "", 0.0)

    batch.start(run)
    first = await batch.result("first")
    assert first is not None and first.stdout == "1\n" and first.exit_status == 0
    assert await batch.result("after") is None  # no progress: the caller runs it alone
    release.set()
    await asyncio.sleep(0)
    assert await batch.result("slow") is None  # the script ended without it


async def test_a_cut_script_and_an_unreachable_vm() -> None:
    from cspctl.ssh.errors import SshConnectionLost, SshUnreachable

    cut = ProbeBatch(["a", "b"])

    async def lost(script: str, on_output: Any) -> CommandResult:
        on_output("stdout", f"A{cut.token}:0:1\n")
        on_output("stderr", f"oops\n{cut.token}:0\n")
        raise SshConnectionLost("connection to x was lost")

    got = await _through(cut, lost)
    assert got["a"] == CommandResult("a", 1, "A", "oops\n", got["a"].duration,  # type: ignore[union-attr]
                                     started=got["a"].started)  # type: ignore[union-attr]
    assert got["b"] is None  # runs alone, on a new connection

    down = ProbeBatch(["a"])

    async def unreachable(script: str, on_output: Any) -> CommandResult:
        raise SshUnreachable("cannot connect to 169.254.1.1:3922")

    down.start(unreachable)
    with pytest.raises(SshUnreachable):
        await down.result("a")


async def test_follow_ups_asked_together_share_one_script_network_probes_last() -> None:
    vm = build_world("healthy").live_vms()[0]
    scripts: list[str] = []

    async def run(script: str, on_output: Any) -> CommandResult:
        scripts.append(script)
        chunks, status, _ = vm.os.new_shell().run_chunks(script)
        for stream, text in chunks:
            on_output("stdout" if stream == 1 else "stderr", text)
        return CommandResult(script, status, "", "", 0.0)

    followups = FollowUps(run)
    asked = ("nc -z -w 1 127.0.0.1 8250", "ls -l /proc/1/cwd", "cat /etc/hostname", "ls /nope")
    got = await asyncio.gather(*(followups.result(c) for c in asked))
    assert len(scripts) == 1 and followups.sent == 1
    order = [c for c in asked if c in scripts[0]]
    assert sorted(order, key=scripts[0].index)[-1] == asked[0]  # the network probe last
    for command, result in zip(asked, got, strict=True):
        alone = vm.os.execute(command)
        _same(result, CommandResult(command, alone.status, alone.stdout, alone.stderr, 0.0))
    # a command nobody joins runs alone (None: the caller runs it), no script sent for it
    assert await followups.result("cat /etc/hostname") is None
    assert len(scripts) == 1
    await followups.aclose()


async def test_follow_ups_still_gathering_stop_with_the_vm() -> None:
    async def run(script: str, on_output: Any) -> CommandResult:
        raise AssertionError("nothing is sent once the VM's run ended")

    followups = FollowUps(run, gather=5.0)
    waiting = asyncio.ensure_future(followups.result("cat /etc/hostname"))
    await asyncio.sleep(0.01)
    await followups.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiting
