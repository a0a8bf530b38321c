"""The bulk lane: runs of plain output lines turned into rows without drawing them cell by cell.

A burst (a log, ``seq``, ``journalctl``) is mostly lines of text and colour changes, each
ended by CR LF, arriving while the cursor sits on the blank bottom row. Drawing them through
pyte writes every cell of every line, only for all but the last screenful to scroll off into
a history that keeps the last few thousand. :class:`Rows` instead *packs* each line (its text
with its SGR sequences, the attributes at its start, where each wrapped row starts), which
costs a few dictionary look-ups per line; :meth:`Rows.build` turns a packed row into the
cells pyte would have drawn, when the row is shown (the screen's rows, scrollback being read).

Everything here follows pyte's own rules: SGR transitions come from pyte's
``select_graphic_rendition`` (cached per attribute set and parameter string), widths from the
same ``wcwidth``, and a line takes ``ceil(width / columns)`` rows as with auto-wrap. A line
with a character that is not one cell wide (wide, combining, unprintable) is not taken: the
caller leaves it to pyte.
"""

from __future__ import annotations

import re

import pyte
from pyte.screens import Char, StaticDefaultDict
from wcwidth import wcwidth

from widgets.terminal.history import Line, PackedRow

RUN = re.compile(r"(?:(?:[^\x00-\x1f\x7f\x1b\x9b\x9d]++|\x1b\[[0-9;]*+m)*+\r\n)+")
"""Whole lines of text and SGR sequences, each ended by CR LF (what the bulk lane takes)."""
_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_SAFE = "\r\n\x1b\x20-\x7e"  # the characters of a run that are known to be narrow (or no cell)
_KNOWN_MAX = 2048  # non-ASCII characters remembered as one cell wide
_CACHE_MAX = 4096  # SGR transitions and cell tables kept
DEFAULT_CHAR = Char(data=" ", fg="default", bg="default", reverse=False)
"""pyte's blank cell while reverse-screen mode (DECSCNM) is off (the bulk lane's condition)."""


class Cells(dict[str, Char]):
    """The cells of one attribute set by character: shared immutable ``Char`` objects."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: Char) -> None:
        super().__init__()
        self.attrs = attrs

    def __missing__(self, char: str) -> Char:
        cell = self.attrs._replace(data=char)
        if len(self) < _CACHE_MAX:
            self[char] = cell
        return cell


class Rows:
    """Packs output lines into rows and builds rows into pyte lines (see the module doc)."""

    def __init__(self) -> None:
        self._pyte = pyte.Screen(1, 1)  # runs pyte's own SGR logic on its cursor
        self._after: dict[tuple[Char, str], Char] = {}
        self._tables: dict[Char, Cells] = {}
        self._known: set[str] = set()
        self._unknown = re.compile(f"[^{_SAFE}]")

    # -- attributes and widths --------------------------------------------------------------
    def after(self, attrs: Char, params: str) -> Char:
        """The cursor attributes after ``ESC [ params m``, as pyte computes them."""
        key = (attrs, params)
        found = self._after.get(key)
        if found is None:
            screen = self._pyte
            screen.cursor.attrs = attrs
            screen.select_graphic_rendition(*(min(int(p or 0), 9999) for p in params.split(";")))
            found = screen.cursor.attrs
            if len(self._after) >= _CACHE_MAX:
                self._after.clear()
            self._after[key] = found
        return found

    def cells(self, attrs: Char) -> Cells:
        table = self._tables.get(attrs)
        if table is None:
            if len(self._tables) >= _CACHE_MAX:
                self._tables.clear()
            table = self._tables[attrs] = Cells(attrs)
        return table

    def narrow_prefix(self, data: str, start: int, end: int) -> int:
        """Where the first character of ``data[start:end]`` that is not one cell wide is
        (``end`` when there is none); CR, LF and the ESC of a colour sequence pass."""
        while True:
            found = self._unknown.search(data, start, end)
            if found is None:
                return end
            char = found.group()
            if wcwidth(char) != 1 or len(self._known) >= _KNOWN_MAX:
                return found.start()
            self._known.add(char)
            self._unknown = re.compile(f"[^{_SAFE}{''.join(map(re.escape, self._known))}]")
            start = found.start()

    # -- packing and building ---------------------------------------------------------------
    def pack(self, lines: list[str], attrs: Char, columns: int) -> tuple[list[PackedRow], Char]:
        """The rows ``lines`` take at ``columns`` (auto-wrap) and the attributes after them.
        Each line holds only narrow text and SGR sequences (see :data:`RUN`)."""
        rows: list[PackedRow] = []
        add = rows.append
        find = _SGR.findall
        known = self._after
        for line in lines:
            start = attrs
            if "\x1b" in line:
                params = find(line)
                width = len(line) - 3 * len(params) - sum(map(len, params))
                for param in params:
                    found = known.get((attrs, param))
                    attrs = found if found is not None else self.after(attrs, param)
            else:
                width = len(line)
            if width <= columns:
                add((line, start, 0, columns))
            else:
                for first in range(0, width, columns):
                    add((line, start, first, columns))
        return rows, attrs

    def build(self, row: PackedRow) -> Line:
        """A packed row as the pyte line drawing it on a blank row would leave."""
        line, attrs, first, width = row
        out: Line = StaticDefaultDict(DEFAULT_CHAR)
        if "\x1b" not in line:
            out.update(enumerate(map(self.cells(attrs).__getitem__,
                                     line[first:first + width])))
            return out
        cells: list[Char] = []
        for index, part in enumerate(_SGR.split(line)):  # text, params, text, ...
            if index & 1:
                attrs = self.after(attrs, part)
            elif part:
                cells.extend(map(self.cells(attrs).__getitem__, part))
        out.update(enumerate(cells[first:first + width]))
        return out
