"""The row model of a line table: keyed rows, column widths kept as counts, the sort order
and the filter. No drawing here: the widget asks which keys to show and repaints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from rich.cells import cell_len

from widgets.linetable.cells import CellLike, Cells, Column, Row, RowFilter, sort_key


@dataclass
class SyncResult:
    """What :meth:`RowModel.sync` changed."""

    added: int = 0
    updated: int = 0
    """Cells whose text or tone changed."""
    removed: int = 0
    changed: set[str] = field(default_factory=set)
    """Keys of rows added or changed."""
    reorder: bool = False
    """Rows came or went, or their order changed: the view must be recomputed."""


class RowModel:
    """Rows by key, in the caller's order (or sorted by a column), and which of them the
    filter lets through. Every column keeps a count of its cells' widths, so its natural
    width is known without measuring every cell again."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self.index = {col.key: i for i, col in enumerate(self.columns)}
        self.rows: dict[str, Row] = {}
        self.widths: list[Counter[int]] = [Counter() for _ in self.columns]
        self.filter: RowFilter | None = None
        self.filter_pending = False
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.order: list[str] | None = None  # all keys, sorted (None: recompute)
        self._version = 0

    def as_tuple(self, cells: Cells) -> tuple[CellLike, ...]:
        """Cells in column order (a mapping is read by column key)."""
        if isinstance(cells, Mapping):
            return tuple(cells.get(col.key, "") for col in self.columns)
        return tuple(cells)

    # -- changing rows ----------------------------------------------------------------------
    def sync(self, rows: Iterable[tuple[str, Cells]]) -> SyncResult:
        """Hold exactly ``rows`` (key, cells) in this order."""
        wanted = {key: self.as_tuple(cells) for key, cells in rows}
        result = SyncResult()
        for key in [k for k in self.rows if k not in wanted]:
            self._drop_widths(self.rows[key])
            result.removed += 1
        old_rows = self.rows
        new_rows: dict[str, Row] = {}
        for key, raw in wanted.items():
            old = old_rows.get(key)
            if old is None:
                new_rows[key] = self._new_row(raw)
                result.added += 1
                result.changed.add(key)
            elif old.raw != raw:
                row = self._replace_row(old, raw)
                if row is old:
                    new_rows[key] = old
                    continue
                result.updated += sum(a != b for a, b in zip(old.cells, row.cells, strict=True))
                new_rows[key] = row
                result.changed.add(key)
            else:
                new_rows[key] = old
        moved = bool(result.added or result.removed) or list(old_rows) != list(wanted)
        self.rows = new_rows
        if moved or self.filter_pending:
            self.order = None
            result.reorder = True
        return result

    def put(self, key: str, cells: Cells) -> str:
        """Add a row at the end or replace one in place. Returns what the view must do:
        ``"appended"`` (shown at the end), ``"hidden"`` (added, filtered out), ``"reorder"``,
        ``"changed"`` (repaint that row) or ``"same"``."""
        raw = self.as_tuple(cells)
        old = self.rows.get(key)
        if old is None:
            self.rows[key] = self._new_row(raw)
            if self.order is not None and self.sort_column is None:
                self.order.append(key)
                return "appended" if self.accepts(key) else "hidden"
            self.order = None
            return "reorder"
        if old.raw == raw:
            return "same"
        row = self._replace_row(old, raw)
        if row is old:
            return "same"
        self.rows[key] = row
        return "changed"

    def _new_row(self, raw: tuple[CellLike, ...]) -> Row:
        self._version += 1
        row = Row(raw, self._version)
        for counter, width in zip(self.widths, row.widths, strict=True):
            counter[width] += 1
        return row

    def _replace_row(self, old: Row, raw: tuple[CellLike, ...]) -> Row:
        """A new row for changed cells, or ``old`` (its raw updated) when the cleaned text
        and tones are the same: nothing to measure or repaint."""
        row = Row(raw, self._version + 1)
        if row.cells == old.cells:
            old.raw = raw
            return old
        self._drop_widths(old)
        self._version += 1
        for counter, width in zip(self.widths, row.widths, strict=True):
            counter[width] += 1
        return row

    def _drop_widths(self, row: Row) -> None:
        for counter, width in zip(self.widths, row.widths, strict=True):
            counter[width] -= 1
            if not counter[width]:
                del counter[width]

    # -- reading ----------------------------------------------------------------------------
    def natural(self, col: Column, capped: bool = True) -> int:
        """The width the column's longest cell (or its label) needs."""
        if col.width is not None:
            return col.width
        widths = self.widths[self.index[col.key]]
        natural = max(cell_len(col.label), max(widths, default=0))
        return min(natural, col.max_width) if col.max_width and capped else natural

    def cell(self, key: str, column: str) -> tuple[str, str]:
        return self.rows[key].cells[self.index[column]]

    def sorted_order(self) -> list[str]:
        if self.order is None:
            keys = list(self.rows)
            if self.sort_column is not None and self.sort_column in self.index:
                column = self.index[self.sort_column]
                rows = self.rows
                keys.sort(key=lambda k: sort_key(rows[k].cells[column][0]),
                          reverse=self.sort_reverse)
            self.order = keys
        return self.order

    def accepts(self, key: str) -> bool:
        match = self.filter
        if match is None:
            return True
        return key in match if isinstance(match, AbstractSet) else match(key)

    def view(self) -> list[str]:
        """The keys to show, in order: one pass over the order, no per-row widget work."""
        order = self.sorted_order()
        match = self.filter
        self.filter_pending = False
        if match is None:
            return order[:]
        if isinstance(match, AbstractSet):
            return [k for k in order if k in match]
        return [k for k in order if match(k)]
