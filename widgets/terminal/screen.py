"""The terminal model: a pyte screen with scrollback and the alternate screen.

pyte implements the VT100/VT220 core but not xterm's alternate screen (private modes 47, 1047
and 1049), which full-screen programs (top, less, vi) switch to and back from. This subclass
keeps a second buffer for them, and a bounded scrollback of lines scrolled off the top of the
main screen. Nothing here imports Textual.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict, deque
from collections.abc import Callable

import pyte
from pyte import charsets, modes
from pyte.screens import Char, Margins, StaticDefaultDict
from wcwidth import wcwidth

ALT_MODES = frozenset({47, 1047, 1049})
BRACKETED_PASTE = 2004 << 5
APP_CURSOR_KEYS = 1 << 5

Line = dict[int, Char]
_ASCII_RUNS = re.compile(r"([\x20-\x7e]+)")
_CHAR_TABLES_MAX = 256  # attribute sets whose cells are kept ready
_TABLE_MAX = 4096  # characters kept ready per attribute set


class TerminalScreen(pyte.Screen):
    """A pyte Screen with scrollback, the alternate screen and a reply hook.

    ``on_reply`` receives what the terminal answers to the remote side (device status and
    attribute reports); wire it to the PTY's write.
    """

    def __init__(self, columns: int, lines: int, *, scrollback: int = 5000,
                 on_reply: Callable[[str], None] | None = None) -> None:
        self.history: deque[Line] = deque(maxlen=scrollback)
        self.on_reply = on_reply
        self.in_alternate = False
        self._main_buffer: dict[int, StaticDefaultDict[int, Char]] | None = None
        self._main_cursor: pyte.screens.Cursor | None = None
        self._main_margins: Margins | None = None
        self.history_version = 0
        self._char_tables: dict[Char, dict[str, Char]] = {}
        super().__init__(columns, lines)

    # -- drawing ------------------------------------------------------------------------
    def draw(self, data: str) -> None:
        """pyte's ``draw``, with a fast path for what most output is: narrow printable
        characters in the default character set, replace mode. Cells are shared immutable
        ``Char`` objects from a per-attribute table, written a line's worth at a time (each
        character's width is looked up once per table, not per cell); anything else (wide,
        combining, line drawing, insert mode) goes to pyte's own path."""
        if self.charset or self.g0_charset is not charsets.LAT1_MAP or modes.IRM in self.mode:
            super().draw(data)
            return
        table = self._cells(self.cursor.attrs)
        if (data.isascii() and data.isprintable()) or self._narrow(table, data):
            self._draw_cells(data, table)
            return
        for run in _ASCII_RUNS.split(data):  # ASCII runs fast, the rest the pyte way
            if run.isascii() and run.isprintable():
                self._draw_cells(run, table)
            elif run:
                super().draw(run)

    def _cells(self, attrs: Char) -> dict[str, Char]:
        table = self._char_tables.get(attrs)
        if table is None:
            if len(self._char_tables) >= _CHAR_TABLES_MAX:
                self._char_tables.clear()
            table = self._char_tables[attrs] = {
                chr(c): attrs._replace(data=chr(c)) for c in range(0x20, 0x7F)}
        return table

    def _narrow(self, table: dict[str, Char], data: str) -> bool:
        """True when every character of ``data`` takes one cell (learnt into ``table``)."""
        new = set(data).difference(table)
        if any(wcwidth(ch) != 1 for ch in new) or len(table) + len(new) > _TABLE_MAX:
            return False
        attrs = self.cursor.attrs
        for ch in new:
            table[ch] = attrs._replace(data=ch)
        return True

    def _draw_cells(self, data: str, table: dict[str, Char]) -> None:
        cursor = self.cursor
        cell = table.__getitem__
        columns = self.columns
        wrap = modes.DECAWM in self.mode
        start, end = 0, len(data)
        while start < end:
            if cursor.x >= columns:
                if wrap:
                    self.dirty.add(cursor.y)
                    self.carriage_return()
                    self.linefeed()
                else:  # no wrap: every further character lands on the last column
                    self.buffer[cursor.y][columns - 1] = cell(data[end - 1])
                    break
            x = cursor.x
            take = min(columns - x, end - start)
            self.buffer[cursor.y].update(zip(range(x, x + take),
                                             map(cell, data[start:start + take]), strict=True))
            start += take
            cursor.x = x + take
        self.dirty.add(cursor.y)

    # -- scrollback ---------------------------------------------------------------------
    def index(self) -> None:
        """Scroll as pyte does, keeping the line leaving the main screen in history."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and not self.in_alternate:
            self.history.append(self.buffer[top])
            self.history_version += 1
        super().index()

    def erase_in_display(self, how: int = 0, *args: object, **kwargs: object) -> None:
        super().erase_in_display(how, *args, **kwargs)
        if how == 3:  # "clear scrollback", as `clear` sends
            self.history.clear()
            self.history_version += 1

    # -- the alternate screen ---------------------------------------------------------------
    def set_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private"):
            alt = [m for m in modes if m in ALT_MODES]
            if alt:
                self._enter_alternate(save_cursor=1049 in alt)
                modes = tuple(m for m in modes if m not in ALT_MODES)
        if modes:
            super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private"):
            alt = [m for m in modes if m in ALT_MODES]
            if alt:
                self._leave_alternate(restore_cursor=1049 in alt)
                modes = tuple(m for m in modes if m not in ALT_MODES)
        if modes:
            super().reset_mode(*modes, **kwargs)

    def _enter_alternate(self, *, save_cursor: bool) -> None:
        if self.in_alternate:
            return
        self._main_buffer = self.buffer
        self._main_cursor = copy.copy(self.cursor) if save_cursor else None
        self._main_margins = self.margins
        self.buffer = self._new_buffer()
        self.in_alternate = True
        self.margins = None
        self.dirty.update(range(self.lines))

    def _leave_alternate(self, *, restore_cursor: bool) -> None:
        if not self.in_alternate or self._main_buffer is None:
            return
        self.buffer = self._main_buffer
        self._main_buffer = None
        self.in_alternate = False
        self.margins = self._main_margins
        if restore_cursor and self._main_cursor is not None:
            self.cursor = self._main_cursor
            self.ensure_hbounds()
            self.ensure_vbounds()
        self._main_cursor = None
        self.dirty.update(range(self.lines))

    def _new_buffer(self) -> dict[int, StaticDefaultDict[int, Char]]:
        """An empty buffer built like pyte's (lines default to blank default chars)."""
        return defaultdict(self.buffer.default_factory)  # type: ignore[attr-defined]

    # -- sizes and modes ----------------------------------------------------------------
    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Resize keeping the lines around the cursor: lines leaving the top go to history."""
        lines = lines or self.lines
        columns = columns or self.columns
        if lines == self.lines and columns == self.columns:
            return
        if lines < self.lines:
            excess = max(0, self.cursor.y - (lines - 1))
            for _ in range(excess):
                if not self.in_alternate:
                    self.history.append(self.buffer[0])
                for y in range(self.lines - 1):
                    self.buffer[y] = self.buffer[y + 1]
                self.buffer.pop(self.lines - 1, None)
            self.cursor.y -= excess
            for y in range(lines, self.lines):
                self.buffer.pop(y, None)
            if self._main_buffer is not None:
                for y in range(lines, self.lines):
                    self._main_buffer.pop(y, None)
            self.history_version += 1
        if columns < self.columns:
            for buf in (self.buffer, self._main_buffer or {}):
                for line in buf.values():
                    for x in [x for x in line if x >= columns]:
                        line.pop(x, None)
        self.lines, self.columns = lines, columns
        self.tabstops = set(range(8, columns, 8))
        self.dirty.update(range(lines))
        self.set_margins()
        self.ensure_hbounds()
        self.ensure_vbounds()

    @property
    def bracketed_paste(self) -> bool:
        """The remote program asked for bracketed paste (``CSI ? 2004 h``)."""
        return BRACKETED_PASTE in self.mode

    @property
    def application_cursor_keys(self) -> bool:
        """DECCKM: arrows send ``ESC O x`` instead of ``ESC [ x``."""
        return APP_CURSOR_KEYS in self.mode

    def write_process_input(self, data: str) -> None:
        """Answers to the remote side (DSR/DA) go back down the PTY."""
        if self.on_reply is not None:
            self.on_reply(data)
