"""Scrollback: the lines scrolled off the top of the main screen, oldest first, bounded.

A line arrives either as a pyte line (a dict of cells, what ``index`` pushes) or packed: the
text of one output line with its colour sequences and where the row starts in it (what the
bulk lane pushes, see :mod:`widgets.terminal.bulk`). A packed row is built into cells only
when someone reads it: in a burst most rows leave the bounded history unseen, so they are
never built. Readers always get pyte lines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from pyte.screens import Char, StaticDefaultDict

Line = StaticDefaultDict[int, Char]
PackedRow = tuple[str, Char, int, int]
"""(output line with SGR sequences, attributes at its start, first column, row width)."""


class History:
    """A bounded deque of scrollback lines that builds packed rows on first read."""

    def __init__(self, maxlen: int, build: Callable[[PackedRow], Line]) -> None:
        self._lines: deque[Line | PackedRow] = deque(maxlen=maxlen)
        self._build = build

    @property
    def maxlen(self) -> int:
        return self._lines.maxlen or 0

    def append(self, line: Line) -> None:
        self._lines.append(line)

    def extend(self, lines: Iterable[Line | PackedRow]) -> None:
        """Push lines (built or packed), oldest first; the oldest fall off past the bound."""
        self._lines.extend(lines)

    def clear(self) -> None:
        self._lines.clear()

    def __len__(self) -> int:
        return len(self._lines)

    def __bool__(self) -> bool:
        return bool(self._lines)

    def __getitem__(self, index: int) -> Line:
        item = self._lines[index]
        if type(item) is tuple:
            line = self._build(item)
            self._lines[index] = line
            return line
        return item  # type: ignore[return-value]

    def __iter__(self) -> Iterator[Line]:
        for index in range(len(self._lines)):
            yield self[index]

    @property
    def packed(self) -> int:
        """Rows held packed (not built yet)."""
        return sum(1 for item in self._lines if type(item) is tuple)
