"""What a remote command gave back: its result, its output kept within bounds, as journalled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncssh

from cspctl.ssh.mask import mask_secrets

JOURNAL_OUTPUT_LIMIT = 4096
MAX_COMMAND_OUTPUT = 2 * 2**20
"""Characters of a command's stdout (and of its stderr) kept in memory: the first and last
half, with a marker between. Everything is still read (and shown live via ``on_output``)."""
OutputCallback = Callable[[str, str], None]
"""``on_output(stream, text)``: live output of a command ("stdout" or "stderr")."""


@dataclass(frozen=True)
class CommandResult:
    """What one remote command did."""

    command: str
    exit_status: int
    stdout: str
    stderr: str
    duration: float
    started: float | None = None
    """``time.monotonic()`` when the exchange began (the command ran within ``duration``
    after it): a batched probe's result may be read a while after it arrived."""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def journal_text(text: str, limit: int = JOURNAL_OUTPUT_LIMIT) -> str:
    """Output as journaled: secrets masked, at most ``limit`` characters."""
    text = mask_secrets(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not journaled]"



async def collect(
    proc: asyncssh.SSHClientProcess,  # type: ignore[type-arg]
    on_output: OutputCallback | None,
) -> tuple[str, str]:
    """Read stdout and stderr to EOF (passing chunks to ``on_output``), wait for the close."""

    async def pump(reader: Any, name: str, buf: Capped) -> None:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf.add(chunk)
            if on_output is not None:
                on_output(name, chunk)

    out, err = Capped(MAX_COMMAND_OUTPUT), Capped(MAX_COMMAND_OUTPUT)
    await asyncio.gather(pump(proc.stdout, "stdout", out), pump(proc.stderr, "stderr", err))
    await proc.wait_closed()
    return out.text(), err.text()


class Capped:
    """Output kept within ``limit`` characters: its head and its newest tail, and how much
    was dropped between them."""

    def __init__(self, limit: int) -> None:
        self.half = limit // 2
        self.head = ""
        self.tail = ""
        self.dropped = 0

    def add(self, chunk: str) -> None:
        if len(self.head) < self.half:
            room = self.half - len(self.head)
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        if len(self.tail) > self.half:
            cut = len(self.tail) - self.half
            self.dropped += cut
            self.tail = self.tail[cut:]

    def text(self) -> str:
        if not self.dropped:
            return self.head + self.tail
        return f"{self.head}\n…[{self.dropped} characters of output not kept]\n{self.tail}"


def signal_number(name: str) -> int:
    import signal

    try:
        return int(signal.Signals[f"SIG{name}"])
    except KeyError:
        return 0

