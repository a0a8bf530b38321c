"""Bridge a PTY session to the operator's real terminal while the app is suspended.

For anything the pane cannot render: raw mode on stdin, bytes both ways, ``ctrl+]`` returns
to the console (like telnet). POSIX only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import Any

ESCAPE = b"\x1d"  # ctrl+]


async def bridge(
    session: Any, *, stdin_fd: int | None = None, stdout_fd: int | None = None
) -> None:
    """Pump bytes between the terminal and ``session`` until EOF or ctrl+]."""
    import termios
    import tty

    fd_in = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    fd_out = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    loop = asyncio.get_running_loop()
    keys: asyncio.Queue[bytes] = asyncio.Queue()
    saved = termios.tcgetattr(fd_in) if os.isatty(fd_in) else None

    def readable() -> None:
        try:
            keys.put_nowait(os.read(fd_in, 4096))
        except OSError:
            keys.put_nowait(b"")

    async def output() -> None:
        while data := await session.read():
            os.write(fd_out, data)

    if saved is not None:
        tty.setraw(fd_in)
    loop.add_reader(fd_in, readable)
    pump = asyncio.create_task(output())
    try:
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(fd_out)
            session.resize(size.columns, size.lines)
        while not pump.done():
            get = asyncio.create_task(keys.get())
            done, _ = await asyncio.wait({get, pump}, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                break
            data = get.result()
            if not data:
                break
            if ESCAPE in data:
                before = data.split(ESCAPE, 1)[0]
                if before:
                    session.write(before)
                break
            session.write(data)
    finally:
        loop.remove_reader(fd_in)
        pump.cancel()
        with contextlib.suppress(BaseException):
            await pump
        if saved is not None:
            termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
        os.write(fd_out, b"\r\n[cspctl: back to the console]\r\n")
