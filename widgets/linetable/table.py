"""A table of keyed rows that draws only what is on screen, whatever the row count.

Line API (``ScrollView`` + :meth:`SyncTable.render_line` → ``Strip``): each visible line is
built from the row model on demand and kept in a line cache keyed by the row's version, so a
repaint after scrolling, a filter or a sort touches only the lines in view.

The row model (:class:`~widgets.linetable.model.RowModel`, fed by :meth:`SyncTable.sync` and
:meth:`SyncTable.put_row`) keeps every row by key, its cells given in column order or by
column key. Filter and sort are index operations over it: they compute the list of visible
keys and repaint; no row is ever added to or removed from a widget. A refresh that changes
one row's cells repaints that row's line only (when it is in view). The cursor follows its
row's key through refresh, filter and sort. A new row count updates the scrollbar in place
(no layout pass of the screen).

Column widths come from the model (counts of its cells' widths). The table fits its width
instead of scrolling sideways (:mod:`widgets.linetable.fitting`).

Cells are plain text (:class:`~widgets.linetable.cells.Cell`: text and a tone), shown as
text, never as markup, with control characters made visible; colours come from the tone's
component class (``synctable--bad`` …, :mod:`widgets.linetable.styles`). Under NO_COLOR the
bad and error tones are bold reverse video and warnings bold: failures stay the most visible
thing on screen without colour.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.linetable.cells import FLEX_MIN, HEADER, TONES, Cells, Column, RowFilter
from widgets.linetable.fitting import fit
from widgets.linetable.model import RowModel
from widgets.linetable.navigation import CursorNavigation
from widgets.linetable.strips import header_strip, row_strip
from widgets.linetable.styles import TABLE_CSS


class SyncTable(CursorNavigation, ScrollView, can_focus=True):
    """A row-cursor table of keyed rows, updated in place, drawn line by line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "cycle_sort", "Sort", show=False, id="table.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="table.sort_reverse"),
        Binding("enter", "select_cursor", "Select", show=False, id="table.select"),
        Binding("up", "cursor_up", "Cursor up", show=False, id="table.up"),
        Binding("down", "cursor_down", "Cursor down", show=False, id="table.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,ctrl+home", "first_row", "First row", show=False, id="table.first"),
        Binding("end,ctrl+end", "last_row", "Last row", show=False, id="table.last"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "synctable--header",
        "synctable--cursor",
        "synctable--hover",
        *(f"synctable--{tone}" for tone in TONES),
    }

    DEFAULT_CSS = TABLE_CSS

    class _RowMessage(Message):
        """A message about the row under the cursor."""

        def __init__(self, table: SyncTable, cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> SyncTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor moved to another row (or the row under it changed key)."""

    class RowSelected(_RowMessage):
        """Enter (or a click) on a row."""

    def __init__(self, columns: Sequence[Column], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._model = RowModel(columns)
        self._columns_spec = self._model.columns
        self._active: list[Column] = list(self._columns_spec)
        self._flex_width: int | None = None
        self.cell_padding = 1
        self.show_header = True
        self.show_cursor = True
        self._view: list[str] = []  # visible keys, in order
        self._positions: dict[str, int] | None = None
        self._layout_gen = 0
        # the cursor
        self.cursor_row = 0
        self._highlighted: tuple[int, str] | None = None
        self._hover_row: int | None = None
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._render_widths = [max(cell_len(c.label), FLEX_MIN) if c.flex
                               else self._model.natural(c) for c in self._active]

    # -- what is shown --------------------------------------------------------------------
    @property
    def sort_column(self) -> str | None:
        return self._model.sort_column

    @property
    def sort_reverse(self) -> bool:
        return self._model.sort_reverse

    @property
    def shown_columns(self) -> list[str]:
        """Keys of the columns currently shown (the others did not fit)."""
        return [col.key for col in self._active]

    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        return len(self._view)

    @property
    def total_row_count(self) -> int:
        """Rows in the model (before the filter)."""
        return len(self._model.rows)

    @property
    def row_keys(self) -> list[str]:
        """Keys of the rows shown, top to bottom."""
        return list(self._view)

    def get_row(self, key: str) -> tuple[str, ...]:
        """Every cell's text of a row (all columns, shown or not)."""
        return tuple(text for text, _ in self._model.rows[key].cells)

    def get_row_at(self, index: int) -> tuple[str, ...]:
        """The text of the shown columns of the row at ``index`` in the view."""
        key = self._view[index]
        return tuple(self._model.cell(key, col.key)[0] for col in self._active)

    def get_cell(self, key: str, column: str) -> str:
        return self._model.cell(key, column)[0]

    def get_cell_tone(self, key: str, column: str) -> str:
        return self._model.cell(key, column)[1]

    # -- data -----------------------------------------------------------------------------
    def sync(self, rows: Iterable[tuple[str, Cells]]) -> tuple[int, int, int]:
        """Hold exactly ``rows`` (key, cells) in this order; returns (added, updated cells,
        removed). Only the changed rows are re-measured and repainted."""
        result = self._model.sync(rows)
        if result.reorder:
            self._recompute_view()
        elif result.changed:
            self._rows_changed(result.changed)
        return result.added, result.updated, result.removed

    def put_row(self, key: str, cells: Cells) -> None:
        """Add a row at the end, or replace the cells of an existing row in place."""
        what = self._model.put(key, cells)
        if what == "appended":
            self._set_view([*self._view, key], appended=True)
        elif what == "reorder":
            self._recompute_view()
        elif what == "changed":
            self._rows_changed({key})

    def set_filter(self, match: RowFilter | None, *, recompute: bool = True) -> None:
        """Show only the rows whose key ``match`` accepts, or whose key is in the set
        ``match`` (None: every row). With ``recompute=False`` the next :meth:`sync` applies
        it (one pass, not two)."""
        self._model.filter = match
        self._model.filter_pending = not recompute
        if recompute:
            self._recompute_view()

    def _rows_changed(self, changed: set[str]) -> None:
        """Cells changed, no row added or removed: repaint those rows only, unless the
        change moves rows (sorted by a changed column, or in/out of the filter)."""
        model = self._model
        if model.sort_column is not None:
            model.order = None
            self._recompute_view()
            return
        if model.filter is not None:
            positions = self._view_positions()
            if any((key in positions) != model.accepts(key) for key in changed):
                self._recompute_view()
                return
        if self.fit_columns():
            return
        positions = self._view_positions()
        top = int(self.scroll_y)
        height = self.size.height
        for key in changed:
            index = positions.get(key)
            if index is not None and top <= index < top + height:
                self.refresh(Region(0, HEADER + index - top, self.size.width, 1))
        self._check_highlight()

    # -- view: order and filter as index operations -----------------------------------------
    def _recompute_view(self) -> None:
        self._set_view(self._model.view())

    def _view_positions(self) -> dict[str, int]:
        if self._positions is None:
            self._positions = {key: i for i, key in enumerate(self._view)}
        return self._positions

    def _set_view(self, view: list[str], appended: bool = False) -> None:
        selected = self.selected_key
        self._view = view
        self._positions = None
        if selected is not None and not appended:
            with contextlib.suppress(ValueError):
                self.cursor_row = view.index(selected)
        self.cursor_row = max(0, min(self.cursor_row, len(view) - 1))
        self._update_virtual_size()
        if not self.fit_columns():
            self.refresh()
        self._check_highlight()  # scrolls to the cursor only when its row moved

    def _update_virtual_size(self) -> None:
        """The scrollable size for the current view. A new row count alone (a filter, rows
        arriving) updates the scrollbar in place: no layout pass of the whole screen, which
        a change of the ``virtual_size`` reactive would cost on every keystroke."""
        pad = 2 * self.cell_padding
        width = sum(w + pad for w in self._render_widths)
        size = Size(width, len(self._view) + (HEADER if self.show_header else 0))
        old = self.virtual_size
        if size == old:
            return
        room = self.container_size.height
        if (not self.is_mounted or not room or size.width != old.width
                or (size.height > room) != (old.height > room)):
            self.virtual_size = size  # the scrollbar appears or goes: a layout pass
            return
        self.set_reactive(SyncTable.virtual_size, size)
        if self.show_vertical_scrollbar:
            bar = self.vertical_scrollbar
            bar.window_virtual_size = size.height
            bar.refresh()
        scroll_y = self.validate_scroll_y(self.scroll_y)
        if scroll_y != self.scroll_y:
            self.scroll_y = scroll_y

    # -- fitting the width ------------------------------------------------------------------
    def _available(self) -> int:
        width = self.content_region.width
        rows_room = self.content_region.height - (HEADER if self.show_header else 0)
        if self.row_count > rows_room:
            width -= self.styles.scrollbar_size_vertical
        return width

    def fit_columns(self) -> bool:
        """Choose the shown columns (and the flex width) for the current width; True when
        the layout changed (every line is repainted)."""
        avail = self._available()
        if avail <= 0 or not self.is_mounted:
            return False
        chosen = fit(self._columns_spec, self._model.natural, avail, 2 * self.cell_padding)
        if chosen.widths == self._render_widths and [
                c.key for c in chosen.active] == self.shown_columns:
            return False
        self._active, self._flex_width = chosen.active, chosen.flex_width
        self._render_widths = chosen.widths
        if self.sort_column is not None and self.sort_column not in self.shown_columns:
            self._model.sort_column = None
            self._model.order = None
            self._recompute_view()
        self._layout_changed()
        return True

    def _layout_changed(self) -> None:
        self._layout_gen += 1
        self._line_cache.clear()
        self._update_virtual_size()
        self.refresh()

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_columns)

    def on_mount(self) -> None:
        self.call_after_refresh(self.fit_columns)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()

    # -- drawing --------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if self.show_header:
            if y < HEADER:
                key: tuple[object, ...] = ("header", self._layout_gen, width, scroll_x,
                                           self.has_focus)
                strip = self._line_cache.get(key)
                if strip is None:
                    header = self.get_component_styles("synctable--header").rich_style
                    strip = header_strip(self._active, self._render_widths,
                                         self.cell_padding, header, width, scroll_x, base)
                    self._line_cache[key] = strip
                return strip
            y -= HEADER
        index = y + scroll_y
        if index >= len(self._view):
            return Strip.blank(width, base)
        row_key = self._view[index]
        row = self._model.rows[row_key]
        cursor = self.show_cursor and index == self.cursor_row
        hover = index == self._hover_row
        key = (row_key, row.version, self._layout_gen, cursor, hover, width, scroll_x,
               self.has_focus)
        strip = self._line_cache.get(key)
        if strip is None:
            strip = self._row_strip(row_key, cursor, hover, width, scroll_x)
            self._line_cache[key] = strip
        return strip

    def _row_strip(self, row_key: str, cursor: bool, hover: bool, width: int,
                   scroll_x: int) -> Strip:
        component = Style()
        if hover:
            component += self.get_component_rich_style("synctable--hover")
        if cursor:
            component += self.get_component_rich_style("synctable--cursor")
        cells = [self._model.cell(row_key, col.key) for col in self._active]
        return row_strip(cells, self._render_widths, self.cell_padding, component,
                         lambda tone: self.get_component_rich_style(f"synctable--{tone}",
                                                                    partial=True),
                         width, scroll_x, self.rich_style)

    # -- cursor and sorting ---------------------------------------------------------------
    def select_key(self, key: str) -> None:
        """Move the cursor to the row with this key (if shown)."""
        index = self._view_positions().get(key)
        if index is not None and index != self.cursor_row:
            self.move_cursor(row=index)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by a column key, keeping the selected row selected."""
        model = self._model
        if reverse is None:
            reverse = (not model.sort_reverse) if column == model.sort_column else False
        model.sort_column, model.sort_reverse = column, reverse
        model.order = None
        self._recompute_view()

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        keys = self.shown_columns
        index = (keys.index(self.sort_column) + 1) % len(keys) if self.sort_column in keys else 0
        self.sort_by(keys[index], reverse=False)
        label = self._columns_spec[self._model.index[keys[index]]].label
        self.notify(f"sorted by {label.strip() or 'health'}", timeout=2)

    def action_reverse_sort(self) -> None:
        """Reverse the current sort order."""
        self.sort_by(self.sort_column or self.shown_columns[0], reverse=not self.sort_reverse)
