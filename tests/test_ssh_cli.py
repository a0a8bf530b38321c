"""``cspctl ssh`` end to end: a loopback CloudStack API, a real sshd as the KVM host and
another on 127.x.y.z:3922 as the system VM's link-local sshd; the CLI runs as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys
from pathlib import Path

import pytest

from tests.apiserver import APIKEY, SECRETKEY
from tests.pty_helpers import PtyReader, cspctl_on_tty, open_pty, type_slowly

pytestmark = pytest.mark.sshd
ROOT = Path(__file__).resolve().parents[1]


async def cspctl(*args: str, stdin: int | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *args,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else stdin,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def journal_events() -> list[dict]:
    sessions = Path(os.environ["CSPCTL_STATE_DIR"]) / "sessions"
    return [json.loads(line) for f in sorted(sessions.glob("*.jsonl"))
            for line in f.read_text().splitlines()]


async def test_command_output_and_status(cloud):
    rc, out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--", "echo", "hello", "world")
    assert (rc, out) == (0, "hello world\n"), err
    rc, out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--", "echo e >&2; exit 3")
    assert (rc, out, err) == (3, "", "e\n")
    rc, out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--", "nosuchcommand")
    assert rc == 127 and "not found" in err
    cmds = [e for e in journal_events() if e["event"] == "ssh.command"]
    assert [c["exit_status"] for c in cmds] == [0, 3, 127]
    assert all(c["vm"] == "v-1-VM" and c["vm_id"].endswith("000000000001") for c in cmds)
    assert APIKEY not in json.dumps(journal_events()) and SECRETKEY not in json.dumps(
        journal_events()
    )


async def test_uuid_and_alias_lookup(cloud):
    vm_id = cloud["api"].systemvms[0]["id"]
    rc, out, err = await cspctl("--profile", "t", "ssh", vm_id, "--", "echo", "by-id")
    assert (rc, out) == (0, "by-id\n"), err
    rc, out, err = await cspctl("--profile", "t", "ssh", "CPVM", "--", "echo", "by-alias")
    assert (rc, out) == (0, "by-alias\n"), err


async def test_print_route_shows_host_and_link_local_hops(cloud):
    rc, out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--print-route")
    assert rc == 0, err
    lines = out.splitlines()
    assert "v-1-VM" in lines[0] and "CPVM" in lines[0]
    assert f"1. host     root@127.0.0.1:{cloud['host'].port} (kvm1, KVM)" in lines[1]
    assert f"2. systemvm root@{cloud['vm'].address}:3922 via host (link-local)" in lines[2]
    assert "authentication:" in lines
    auth = lines[lines.index("authentication:") + 1:]
    assert auth[0].strip().startswith("1. key ") and "known_hosts" in auth[0]
    assert "id_mgmt" in auth[1] and "system VM key store" in auth[1]
    assert cloud["host"].accepted_count() == 0, "--print-route never connects"


async def test_hostile_name_is_refused_before_any_lookup(cloud):
    for bad in ("x; rm -rf /", "v-1-VM$(reboot)", "../etc", "v-1-VM\n", "-oProxyCommand=sh"):
        # with -- CMD every failure of cspctl itself is 255 (as OpenSSH); else a usage error
        for argv, code in ((("--", bad), 2), ((bad, "--", "true"), 255)):
            if bad.startswith("-") and code == 255:
                continue
            rc, _out, err = await cspctl("--profile", "t", "ssh", *argv)
            assert rc == code, (bad, err)
            assert err.startswith("cspctl: invalid system VM name") and "Traceback" not in err
    assert cloud["api"].requests == []


async def test_unknown_vm_and_unreachable_host(cloud):
    """An unknown name: one message and exit 3 in ssh and diagnose; 255 under -- CMD."""
    said = "cspctl: no system VM named 'nosuch-VM' in profile t (see `cspctl list systemvms`)"
    rc, _out, err = await cspctl("--profile", "t", "ssh", "nosuch-VM", "--print-route")
    assert (rc, err.strip()) == (3, said)
    rc, _out, err = await cspctl("--profile", "t", "ssh", "nosuch-VM")
    assert (rc, err.strip()) == (3, said)
    rc, _out, err = await cspctl("--profile", "t", "diagnose", "nosuch-VM")
    assert (rc, err.strip()) == (3, said)
    rc, _out, err = await cspctl("--profile", "t", "ssh", "nosuch-VM", "--", "exit 3")
    assert (rc, err.strip()) == (255, said)
    cloud["host"].stop()
    rc, _out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--", "true")
    assert rc == 255 and "connection refused at host kvm1" in err and len(err.splitlines()) == 1


async def test_host_key_policy_ask_without_tty_refuses_with_advice(cloud, tmp_path):
    cfg = Path(os.environ["CSPCTL_CONFIG_DIR"]) / "config.toml"
    cfg.write_text(cfg.read_text().replace('host_key_policy = "accept-new"',
                                           'host_key_policy = "ask"'))
    rc, _out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--", "true")
    assert rc == 255 and "first contact with v-1-VM" in err and "SHA256:" in err
    assert "cspctl ssh v-1-VM --accept-new-hostkey" in err
    rc, out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--accept-new-hostkey", "--",
                                "echo", "trusted")
    assert (rc, out) == (0, "trusted\n"), err
    rc, out, err = await cspctl("--profile", "t", "ssh", "v-1-VM", "--", "echo", "again")
    assert (rc, out) == (0, "again\n"), err


async def test_interactive_shell_in_a_terminal(cloud):
    master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "--profile", "t", "ssh", "v-1-VM",
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True,
    )
    os.close(slave)
    term = PtyReader(master)

    await term.read_until(b"#")  # root prompt
    os.write(master, b"echo answer=$((6*7)); exit 4\n")
    await term.read_until(b"answer=42")
    rc = await asyncio.wait_for(proc.wait(), 30)
    os.close(master)
    assert rc == 4, term.seen
    shells = [e for e in journal_events() if e["event"] == "ssh.shell"]
    assert [e["action"] for e in shells] == ["start", "end"]
    cast = Path(shells[0]["cast"])
    assert json.loads(cast.read_text().splitlines()[0])["version"] == 2
    assert "answer=42" in cast.read_text()


async def test_first_contact_question_on_the_terminal(cloud):
    cfg = Path(os.environ["CSPCTL_CONFIG_DIR"]) / "config.toml"
    cfg.write_text(cfg.read_text().replace('host_key_policy = "accept-new"',
                                           'host_key_policy = "ask"'))
    proc, term = await cspctl_on_tty("--profile", "t", "ssh", "v-1-VM", "--", "echo",
                                     "after-yes")
    master = term.master

    await term.read_until(b"[y/N]")
    assert b"first contact with v-1-VM" in term.seen and b"SHA256:" in term.seen
    os.write(master, b"y\n")
    await term.read_until(b"after-yes")
    rc = await asyncio.wait_for(proc.wait(), 30)
    os.close(master)
    assert rc == 0, term.seen
    events = [e for e in journal_events() if e["event"] == "ssh.hostkey"]
    assert [e["action"] for e in events] == ["accepted", "trusted"]


def cast_output(cast: Path) -> str:
    events = [json.loads(line) for line in cast.read_text().splitlines()[1:]]
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    return "".join(e[2] for e in events if e[1] == "o")


async def test_typed_secrets_never_reach_the_recording(cloud):
    """Finding 4: bash on a real sshd echoes each typed character; the recording is masked on
    the joined stream (the live terminal still shows everything)."""
    master, slave = open_pty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "--profile", "t", "ssh", "v-1-VM",
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True,
    )
    os.close(slave)
    term = PtyReader(master)
    await term.read_until(b"#")  # root prompt
    typed_password = "Hunter2-Typed-9XQ"
    await type_slowly(master, term, f"echo {APIKEY}\r")
    await type_slowly(master, term, f"echo {SECRETKEY}\r")
    await type_slowly(master, term, f"export password={typed_password}\r")
    os.write(master, b"exit 0\r")
    rc = await asyncio.wait_for(proc.wait(), 30)
    await term.read_until(b"\x00never")  # drain to EOF
    os.close(master)
    assert rc == 0, term.seen
    assert APIKEY.encode() in term.seen and typed_password.encode() in term.seen  # live: all
    shells = [e for e in journal_events() if e["event"] == "ssh.shell"]
    recorded = cast_output(Path(shells[0]["cast"]))
    assert "echo ***" in recorded and "export password=***" in recorded, recorded
    for secret in (APIKEY, SECRETKEY, typed_password):
        assert secret not in recorded
