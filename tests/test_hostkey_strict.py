"""``host_key_policy = "strict"`` never asks (issue 9, finding 8): a changed system VM key is
refused with both fingerprints and the command that accepts it, through the engine and on a
real terminal (pty), against the lab's SSH servers."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pty
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from cspctl.config import save_profile
from cspctl.lab.runner import Lab
from cspctl.session import Session
from cspctl.ssh import HostKeyChanged, HostKeyQuestion, fingerprint, resolve_route
from tests.pty_helpers import controlling_tty
from tests.tui_helpers import TIME_SCALE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def changed() -> AsyncIterator[dict]:
    """A lab whose store trusts another key for v-2-VM than the one it offers; policy strict."""
    async with Lab("seed", time_scale=TIME_SCALE) as lab:
        vm = lab.world.vm_by_name("v-2-VM")
        assert vm is not None
        other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
        lab.host_key_store().trust(vm.id, vm.linklocalip, other, vm.name)
        profile = dataclasses.replace(lab.profile("lab"), host_key_policy="strict")
        save_profile(profile)
        yield {"lab": lab, "profile": profile, "trusted": fingerprint(other),
               "offered": fingerprint(vm.host_key_line), "store": lab.host_key_store().path}


async def test_engine_refuses_a_changed_key_without_asking(changed: dict) -> None:
    asked: list[HostKeyQuestion] = []

    async def ask(question: HostKeyQuestion) -> bool:
        asked.append(question)
        return True  # "y": the old code saved the key

    before = changed["store"].read_bytes()
    async with Session.open(profile=changed["profile"]) as session:
        session.host_key_ask = ask
        vm = (await session.api.list_system_vms(name="v-2-VM"))[0]
        route = await resolve_route(vm, session.api, session.profile)
        with pytest.raises(HostKeyChanged) as err:
            await session.ssh.run(route, "true")
    message = str(err.value)
    assert asked == []
    assert changed["trusted"] in message and changed["offered"] in message
    assert "host_key_policy strict refuses changed keys without asking" in message
    assert "`cspctl ssh v-2-VM --accept-changed-hostkey`" in message
    assert changed["store"].read_bytes() == before
    refusals = [e for e in session.journal.events() if e["event"] == "ssh.hostkey"]
    assert [(e["action"], e["policy"]) for e in refusals] == [("refused", "strict")]


async def _on_a_terminal(*args: str) -> tuple[int, str]:
    """``cspctl ARGS`` with a pty as its controlling terminal; (status, everything shown)."""
    master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *args,
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, preexec_fn=controlling_tty,
    )
    os.close(slave)
    loop = asyncio.get_running_loop()
    seen = b""
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(
                    loop.run_in_executor(None, os.read, master, 4096), 30)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if b"[y/N]" in seen:  # a question: strict must never get here
                break
    finally:
        if proc.returncode is None and b"[y/N]" in seen:
            proc.kill()
        rc = await asyncio.wait_for(proc.wait(), 30)
        os.close(master)
    return rc, seen.decode(errors="replace")


async def test_on_a_terminal_strict_refuses_then_the_printed_command_accepts(
        changed: dict) -> None:
    rc, shown = await _on_a_terminal("--profile", "lab", "ssh", "v-2-VM", "--", "echo", "ran")
    assert "[y/N]" not in shown
    assert rc == 255, shown
    assert changed["trusted"] in shown and changed["offered"] in shown
    assert "cspctl ssh v-2-VM --accept-changed-hostkey" in shown
    assert "ran" not in [line.strip() for line in shown.splitlines()]  # nothing ran
    rc, shown = await _on_a_terminal("--profile", "lab", "ssh", "v-2-VM",
                                     "--accept-changed-hostkey", "--", "echo", "accepted")
    assert (rc, "[y/N]" in shown) == (0, False), shown
    assert "accepted" in shown
    (entry,) = [e for e in changed["lab"].host_key_store().entries()
                if e["vm_id"] == changed["lab"].world.vm_by_name("v-2-VM").id]
    assert entry["fingerprint"] == changed["offered"]
