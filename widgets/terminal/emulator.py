"""Bytes in, styled lines out: the terminal's model layer (pyte, no Textual).

``feed`` only queues bytes; ``process`` parses them (within a time budget or a byte limit),
so a caller can spread a multi-megabyte burst over many steps, on the UI thread or on a
worker thread holding a lock (see :class:`widgets.terminal.pump.ParsePump`).

A sequence pyte cannot handle (it raises on some malformed input) is dropped and counted in
``errors``; the remote side never brings the console down.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from pyte.screens import Char
from rich.segment import Segment
from rich.style import Style

from widgets.terminal.colors import char_style
from widgets.terminal.screen import Line, TerminalScreen
from widgets.terminal.stream import FastByteStream

CHUNK = 2048


class Emulator:
    """A pyte ByteStream feeding a :class:`TerminalScreen`, with a queue of unparsed bytes."""

    def __init__(self, columns: int = 80, lines: int = 24, *, scrollback: int = 5000,
                 on_reply: Callable[[bytes], None] | None = None) -> None:
        self._on_reply = on_reply
        self.screen = TerminalScreen(columns, lines, scrollback=scrollback,
                                     on_reply=self._reply)
        self.stream = FastByteStream(self.screen)
        self._pending: deque[bytes] = deque()
        self.pending_bytes = 0
        self.max_pending = 0
        self.fed_bytes = 0
        self.errors = 0

    def _reply(self, text: str) -> None:
        if self._on_reply is not None:
            self._on_reply(text.encode())

    # -- input ----------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Queue bytes from the remote side (parsed by :meth:`process`)."""
        if data:
            self._pending.append(data)
            self.pending_bytes += len(data)
            self.max_pending = max(self.max_pending, self.pending_bytes)

    def process(self, budget: float | None = None, limit: int | None = None) -> int:
        """Parse queued bytes, stopping after ``budget`` seconds or about ``limit`` bytes
        (None: everything).

        Returns how many bytes were parsed. A UTF-8 character split across chunks survives
        (pyte's ByteStream decodes incrementally).
        """
        deadline = None if budget is None else time.perf_counter() + budget
        done = 0
        while self._pending:
            data = self._pending.popleft()
            if len(data) > CHUNK:
                self._pending.appendleft(data[CHUNK:])
                data = data[:CHUNK]
            try:
                self.stream.feed(data)
            except Exception:  # a safety net: the stream already drops bad sequences alone
                self.errors += 1
            done += len(data)
            self.pending_bytes -= len(data)
            if deadline is not None and time.perf_counter() >= deadline:
                break
            if limit is not None and done >= limit:
                break
        self.fed_bytes += done
        return done

    @property
    def malformed(self) -> int:
        """Sequences dropped because pyte could not handle them."""
        return self.errors + self.stream.errors

    # -- geometry -------------------------------------------------------------------------
    @property
    def columns(self) -> int:
        return self.screen.columns

    @property
    def lines(self) -> int:
        return self.screen.lines

    def resize(self, columns: int, lines: int) -> bool:
        """Resize the screen; True when the size changed."""
        columns, lines = max(columns, 1), max(lines, 1)
        if (columns, lines) == (self.screen.columns, self.screen.lines):
            return False
        self.screen.resize(lines, columns)
        return True

    # -- output ---------------------------------------------------------------------------
    def line_at(self, y: int, scroll: int = 0) -> Line:
        """Row ``y`` of the view, ``scroll`` lines back into history (0: the live screen)."""
        if scroll:
            history = self.screen.history
            if y < scroll:
                index = len(history) - scroll + y
                return history[index] if 0 <= index < len(history) else {}
            y -= scroll
        return self.screen.buffer[y]

    def text_at(self, y: int, scroll: int = 0) -> str:
        """Plain text of a view row (trailing blanks stripped)."""
        line = self.line_at(y, scroll)
        return "".join(line[x].data if x in line else " "
                       for x in range(self.screen.columns)).rstrip()

    def display(self) -> list[str]:
        """The live screen as plain text, one string per row (trailing blanks stripped)."""
        return [self.text_at(y) for y in range(self.screen.lines)]

    def history_text(self) -> list[str]:
        """Scrollback lines as plain text, oldest first."""
        cols = self.screen.columns
        return ["".join(line[x].data if x in line else " " for x in range(cols)).rstrip()
                for line in self.screen.history]

    def segments(self, line: Line, base: Style, cursor_x: int | None = None) -> list[Segment]:
        """A row as Rich segments: runs of equal attributes, the cursor cell reversed."""
        cols = self.screen.columns
        default = self.screen.default_char
        out: list[Segment] = []
        text: list[str] = []
        current: tuple = ()
        for x in range(cols):
            char: Char = line.get(x, default)
            if not char.data:  # the stub after a wide character
                continue
            attrs = tuple(char[1:])
            if x == cursor_x:
                attrs = (*attrs[:6], not attrs[6], attrs[7])
            if attrs != current:
                if text:
                    out.append(Segment("".join(text), base + char_style(*current)))
                text, current = [], attrs
            text.append(char.data)
        if text:
            out.append(Segment("".join(text), base + char_style(*current)))
        return out
