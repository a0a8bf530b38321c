"""A pseudo-terminal for CLI tests: open one, run ``cspctl`` on it as its controlling
terminal, read what it shows until a token, type into it."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import sys
import termios

from tests.cli_helpers import ROOT


class PtyReader:
    """Collects what a process writes to a pty, waiting (20 s per read) for a token."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.seen = b""

    async def read_until(self, token: bytes) -> None:
        loop = asyncio.get_running_loop()
        while token not in self.seen:
            try:
                chunk = await asyncio.wait_for(
                    loop.run_in_executor(None, os.read, self.master, 4096), 20
                )
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk


def open_pty(cols: int = 200, rows: int = 50) -> tuple[int, int]:
    """A pty wide enough that typed lines never wrap (a wrap splits the echo)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


def controlling_tty() -> None:
    """``preexec_fn``: the pty on stdin becomes the child's controlling terminal (``/dev/tty``
    opens; closing the master hangs it up)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def cspctl_on_tty(*argv: str, env: dict[str, str] | None = None,
                        slave_of: tuple[int, int] | None = None,
                        ) -> tuple[asyncio.subprocess.Process, PtyReader]:
    """``python -m cspctl ARGV`` with a pty (``slave_of``, or a new one) as its controlling
    terminal; the process and a reader of its master (the test closes the master)."""
    master, slave = slave_of or pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *argv,
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, preexec_fn=controlling_tty,
        env=env,
    )
    os.close(slave)
    return proc, PtyReader(master)


async def type_slowly(master: int, term: PtyReader, text: str) -> None:
    """Type one character at a time, each after the previous one's echo came back."""
    loop = asyncio.get_running_loop()
    for ch in text:
        before = len(term.seen)
        os.write(master, ch.encode())
        while len(term.seen) == before:
            chunk = await asyncio.wait_for(loop.run_in_executor(None, os.read, master, 4096), 20)
            if not chunk:
                raise AssertionError(f"terminal closed while typing: {term.seen[-300:]!r}")
            term.seen += chunk
