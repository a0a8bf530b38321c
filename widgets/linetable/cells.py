"""Columns and cells of a line table: plain text (never markup) with a tone, measured once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size

from cspctl.text import MAX_FIELD, safe_line


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None
    priority: int = 0
    """Lower is more important: when the table is too narrow, the highest go first."""
    flex: bool = False
    """Takes the remaining width; its cells are cut with an ellipsis."""
    max_width: int | None = None
    """Cut (with an ellipsis) to this width while the flex column is short of room; it
    gets its full width back when the table is wide."""


class Cell(NamedTuple):
    """One cell: plain text (never markup) and a tone naming its colour in the stylesheet."""

    text: str
    tone: str = ""
    """"" (plain) or one of :data:`TONES`: drawn with the ``synctable--<tone>`` component."""


TONES = ("good", "bad", "warn", "error", "dim")
CellLike = str | Cell
Cells = Sequence[CellLike] | Mapping[str, CellLike]
"""A row's cells: in column order, or by column key (a key left out is an empty cell)."""
RowFilter = Callable[[str], bool] | AbstractSet[str]
"""Which rows to show: a predicate on the row key, or the set of keys to show."""

FLEX_MIN = 10
FLEX_COMFORT = 50  # a flex column this wide lends the rest to columns cut to max_width
HEADER = 1  # header height in lines


def text_width(text: str) -> int:
    """Terminal cells ``text`` takes."""
    return len(text) if text.isascii() else cell_len(text)


def clean(cell: CellLike) -> tuple[str, str]:
    """A cell as (text, tone) whose text is one safe line."""
    if isinstance(cell, str):
        text, tone = cell, ""
    else:
        text, tone = cell
        text = str(text)
        tone = tone if tone in TONES else ""
    if not (text.isascii() and text.isprintable() and len(text) <= MAX_FIELD):
        text = safe_line(text)
    return (text, tone)


def cut(text: str, width: int) -> str:
    """``text`` in ``width`` cells, ending with an ellipsis when it was longer."""
    if width <= 0:
        return ""
    if text_width(text) <= width:
        return text
    if text.isascii():
        return text[: width - 1] + "…"
    return set_cell_size(text, width - 1) + "…"


def sort_key(text: str) -> tuple[int, str]:
    """Empty cells last, then case-insensitive text."""
    return (0 if text.strip() else 1, text.lower())


class Row:
    """One row of the model: its cells as given, cleaned, measured, and a version that
    changes whenever what it shows changes (the key of its cached line)."""

    __slots__ = ("cells", "raw", "version", "widths")

    def __init__(self, raw: tuple[CellLike, ...], version: int) -> None:
        self.raw = raw  # as given: an unchanged row is recognised without cleaning it again
        self.cells = tuple(clean(c) for c in raw)
        self.widths = tuple(text_width(text) for text, _ in self.cells)
        self.version = version
