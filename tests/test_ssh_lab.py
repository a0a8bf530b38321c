"""``cspctl ssh`` and the pool against the lab: ``cspctl lab serve`` as a subprocess (the way an
operator runs it) and an in-process Lab whose SSH servers count connections."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cspctl.ssh import SshPool, resolve_route

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def lab_serve(tmp_path: Path) -> AsyncIterator[dict]:
    info = tmp_path / "lab-info.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "lab", "serve", "--info", str(info),
        "--time-scale", "0.01",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    try:
        for _ in range(600):
            if info.exists() or proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        if not info.exists():
            err = (await proc.stderr.read()).decode() if proc.returncode is not None else ""
            pytest.fail(f"cspctl lab serve did not become ready: {err[-2000:]}")
        yield json.loads(info.read_text())
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def cspctl(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT, env=dict(os.environ),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_against_lab_serve(lab_serve):
    rc, out, err = await cspctl("--profile", "lab", "ssh", "CPVM", "--",
                                "cat", "/var/cache/cloud/cmdline")
    assert rc == 0, err
    assert "type=consoleproxy" in out and "name=v-2-VM" in out and "eth0ip=169.254." in out

    rc, out, err = await cspctl("--profile", "lab", "ssh", "v-2-VM", "--", "nosuchcommand")
    assert rc == 127, (out, err)

    rc, out, err = await cspctl("--profile", "lab", "ssh", "CPVM", "--print-route")
    assert rc == 0, err
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("1. host ") and "KVM" in line for line in lines), out
    assert any(line.startswith("2. systemvm root@169.254.") and line.endswith(
        ":3922 via host (link-local)") for line in lines), out


def _counts(lab) -> dict:
    counts = lab.ssh.connection_counts
    return dict(counts() if callable(counts) else counts)


async def test_fifty_commands_on_one_lab_vm_use_one_connection():
    from cspctl.lab.runner import Lab
    from cspctl.session import Session

    async with Lab("seed", time_scale=0.01) as lab, Session.open(profile=lab.profile()) as session:
        (vm,) = [v for v in await session.api.list_system_vms() if v.name == "v-2-VM"]
        route = await resolve_route(vm, session.api, session.profile)
        pool: SshPool = session.ssh
        first = await asyncio.gather(*(pool.run(route, "hostname") for _ in range(25)))
        rest = [await pool.run(route, "cat /etc/cloudstack-release") for _ in range(25)]
        assert all(r.ok for r in first + rest), [r for r in first + rest if not r.ok][:1]
        assert first[0].stdout.strip() == "v-2-VM"
        assert pool.connections_opened == 2  # the host hop and the system VM hop
        counts = _counts(lab)
        host_ip = route.hops[0].host
        assert counts == {f"host:{host_ip}": 1, "vm:v-2-VM": 1}, counts
        commands = [e for e in session.journal.events() if e["event"] == "ssh.command"]
        assert len(commands) == 50


async def test_recreated_cpvm_on_a_reused_address_is_named_not_called_an_attack(tmp_path):
    """Destroy the CPVM in the lab; its replacement gets a new id and key. When the new VM
    reuses the old link-local address, the refusal says what happened (re-created VM)."""
    from cspctl.lab.runner import Lab
    from cspctl.session import Session
    from cspctl.ssh import HostKeyStore, HostKeyUnknown

    store = HostKeyStore(tmp_path / "own-store.json")  # not the one the lab pre-trusts
    async with Lab("seed", time_scale=0.01) as lab, Session.open(profile=lab.profile()) as s:
        (old,) = [v for v in await s.api.list_system_vms() if v.name == "v-2-VM"]
        route = await resolve_route(old, s.api, s.profile)
        async with SshPool(s.profile, hostkeys=store, policy="accept-new") as pool:
            assert (await pool.run(route, "hostname")).stdout.strip() == "v-2-VM"
        await s.api.destroy_system_vm(old.id)
        new = None
        for _ in range(300):
            cps = [v for v in await s.api.list_system_vms(systemvmtype="consoleproxy")
                   if v.id != old.id and v.state == "Running"]
            if cps:
                new = cps[0]
                break
            await asyncio.sleep(0.1)
        assert new is not None, "the lab re-creates the CPVM"
        lab.world.vm_by_name(new.name).linklocalip = old.linklocalip  # address reused
        (new,) = [v for v in await s.api.list_system_vms() if v.id == new.id]
        new_route = await resolve_route(new, s.api, s.profile)
        async with SshPool(s.profile, hostkeys=store) as pool:  # policy ask, nobody to ask
            with pytest.raises(HostKeyUnknown) as err:
                await pool.run(new_route, "hostname")
        old_fp = next(e["fingerprint"] for e in store.entries() if e["vm_id"] == old.id)
        assert (f"{old.linklocalip} was v-2-VM (id {old.id}, key {old_fp}), now {new.name}: "
                "a re-created VM has a new key") in str(err.value)
        assert f"cspctl ssh {new.name} --accept-new-hostkey" in str(err.value)
        async with SshPool(s.profile, hostkeys=store, accept_new=True) as pool:
            assert (await pool.run(new_route, "hostname")).stdout.strip() == new.name
        assert [e["vm_id"] for e in store.entries()] == [new.id]


async def test_typed_secrets_never_reach_the_recording_on_the_lab(lab_serve):
    """Finding 4 on the lab's shell (asyncssh's line editor echoes each typed key)."""
    from cspctl.config import load_profile
    from tests.pty_helpers import PtyReader, open_pty, type_slowly
    from tests.test_ssh_cli import cast_output, journal_events

    profile = load_profile("lab")
    master, slave = open_pty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "--profile", "lab", "ssh", "v-2-VM",
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True,
    )
    os.close(slave)
    term = PtyReader(master)
    await term.read_until(b"# ")
    await type_slowly(master, term, f"echo {profile.apikey}\r")
    await type_slowly(master, term, f"echo {profile.secretkey}\r")
    await type_slowly(master, term, "echo password=Lab-Typed-7QZ\r")
    os.write(master, b"exit\r")
    rc = await asyncio.wait_for(proc.wait(), 30)
    os.close(master)
    assert rc == 0, term.seen
    assert profile.apikey.encode() in term.seen
    shells = [e for e in journal_events() if e["event"] == "ssh.shell"]
    recorded = cast_output(Path(shells[0]["cast"]))
    assert "password=***" in recorded, recorded
    for secret in (profile.apikey, profile.secretkey, "Lab-Typed-7QZ"):
        assert secret not in recorded
