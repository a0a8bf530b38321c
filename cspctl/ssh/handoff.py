"""Hand a system VM's shell to the operator's own terminal (``cspctl ssh VM``, console ctrl+t).

The terminal is put in raw mode, its size follows SIGWINCH, every byte goes both ways
unchanged, and the terminal's modes are restored however the shell ends. The caller owns the
terminal meanwhile (the console suspends its screen first). Nothing here knows about a CLI or
a UI: both front ends call :func:`interactive_shell` (or :func:`hand_off`, which adds the two
lines telling the operator where they are).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from typing import TYPE_CHECKING, Protocol

from cspctl.errors import CspctlError
from cspctl.text import safe_line

if TYPE_CHECKING:
    from cspctl.ssh.route import Route
    from cspctl.ssh.shell import ShellSession

DEFAULT_TERM = "xterm-256color"
"""TERM for the remote PTY when the operator's own environment has none."""


class OpensShells(Protocol):
    """What a hand-off needs of the session's SSH pool (:class:`~cspctl.ssh.pool.SshPool`)."""

    async def open_shell(self, route: Route, *, term: str = ..., cols: int = ...,
                         rows: int = ...) -> ShellSession: ...


async def interactive_shell(pool: OpensShells, route: Route, *, fd_in: int | None = None,
                            fd_out: int | None = None) -> int:
    """A PTY shell in the operator's own terminal: raw mode, SIGWINCH -> resize; returns the
    remote exit status. ``fd_in``/``fd_out``: the terminal (default: stdin and stdout).

    Raises :class:`~cspctl.errors.CspctlError` when the shell ends without an exit status.
    """
    import termios
    import tty

    own_size = fd_out
    fd_in = sys.stdin.fileno() if fd_in is None else fd_in
    fd_out = sys.stdout.fileno() if fd_out is None else fd_out
    is_tty = os.isatty(fd_in)
    cols, rows = _size(own_size)
    term = os.environ.get("TERM") or DEFAULT_TERM
    shell = await pool.open_shell(route, term=term, cols=cols, rows=rows)
    loop = asyncio.get_running_loop()
    saved = termios.tcgetattr(fd_in) if is_tty else None

    def on_input() -> None:
        try:
            data = os.read(fd_in, 4096)
        except OSError:
            data = b""
        if data:
            shell.write(data)
        else:
            loop.remove_reader(fd_in)
            shell.write_eof()

    def on_resize() -> None:
        shell.resize(*_size(own_size))

    try:
        if is_tty:
            tty.setraw(fd_in)
        loop.add_reader(fd_in, on_input)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGWINCH, on_resize)
        while data := await shell.read():
            view = memoryview(data)
            while view:
                written = os.write(fd_out, view)
                view = view[written:]
    finally:
        loop.remove_reader(fd_in)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGWINCH)
        if saved is not None:  # the terminal may be gone already (SIGHUP): go on closing
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
        await shell.close()
    if shell.exit_status is None:
        raise CspctlError(f"shell on {route.vm_name or route.target.host} ended without an exit "
                          "status (connection lost?)")
    return int(shell.exit_status)


async def hand_off(pool: OpensShells, route: Route, vm_name: str, *, fd_in: int | None = None,
                   fd_out: int | None = None) -> int:
    """:func:`interactive_shell` framed by a line before (where the shell goes, how to come
    back) and one after (its exit status), for a front end that gave up its screen."""
    out = sys.stdout.fileno() if fd_out is None else fd_out
    _say(out, f"cspctl: shell on {vm_name} ({route.summary()}); exit returns to the console")
    status = await interactive_shell(pool, route, fd_in=fd_in, fd_out=fd_out)
    _say(out, f"cspctl: shell on {vm_name} ended (exit {status})")
    return status


def _say(fd: int, text: str) -> None:
    """One line of ours on the terminal (names from the cloud: controls made visible)."""
    data = (safe_line(text) + "\n").encode("utf-8", "replace")
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _size(fd: int | None) -> tuple[int, int]:
    """(columns, lines) of the terminal at ``fd``; None: ours ($COLUMNS/$LINES first)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(fd)
            return size.columns, size.lines
    size = shutil.get_terminal_size()
    return size.columns, size.lines
