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
same ``wcwidth``, and a line takes ``ceil(width / columns)`` rows as with auto-wrap. Lines
with tabs, erase-in-line or two-cell characters are laid out at once (:meth:`Rows.layout`,
still without pyte's parser). A line with a character neither one nor two cells wide
(combining, unprintable) is not taken: the caller leaves it to pyte.
"""

from __future__ import annotations

import bisect
import re
from itertools import repeat

import pyte
from pyte.screens import Char, StaticDefaultDict
from wcwidth import wcwidth

from widgets.terminal.history import Line, PackedRow

RUN = re.compile(
    r"(?:(?:[^\x00-\x1f\x7f\x1b\x9b\x9d]++|\x1b\[[0-9;]*+m|\x1b\[[012]?K|\t)*+\r\n)+")
"""Whole lines of text, SGR, erase-in-line and tabs, each ended by CR LF (the bulk lane's)."""
_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_EL = re.compile(r"\x1b\[[012]?K")
_TOKENS = re.compile(r"\x1b\[([0-9;]*)m|\x1b\[([012]?)K|(\t)")
_SAFE = "\r\n\t\x1b\x20-\x7e"  # characters of a run known to be narrow (or not drawn)
_KNOWN_MAX = 2048  # non-ASCII characters remembered as one or two cells wide
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
        self._known: set[str] = set()  # non-ASCII characters one or two cells wide
        self._wide: set[str] = set()  # those two cells wide
        self._wide_chars: re.Pattern[str] | None = None
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

    def drawable_prefix(self, data: str, start: int, end: int) -> tuple[int, bool]:
        """Where the first character of ``data[start:end]`` that is neither one nor two
        cells wide is (``end`` when there is none; CR, LF, tab and the ESC of a sequence
        pass), and whether a two-cell character comes before it."""
        first = start
        while True:
            found = self._unknown.search(data, start, end)
            if found is None:
                break
            char = found.group()
            width = wcwidth(char)
            if width not in (1, 2) or len(self._known) >= _KNOWN_MAX:
                end = found.start()
                break
            self._known.add(char)
            if width == 2:
                self._wide.add(char)
                self._wide_chars = re.compile(f"[{''.join(map(re.escape, self._wide))}]")
            self._unknown = re.compile(f"[^{_SAFE}{''.join(map(re.escape, self._known))}]")
            start = found.start()
        pattern = self._wide_chars
        return end, pattern is not None and pattern.search(data, first, end) is not None

    # -- packing and building ---------------------------------------------------------------
    def pack(self, lines: list[str], attrs: Char, columns: int, tabstops: list[int],
             wide: bool = False) -> tuple[list[PackedRow | Line], Char]:
        """The rows ``lines`` take at ``columns`` (auto-wrap) and the attributes after them.
        Each line holds only text one or two cells wide, SGR, erase-in-line and tabs (see
        :data:`RUN`; ``wide``: some two-cell characters among them); a line with a tab, an
        erase or a wide character is laid out now (:meth:`layout`), the others packed."""
        rows: list[PackedRow | Line] = []
        add = rows.append
        find = _SGR.findall
        known = self._after
        wide_chars = self._wide_chars.search if wide and self._wide_chars is not None else None
        for line in lines:
            start = attrs
            if "\t" in line or ("\x1b" in line and _EL.search(line)) or (
                    wide_chars is not None and wide_chars(line)):
                built, attrs = self.layout(line, attrs, columns, tabstops)
                rows.extend(built)
                continue
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

    def layout(self, line: str, attrs: Char, columns: int,
               tabstops: list[int]) -> tuple[list[Line], Char]:
        """Draw one line the way pyte does from the start of a blank row (auto-wrap on):
        text (a two-cell character takes its cell and a stub), SGR, tabs (to the next stop,
        else the last column; never wrapping) and erase-in-line (cells set to the cursor's
        attributes). Returns its rows."""
        rows: list[Line] = []
        row: Line = StaticDefaultDict(DEFAULT_CHAR)
        x = position = 0
        cell = self.cells(attrs).__getitem__
        wide = self._wide_chars.search if self._wide_chars is not None else None
        for token in [*_TOKENS.finditer(line), None]:
            text = line[position:None if token is None else token.start()]
            if text and wide is not None and wide(text):
                for char in text:  # pyte's way: a stub cell after a two-cell character
                    if x == columns:
                        rows.append(row)
                        row, x = StaticDefaultDict(DEFAULT_CHAR), 0
                    row[x] = cell(char)
                    if char in self._wide:
                        if x + 1 < columns:
                            row[x + 1] = attrs._replace(data="")
                        x = min(x + 2, columns)
                    else:
                        x += 1
                text = ""
            while text:
                if x == columns:  # auto-wrap: the row scrolls up, the text goes on below
                    rows.append(row)
                    row, x = StaticDefaultDict(DEFAULT_CHAR), 0
                take = min(columns - x, len(text))
                row.update(zip(range(x, x + take), map(cell, text[:take]), strict=True))
                x += take
                text = text[take:]
            if token is None:
                break
            position = token.end()
            sgr, erase, tab = token.groups()
            if sgr is not None:
                attrs = self.after(attrs, sgr)
                cell = self.cells(attrs).__getitem__
            elif erase is not None:
                how = int(erase or 0)
                span = range(x, columns) if how == 0 else range(x + 1) if how == 1 \
                    else range(columns)
                row.update(zip(span, repeat(attrs)))
            elif tab is not None:
                stop = bisect.bisect_right(tabstops, x)
                x = tabstops[stop] if stop < len(tabstops) else columns - 1
        rows.append(row)
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
