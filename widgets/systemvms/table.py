"""A DataTable of system VMs kept in sync in place: changed cells are updated, rows are keyed.

Refreshing thousands of rows never clears the table: :meth:`SyncTable.sync` diffs the new
rows against what is shown (by row key) and only touches cells that changed, adds new rows
and removes vanished ones, then re-applies the current sort.

The table fits its width instead of scrolling sideways: columns are shown in priority order
while they fit (the rest are hidden until the table is wider), and a ``flex`` column takes
the remaining width, its cells ending with ``…`` when cut. Only a change of the shown
columns (a resize) rebuilds the rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist, RowKey

Cell = str | Text


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


FLEX_MIN = 10
FLEX_COMFORT = 50  # a flex column this wide lends the rest to columns cut to max_width


def _fit(cell: Cell, width: int) -> Cell:
    """A cell cut to ``width`` cells, ending with an ellipsis when it was longer."""
    text = cell if isinstance(cell, Text) else Text(cell)
    if cell_len(text.plain) <= width:
        return cell
    text = text.copy()
    text.truncate(width, overflow="ellipsis")
    return text


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
        self._index = {col.key: i for i, col in enumerate(self._columns_spec)}
        self._active: list[Column] = list(self._columns_spec)
        self._flex_width: int | None = None
        self._cuts: dict[str, int] = {}
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._shown: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for col in self._active:
            width = self._flex_width if col.flex and self._flex_width else col.width
            self.add_column(col.label, key=col.key, width=width)

    @property
    def shown_columns(self) -> list[str]:
        """Keys of the columns currently shown (the others did not fit)."""
        return [col.key for col in self._active]

    def _view(self, cells: Sequence[Cell]) -> tuple[Cell, ...]:
        """A row's cells for the shown columns (the flex one cut to its width)."""
        out = []
        for col in self._active:
            cell = cells[self._index[col.key]]
            cut = self._flex_width if col.flex else self._cuts.get(col.key)
            if cut:
                cell = _fit(cell, cut)
            out.append(cell)
        return tuple(out)

    # -- fitting the width ------------------------------------------------------------------
    def _natural(self, col: Column, capped: bool = True) -> int:
        if col.width is not None:
            return col.width
        i = self._index[col.key]
        widest = max((cell_len(_plain((cells[i],))[0]) for cells in self._shown.values()),
                     default=0)
        natural = max(cell_len(col.label), widest)
        return min(natural, col.max_width) if col.max_width and capped else natural

    def _available(self) -> int:
        width = self.content_region.width
        rows_room = self.content_region.height - (self.header_height if self.show_header else 0)
        if self.row_count > rows_room:
            width -= self.styles.scrollbar_size_vertical
        return width

    def fit_columns(self) -> bool:
        """Choose the shown columns (and the flex width) for the current width; True when
        the table had to be rebuilt."""
        avail = self._available()
        if avail <= 0 or not self.is_mounted:
            return False
        pad = 2 * self.cell_padding
        chosen: set[str] = set()
        used = 0
        for col in sorted(self._columns_spec, key=lambda c: c.priority):
            need = (max(cell_len(col.label), FLEX_MIN) if col.flex else self._natural(col)) + pad
            if used + need > avail:
                break
            chosen.add(col.key)
            used += need
        if not chosen:
            chosen.add(self._columns_spec[0].key)
        active = [col for col in self._columns_spec if col.key in chosen]
        flex_width = None
        for col in active:
            if col.flex:
                flex_width = avail - used + max(cell_len(col.label), FLEX_MIN)
        cuts: dict[str, int] = {}
        for col in active:
            if col.max_width and not col.flex:
                cut = self._natural(col)
                if flex_width is not None and flex_width > FLEX_COMFORT:
                    lend = min(self._natural(col, capped=False) - cut, flex_width - FLEX_COMFORT)
                    cut, flex_width = cut + lend, flex_width - lend
                cuts[col.key] = cut
        if [c.key for c in active] == [c.key for c in self._active] \
                and flex_width == self._flex_width and cuts == self._cuts:
            return False
        self._active, self._flex_width, self._cuts = active, flex_width, cuts
        self._rebuild()
        return True

    def _rebuild(self) -> None:
        selected = self.selected_key
        self.clear(columns=True)
        self._add_columns()
        for key, cells in self._shown.items():
            self.add_row(*self._view(cells), key=key)
        if self.sort_column is None:
            self._keep_order(self._shown)
        elif self.sort_column not in self.shown_columns:
            self.sort_column = None
        self._apply_sort()
        self.check_idle()
        if selected is not None:
            self.select_key(selected)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_columns)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """After DataTable measured new rows (on idle), drop its render caches.

        Workaround for a race in Textual's DataTable: rows drawn between ``add_row`` and the
        idle-time measurement are cached under the same update count, so under load they
        stayed drawn at the header widths (``v-2-  CPVM  Runni  Disco``) until the next
        change. ``notify_style_update`` clears those caches and repaints.
        """
        super()._update_dimensions(new_rows)
        self.notify_style_update()

    # -- data -----------------------------------------------------------------------------
    def sync(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> tuple[int, int, int]:
        """Show exactly ``rows`` (key, cells); returns (added, updated cells, removed)."""
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
                self.add_row(*self._view(cells), key=key)
                added += 1
            elif old != cells:
                for col, before, after in zip(self.shown_columns, self._view(old),
                                              self._view(cells), strict=True):
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
        if (added or updated) and not self.fit_columns():
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
        order = {_plain(self._view(cells)): index
                 for index, cells in enumerate(wanted.values())}
        if self.row_count > 1:
            self.sort(key=lambda values: order.get(_plain(values), len(order)))

    def _apply_sort(self) -> None:
        if self.sort_column in self.shown_columns and self.row_count:
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
        keys = self.shown_columns
        index = (keys.index(self.sort_column) + 1) % len(keys) if self.sort_column in keys else 0
        self.sort_by(keys[index], reverse=False)
        label = self._columns_spec[self._index[keys[index]]].label
        self.notify(f"sorted by {label.strip() or 'health'}",
                    timeout=2)

    def action_reverse_sort(self) -> None:
        """Reverse the current sort order."""
        self.sort_by(self.sort_column or self.shown_columns[0], reverse=not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))
