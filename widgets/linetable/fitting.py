"""Which columns fit a width, and how wide each is drawn (no sideways scrolling)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len

from widgets.linetable.cells import FLEX_COMFORT, FLEX_MIN, Column

Natural = Callable[[Column, bool], int]
"""``natural(column, capped)``: the width a column's cells need (capped at max_width)."""


@dataclass(frozen=True)
class Fit:
    """The columns shown, in table order, and the content width of each."""

    active: list[Column]
    widths: list[int]
    flex_width: int | None


def fit(columns: Sequence[Column], natural: Natural, avail: int, pad: int) -> Fit:
    """Columns in priority order while they fit ``avail`` cells (each with ``pad``); the flex
    column takes what is left; a column cut to ``max_width`` gets back what the flex column
    can lend beyond a comfortable width."""
    chosen: set[str] = set()
    used = 0
    for col in sorted(columns, key=lambda c: c.priority):
        need = (max(cell_len(col.label), FLEX_MIN) if col.flex else natural(col, True)) + pad
        if used + need > avail:
            break
        chosen.add(col.key)
        used += need
    if not chosen:
        chosen.add(columns[0].key)
    active = [col for col in columns if col.key in chosen]
    flex_width = None
    for col in active:
        if col.flex:
            flex_width = avail - used + max(cell_len(col.label), FLEX_MIN)
    cuts: dict[str, int] = {}
    for col in active:
        if col.max_width and not col.flex:
            cut = natural(col, True)
            if flex_width is not None and flex_width > FLEX_COMFORT:
                lend = min(natural(col, False) - cut, flex_width - FLEX_COMFORT)
                cut, flex_width = cut + lend, flex_width - lend
            cuts[col.key] = cut
    widths = [flex_width if col.flex and flex_width is not None
              else cuts.get(col.key, natural(col, True)) for col in active]
    return Fit(active, widths, flex_width)
