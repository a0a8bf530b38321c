"""SIGTERM, SIGHUP and Ctrl+C end cspctl cleanly (issue 9, findings 5 and 14): the terminal is
given back as it was (cooked mode, main screen, no mouse tracking), shells are closed, the
journal ends with a ``session.end`` naming the signal, the exit status is 128 + the signal,
and nothing but one line is printed. Real processes on real ptys, against the lab."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.pty_helpers import PtyReader, controlling_tty, open_pty
from tests.test_diag_cli import _env
from tests.test_diag_cli import lab_serve as lab_serve_process
from tests.test_ssh_lab import lab_serve  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[1]
ALT_ON, ALT_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
MOUSE_ON, MOUSE_OFF = b"\x1b[?1000h", b"\x1b[?1000l"


def journal() -> list[dict]:
    """The events of the newest session journal."""
    sessions = Path(os.environ["CSPCTL_STATE_DIR"]) / "sessions"
    files = sorted(sessions.glob("*.jsonl"), key=lambda f: f.stat().st_mtime)
    if not files:
        return []
    return [json.loads(line) for line in files[-1].read_text().splitlines()]


async def read_some(master: int, timeout: float) -> bytes | None:
    """What the pty has within ``timeout`` (None: nothing yet; b"": closed). Nothing is lost
    on a timeout (no reader thread is left behind)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(master, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, timeout)
    except TimeoutError:
        return None
    finally:
        loop.remove_reader(master)
    try:
        return os.read(master, 65536)
    except OSError:  # EIO: the last holder of the slave side is gone
        return b""


async def drain(term: PtyReader, proc: asyncio.subprocess.Process, timeout: float) -> int:
    """Read the pty until the process has exited and its output is all in; the exit status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if loop.time() > deadline:
            proc.kill()
            raise AssertionError(f"still running {timeout} s after the signal: "
                                 f"{term.seen[-500:]!r}")
        chunk = await read_some(term.master, 0.5)
        if chunk:
            term.seen += chunk
        elif chunk == b"" or proc.returncode is not None:
            return await asyncio.wait_for(proc.wait(), max(1.0, deadline - loop.time()))


async def wait_for_event(name: str, term: PtyReader, timeout: float = 30) -> None:
    """Keep reading the pty (the app must not block on its output) until the journal has
    an event ``name``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(e["event"] == name for e in journal()):
        assert loop.time() < deadline, f"no {name} in the journal: {term.seen[-300:]!r}"
        term.seen += await read_some(term.master, 0.2) or b""


def assert_terminal_given_back(seen: bytes, master: int, cooked: list) -> None:
    assert seen.rfind(ALT_OFF) > seen.rfind(ALT_ON) > -1, "still on the alternate screen"
    assert seen.rfind(MOUSE_OFF) > seen.rfind(MOUSE_ON) > -1, "mouse tracking left on"
    assert termios.tcgetattr(master) == cooked, "terminal left in raw mode"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
async def test_console_gives_the_terminal_back_on_a_signal(sig):
    master, slave = open_pty()
    cooked = termios.tcgetattr(slave)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "--lab",
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    os.close(slave)
    term = PtyReader(master)
    await term.read_until(b"v-2-VM")  # the lab's system VMs are on screen
    assert MOUSE_ON in term.seen and ALT_ON in term.seen
    os.write(master, b"s")  # a root shell on the selected VM, in a tab
    await wait_for_event("ssh.shell", term)
    started = time.monotonic()
    proc.send_signal(sig)
    rc = await drain(term, proc, 30)
    try:
        assert rc == 128 + sig, term.seen[-500:]
        assert time.monotonic() - started < 20
        assert_terminal_given_back(term.seen, master, cooked)
    finally:
        os.close(master)
    tail = term.seen[term.seen.rfind(ALT_OFF):]
    assert f"cspctl: terminated by {sig.name}".encode() in tail
    assert b"Traceback" not in term.seen
    events = journal()
    assert events[-1]["event"] == "session.end" and events[-1]["signal"] == sig.name
    shells = [e["action"] for e in events if e["event"] == "ssh.shell"]
    assert shells == ["start", "end"], "the shell was not closed"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
async def test_ssh_shell_gives_the_terminal_back_on_a_signal(lab_serve, sig):  # noqa: F811
    master, slave = open_pty()
    cooked = termios.tcgetattr(slave)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "--profile", "lab", "ssh", "v-2-VM",
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True,
    )
    os.close(slave)
    term = PtyReader(master)
    await term.read_until(b"# ")  # the VM's root prompt
    try:
        assert termios.tcgetattr(master) != cooked  # raw while the shell runs
        proc.send_signal(sig)
        rc = await drain(term, proc, 20)
        assert rc == 128 + sig, term.seen[-300:]
        assert termios.tcgetattr(master) == cooked, "terminal left in raw mode"
    finally:
        os.close(master)
    assert f"cspctl: terminated by {sig.name}".encode() in term.seen[-200:]
    assert b"Traceback" not in term.seen
    events = journal()
    shells = [e for e in events if e["event"] == "ssh.shell"]
    assert [e["action"] for e in shells] == ["start", "end"]
    assert Path(shells[0]["cast"]).read_text().endswith("\n")  # recording closed whole
    assert events[-1]["event"] == "session.end" and events[-1]["signal"] == sig.name


def test_diagnose_stopped_mid_run_exits_with_one_line(tmp_path):
    """Finding 14: Ctrl+C (and SIGTERM) during ``diagnose --all`` on a 5,000-VM lab: exit
    128+n, one line, no "Task exception was never retrieved", and the journal still ends."""
    with lab_serve_process(tmp_path, "large"):
        for sig in (signal.SIGINT, signal.SIGTERM):
            before = len(list((Path(os.environ["CSPCTL_STATE_DIR"]) / "sessions").glob("*")))
            proc = subprocess.Popen(
                [sys.executable, "-m", "cspctl", "--profile", "lab", "diagnose", "--all"],
                env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
            try:
                deadline = time.monotonic() + 90
                while len(list((Path(os.environ["CSPCTL_STATE_DIR"]) / "sessions").glob(
                        "*.jsonl"))) <= before or not any(
                        e["event"] == "diag.finding" for e in journal()):
                    assert proc.poll() is None, proc.communicate()
                    assert time.monotonic() < deadline, "diagnose never got going"
                    time.sleep(0.1)
                proc.send_signal(sig)
                out, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            word = "interrupted" if sig == signal.SIGINT else f"terminated by {sig.name}"
            assert (proc.returncode, err) == (128 + sig, f"cspctl: {word}\n")
            assert out == ""
            events = journal()
            assert events[-1]["event"] == "session.end" and events[-1]["signal"] == sig.name


async def hang_up_and_check(argv: tuple[str, ...], console: bool) -> None:
    """The terminal goes away (the operator's own connection dropped): the kernel sends
    SIGHUP, every write fails; cspctl must still close the shell and end the journal."""
    master, slave = open_pty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *argv,
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, preexec_fn=controlling_tty,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    os.close(slave)
    term = PtyReader(master)
    if console:
        await term.read_until(b"v-2-VM")
        os.write(master, b"s")
        await wait_for_event("ssh.shell", term)
    else:
        await term.read_until(b"# ")
    os.close(master)  # hang up
    try:
        rc = await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert rc == 128 + signal.SIGHUP
    events = journal()
    assert [e["action"] for e in events if e["event"] == "ssh.shell"] == ["start", "end"]
    assert events[-1]["event"] == "session.end" and events[-1]["signal"] == "SIGHUP"


async def test_a_real_hangup_still_ends_the_console_session():
    await hang_up_and_check(("--lab",), console=True)


async def test_a_real_hangup_still_ends_the_ssh_session(lab_serve):  # noqa: F811
    await hang_up_and_check(("--profile", "lab", "ssh", "v-2-VM"), console=False)


async def test_sigterm_during_a_host_key_question_does_not_wait_for_enter(cloud):
    """A blocking read of the operator's answer must not hold the exit back."""
    cfg = Path(os.environ["CSPCTL_CONFIG_DIR"]) / "config.toml"
    cfg.write_text(cfg.read_text().replace('host_key_policy = "accept-new"',
                                           'host_key_policy = "ask"'))
    master, slave = open_pty()
    cooked = termios.tcgetattr(slave)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "--profile", "t", "ssh", "v-1-VM", "--", "true",
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, preexec_fn=controlling_tty,
    )
    os.close(slave)
    term = PtyReader(master)
    await term.read_until(b"[y/N]")
    proc.send_signal(signal.SIGTERM)
    try:
        rc = await drain(term, proc, 10)
        assert termios.tcgetattr(master) == cooked
    finally:
        os.close(master)
    assert rc == 143 and b"cspctl: terminated by SIGTERM" in term.seen
    events = journal()
    assert events[-1]["event"] == "session.end" and events[-1]["signal"] == "SIGTERM"


async def test_sigterm_stops_a_remote_command_and_the_journal_says_so(cloud):
    """``ssh VM -- CMD`` (headless): one line, 143, the command journaled as stopped."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", "--profile", "t", "ssh", "v-1-VM", "--",
        "echo started; sleep 60",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"started\n"
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert (proc.returncode, out, err) == (143, b"", b"cspctl: terminated by SIGTERM\n")
    events = journal()
    commands = [e for e in events if e["event"] == "ssh.command"]
    assert [c["outcome"] for c in commands] == ["stopped by SIGTERM"]
    assert events[-1]["event"] == "session.end" and events[-1]["signal"] == "SIGTERM"


async def test_sigterm_during_a_repair_question_changes_nothing_and_ends_the_session():
    """A repair waiting for "Run this step? [y/N]" on the terminal: SIGTERM ends it at once,
    nothing in the lab changes, the journal ends."""
    from cspctl.lab.snapshot import state
    from tests.test_repair_cli import lab

    async with lab() as running:
        before = state(running.world)
        master, slave = open_pty()
        cooked = termios.tcgetattr(slave)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cspctl", "--profile", "lab", "repair", "reboot", "v-2-VM",
            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, preexec_fn=controlling_tty)
        os.close(slave)
        term = PtyReader(master)
        await term.read_until(b"[y/N]")
        proc.send_signal(signal.SIGTERM)
        try:
            rc = await drain(term, proc, 10)
            assert termios.tcgetattr(master) == cooked
        finally:
            os.close(master)
        assert rc == 143 and b"cspctl: terminated by SIGTERM" in term.seen, term.seen[-300:]
        assert state(running.world) == before
    events = journal()
    assert events[-1]["event"] == "session.end" and events[-1]["signal"] == "SIGTERM"
