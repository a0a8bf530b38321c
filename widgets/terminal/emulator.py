"""Bytes in, styled lines out: the terminal's model layer (pyte, no Textual).

``feed`` only queues bytes; ``step`` parses one chunk of them and ``process`` several
(within a time budget or a byte limit), so a caller can spread a multi-megabyte burst over
many steps, on the UI thread or on a worker thread holding a lock (see
:class:`widgets.terminal.pump.ParsePump`). A chunk joins queued reads and is sized to take
about :data:`CHUNK_TIME` of CPU: large for plain lines (the bulk lane gains most from long
runs), small for output pyte parses one character at a time.

A sequence pyte cannot handle (it raises on some malformed input) is dropped and counted in
``errors``; the remote side never brings the console down.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from itertools import groupby, repeat
from operator import itemgetter

from rich.segment import Segment
from rich.style import Style

from widgets.terminal.colors import char_style
from widgets.terminal.screen import Line, TerminalScreen
from widgets.terminal.stream import FastByteStream

_ATTRS = itemgetter(1, 2, 3, 4, 5, 6, 7, 8)  # a cell's attributes (all but its text)
_DATA = itemgetter(0)
CHUNK_MIN, CHUNK_MAX = 1024, 64 * 1024
CHUNK_TIME = 0.004  # CPU seconds one step aims at (a frame may wait that long for the screen)


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
        self.chunk = 4096

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

    def step(self) -> int:
        """Parse one chunk of the queued bytes; returns how many (0: nothing queued).

        A UTF-8 character split across reads survives (the stream decodes incrementally).
        """
        if not self._pending:
            return 0
        data = self._take(self.chunk)
        started = time.thread_time()
        try:
            self.stream.feed(data)
        except Exception:  # a safety net: the stream already drops bad sequences alone
            self.errors += 1
        spent = time.thread_time() - started
        if spent < CHUNK_TIME / 2 and len(data) >= self.chunk:
            self.chunk = min(self.chunk * 2, CHUNK_MAX)
        elif spent > CHUNK_TIME * 2:
            self.chunk = max(self.chunk // 2, CHUNK_MIN)
        self.pending_bytes -= len(data)
        self.fed_bytes += len(data)
        return len(data)

    def _take(self, size: int) -> bytes:
        """Up to ``size`` queued bytes, joining reads."""
        pieces: list[bytes] = []
        total = 0
        pending = self._pending
        while pending and total < size:
            data = pending.popleft()
            room = size - total
            if len(data) > room:
                pending.appendleft(data[room:])
                data = data[:room]
            pieces.append(data)
            total += len(data)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def process(self, budget: float | None = None, limit: int | None = None) -> int:
        """Parse queued bytes, stopping after ``budget`` seconds or about ``limit`` bytes
        (None: everything). Returns how many bytes were parsed."""
        deadline = None if budget is None else time.perf_counter() + budget
        done = 0
        while self._pending:
            done += self.step()
            if deadline is not None and time.perf_counter() >= deadline:
                break
            if limit is not None and done >= limit:
                break
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
        columns = self.screen.columns
        cells = list(map(line.get, range(columns), repeat(self.screen.default_char, columns)))
        if cursor_x is not None and 0 <= cursor_x < columns:
            cell = cells[cursor_x]
            cells[cursor_x] = cell._replace(reverse=not cell.reverse)
        out: list[Segment] = []
        for attrs, run in groupby(cells, _ATTRS):
            text = "".join(map(_DATA, run))  # the stub after a wide character adds nothing
            if text:
                out.append(Segment(text, base + char_style(*attrs)))
        return out
