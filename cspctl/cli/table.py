"""Plain aligned text tables for headless commands (no colour: state is shown by words/marks).

Every cell is untrusted text: it goes through :func:`cspctl.text.safe_line` (one line, no
control character left, long values cut with a marker).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from cspctl.text import safe_line

EMPTY = "-"


def _width(text: str) -> int:
    """Terminal columns taken by ``text`` (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class Raw(str):
    """A cell shown exactly as is (e.g. an empty mark column), never replaced by ``-``."""

    __slots__ = ()


def cell(value: Any) -> str:
    """A value as shown in a table: None/empty -> ``-``, one line, nothing a terminal obeys."""
    if isinstance(value, Raw):
        return safe_line(value)
    if value is None or value == "":
        return EMPTY
    return " ".join(safe_line(value).split())


def render(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns separated by two spaces, left-aligned, header first, no trailing blanks."""
    table = [[cell(h) if h else "" for h in headers], *([cell(c) for c in r] for r in rows)]
    widths = [max(_width(row[i]) for row in table) for i in range(len(headers))]
    lines = []
    for row in table:
        parts = [c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
