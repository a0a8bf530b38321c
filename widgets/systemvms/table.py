"""A DataTable of system VMs kept in sync in place: changed cells are updated, rows are keyed.

Refreshing thousands of rows never clears the table: :meth:`SyncTable.sync` diffs the new
rows against what is shown (by row key) and only touches cells that changed, adds new rows
and removes vanished ones, then re-applies the current sort.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

Cell = str | Text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None


def _sort_key(value: object) -> tuple[int, str]:
    text = value.plain if isinstance(value, Text) else str(value)
    return (0 if text.strip() else 1, text.lower())


def _plain(cells: Iterable[object]) -> tuple[str, ...]:
    return tuple(c.plain if isinstance(c, Text) else str(c) for c in cells)


class SyncTable(DataTable[Cell]):
    """A row-cursor DataTable whose rows are replaced by diffing, never by clearing."""

    BINDINGS = [
        Binding("o", "cycle_sort", "Sort", show=False, id="table.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="table.sort_reverse"),
    ]

    def __init__(self, columns: Sequence[Column], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._columns_spec = list(columns)
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._shown: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        for col in self._columns_spec:
            self.add_column(col.label, key=col.key, width=col.width)

    # -- data -----------------------------------------------------------------------------
    def sync(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> tuple[int, int, int]:
        """Show exactly ``rows`` (key, cells); returns (added, updated cells, removed)."""
        keys = [c.key for c in self._columns_spec]
        wanted: dict[str, tuple[Cell, ...]] = {k: tuple(cells) for k, cells in rows}
        added = updated = removed = 0
        selected = self.selected_key
        for key in [k for k in self._shown if k not in wanted]:
            with contextlib.suppress(RowDoesNotExist):
                self.remove_row(key)
            del self._shown[key]
            removed += 1
        for key, cells in wanted.items():
            old = self._shown.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                added += 1
            elif old != cells:
                for col, before, after in zip(keys, old, cells, strict=True):
                    if before != after:
                        try:
                            # Widen when needed; never re-measure a whole column to shrink it.
                            width = self.columns[ColumnKey(col)].content_width
                            wider = cell_len(after.plain if isinstance(after, Text) else after)
                            self.update_cell(key, col, after, update_width=wider > width)
                        except CellDoesNotExist:
                            continue
                        updated += 1
            self._shown[key] = cells
        if added or updated:
            if self.sort_column is None:
                self._keep_order(wanted)
            self._apply_sort()
            # DataTable measures new rows when its pump goes idle: make sure it does now.
            self.check_idle()
        if selected is not None and selected in self._shown:
            self.select_key(selected)
        return added, updated, removed

    @property
    def selected_key(self) -> str | None:
        """Row key under the cursor (None when empty)."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def select_key(self, key: str) -> None:
        """Move the cursor to the row with this key (if shown)."""
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        if index != self.cursor_row:
            self.move_cursor(row=index)

    # -- sorting --------------------------------------------------------------------------
    def _keep_order(self, wanted: dict[str, tuple[Cell, ...]]) -> None:
        """No column chosen: rows appear in the order the caller gave them."""
        order = {_plain(cells): index for index, cells in enumerate(wanted.values())}
        if self.row_count > 1:
            self.sort(key=lambda values: order.get(_plain(values), len(order)))

    def _apply_sort(self) -> None:
        if self.sort_column is not None and self.row_count:
            self.sort(self.sort_column, key=_sort_key, reverse=self.sort_reverse)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by a column key, keeping the selected row selected."""
        selected = self.selected_key
        if reverse is None:
            reverse = (not self.sort_reverse) if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self._apply_sort()
        if selected is not None:
            self.select_key(selected)

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        keys = [c.key for c in self._columns_spec]
        index = (keys.index(self.sort_column) + 1) % len(keys) if self.sort_column in keys else 0
        self.sort_by(keys[index], reverse=False)
        self.notify(f"sorted by {self._columns_spec[index].label.strip() or 'health'}",
                    timeout=2)

    def action_reverse_sort(self) -> None:
        """Reverse the current sort order."""
        self.sort_by(self.sort_column or self._columns_spec[0].key, reverse=not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))
