"""A table of keyed rows that draws only what is on screen, whatever the row count.

Line API (``ScrollView`` + :meth:`SyncTable.render_line` → ``Strip``): each visible line is
built from the row model on demand and kept in a line cache keyed by the row's version, so a
repaint after scrolling, a filter or a sort touches only the lines in view.

The row model (:meth:`SyncTable.sync`, :meth:`SyncTable.put_row`) keeps every row by key.
Filter and sort are index operations over it: they compute the list of visible keys and
repaint; no row is ever added to or removed from a widget. A refresh that changes one row's
cells repaints that row's line only (when it is in view). The cursor follows its row's key
through refresh, filter and sort.

Column widths come from the model: each column keeps a count of its cells' widths, updated
for the rows that were added, changed or removed (never by measuring every cell again), so
the natural width of a column is known at once.

The table fits its width instead of scrolling sideways: columns are shown in priority order
while they fit (the rest are hidden until the table is wider), and a ``flex`` column takes
the remaining width, its cells ending with ``…`` when cut.

Cells are plain text (:class:`Cell`: text and a tone). The text is shown as text, never as
markup, with control characters made visible (:func:`cspctl.text.safe_line`); colours come
from the tone's component class (``synctable--bad`` …) in the stylesheet. Under NO_COLOR the
bad and error tones are bold reverse video and warnings bold: failures stay the most visible
thing on screen without colour.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

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
RowFilter = Callable[[str], bool] | AbstractSet[str]
"""Which rows to show: a predicate on the row key, or the set of keys to show."""

FLEX_MIN = 10
FLEX_COMFORT = 50  # a flex column this wide lends the rest to columns cut to max_width
HEADER = 1  # header height in lines


def _width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _clean(cell: CellLike) -> tuple[str, str]:
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


def _cut(text: str, width: int) -> str:
    """``text`` in ``width`` cells, ending with an ellipsis when it was longer."""
    if width <= 0:
        return ""
    if _width(text) <= width:
        return text
    if text.isascii():
        return text[: width - 1] + "…"
    return set_cell_size(text, width - 1) + "…"


def _sort_key(text: str) -> tuple[int, str]:
    return (0 if text.strip() else 1, text.lower())


class _Row:
    __slots__ = ("cells", "raw", "version", "widths")

    def __init__(self, raw: tuple[CellLike, ...], version: int) -> None:
        self.raw = raw  # as given: an unchanged row is recognised without cleaning it again
        self.cells = tuple(_clean(c) for c in raw)
        self.widths = tuple(_width(text) for text, _ in self.cells)
        self.version = version


class SyncTable(ScrollView, can_focus=True):
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

    DEFAULT_CSS = """
    SyncTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;

        &:focus {
            background-tint: $foreground 5%;
            & > .synctable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .synctable--header {
                background-tint: $foreground 5%;
            }
        }
        & > .synctable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .synctable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .synctable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .synctable--hover {
            background: $block-hover-background;
        }
        & > .synctable--good { color: ansi_green; }
        & > .synctable--bad { color: ansi_red; text-style: bold; }
        & > .synctable--warn { color: ansi_yellow; text-style: bold; }
        & > .synctable--error { color: ansi_magenta; text-style: bold; }
        & > .synctable--dim { text-style: dim; }
        /* NO_COLOR: what is wrong stands out by weight and reverse video, never by a
           colour the monochrome filter would turn into a dim grey */
        &:nocolor > .synctable--good { color: $foreground; text-style: none; }
        &:nocolor > .synctable--bad { color: $foreground; text-style: bold reverse; }
        &:nocolor > .synctable--error { color: $foreground; text-style: bold reverse; }
        &:nocolor > .synctable--warn { color: $foreground; text-style: bold; }
    }
    """

    class RowHighlighted(Message):
        """The cursor moved to another row (or the row under it changed key)."""

        def __init__(self, table: SyncTable, cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> SyncTable:
            return self.table

    class RowSelected(Message):
        """Enter (or a click) on a row."""

        def __init__(self, table: SyncTable, cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> SyncTable:
            return self.table

    def __init__(self, columns: Sequence[Column], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._columns_spec = list(columns)
        self._index = {col.key: i for i, col in enumerate(self._columns_spec)}
        self._active: list[Column] = list(self._columns_spec)
        self._flex_width: int | None = None
        self._cuts: dict[str, int] = {}
        self._render_widths: list[int] = []  # content width of each shown column
        self.cell_padding = 1
        self.show_header = True
        self.show_cursor = True
        self.sort_column: str | None = None
        self.sort_reverse = False
        # the row model
        self._rows: dict[str, _Row] = {}
        self._widths: list[Counter[int]] = [Counter() for _ in self._columns_spec]
        self._filter: RowFilter | None = None
        self._filter_pending = False
        self._order: list[str] | None = None  # all keys, sorted (None: recompute)
        self._view: list[str] = []  # visible keys, in order
        self._positions: dict[str, int] | None = None
        self._version = 0
        self._layout_gen = 0
        # the cursor
        self.cursor_row = 0
        self._highlighted: tuple[int, str] | None = None
        self._hover_row: int | None = None
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._render_widths = [max(cell_len(c.label), FLEX_MIN) if c.flex else self._natural(c)
                               for c in self._active]

    # -- what is shown --------------------------------------------------------------------
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
        return len(self._rows)

    @property
    def row_keys(self) -> list[str]:
        """Keys of the rows shown, top to bottom."""
        return list(self._view)

    def get_row(self, key: str) -> tuple[str, ...]:
        """Every cell's text of a row (all columns, shown or not)."""
        return tuple(text for text, _ in self._rows[key].cells)

    def get_row_at(self, index: int) -> tuple[str, ...]:
        """The text of the shown columns of the row at ``index`` in the view."""
        row = self._rows[self._view[index]]
        return tuple(row.cells[self._index[col.key]][0] for col in self._active)

    def get_cell(self, key: str, column: str) -> str:
        return self._rows[key].cells[self._index[column]][0]

    def get_cell_tone(self, key: str, column: str) -> str:
        return self._rows[key].cells[self._index[column]][1]

    # -- data -----------------------------------------------------------------------------
    def sync(self, rows: Iterable[tuple[str, Sequence[CellLike]]]) -> tuple[int, int, int]:
        """Hold exactly ``rows`` (key, cells) in this order; returns (added, updated cells,
        removed). Only the changed rows are re-measured and repainted."""
        wanted: dict[str, tuple[CellLike, ...]] = {key: tuple(cells) for key, cells in rows}
        added = updated = removed = 0
        changed: set[str] = set()
        for key in [k for k in self._rows if k not in wanted]:
            self._forget(key)
            removed += 1
        old_rows = self._rows
        new_rows: dict[str, _Row] = {}
        for key, raw in wanted.items():
            old = old_rows.get(key)
            if old is None:
                new_rows[key] = self._new_row(raw)
                added += 1
                changed.add(key)
            elif old.raw != raw:
                row = self._replace_row(old, raw)
                if row.cells == old.cells:
                    old.raw = raw
                    new_rows[key] = old
                    continue
                updated += sum(a != b for a, b in zip(old.cells, row.cells, strict=True))
                new_rows[key] = row
                changed.add(key)
            else:
                new_rows[key] = old
        order_same = list(old_rows) == list(wanted) if not (added or removed) else False
        self._rows = new_rows
        if added or removed or not order_same or self._filter_pending:
            self._order = None
            self._recompute_view()
        elif changed:
            self._rows_changed(changed)
        return added, updated, removed

    def put_row(self, key: str, cells: Sequence[CellLike]) -> None:
        """Add a row at the end, or replace the cells of an existing row in place."""
        raw = tuple(cells)
        old = self._rows.get(key)
        if old is None:
            self._rows[key] = self._new_row(raw)
            if self._order is not None and self.sort_column is None:
                self._order.append(key)
                if self._accepts(key):
                    self._set_view([*self._view, key], appended=True)
                return
            self._order = None
            self._recompute_view()
        elif old.raw != raw:
            row = self._replace_row(old, raw)
            if row.cells == old.cells:
                old.raw = raw
                return
            self._rows[key] = row
            self._rows_changed({key})

    def set_filter(self, match: RowFilter | None, *, recompute: bool = True) -> None:
        """Show only the rows whose key ``match`` accepts, or whose key is in the set
        ``match`` (None: every row). With ``recompute=False`` the next :meth:`sync` applies
        it (one pass, not two)."""
        self._filter = match
        self._filter_pending = not recompute
        if recompute:
            self._recompute_view()

    def _new_row(self, raw: tuple[CellLike, ...]) -> _Row:
        self._version += 1
        row = _Row(raw, self._version)
        for counter, width in zip(self._widths, row.widths, strict=True):
            counter[width] += 1
        return row

    def _replace_row(self, old: _Row, raw: tuple[CellLike, ...]) -> _Row:
        row = _Row(raw, self._version + 1)
        if row.cells == old.cells:
            return row  # same text and tones: nothing to measure or repaint
        self._drop_widths(old)
        self._version += 1
        for counter, width in zip(self._widths, row.widths, strict=True):
            counter[width] += 1
        return row

    def _drop_widths(self, row: _Row) -> None:
        for counter, width in zip(self._widths, row.widths, strict=True):
            counter[width] -= 1
            if not counter[width]:
                del counter[width]

    def _forget(self, key: str) -> None:
        row = self._rows.get(key)
        if row is not None:
            self._drop_widths(row)

    def _rows_changed(self, changed: set[str]) -> None:
        """Cells changed, no row added or removed: repaint those rows only, unless the
        change moves rows (sorted by a changed column, or in/out of the filter)."""
        if self.sort_column is not None:
            self._order = None
            self._recompute_view()
            return
        if self._filter is not None:
            positions = self._view_positions()
            if any((key in positions) != self._accepts(key) for key in changed):
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
    def _sorted_order(self) -> list[str]:
        if self._order is None:
            keys = list(self._rows)
            if self.sort_column is not None and self.sort_column in self._index:
                column = self._index[self.sort_column]
                rows = self._rows
                keys.sort(key=lambda k: _sort_key(rows[k].cells[column][0]),
                          reverse=self.sort_reverse)
            self._order = keys
        return self._order

    def _accepts(self, key: str) -> bool:
        match = self._filter
        if match is None:
            return True
        return key in match if isinstance(match, AbstractSet) else match(key)

    def _recompute_view(self) -> None:
        order = self._sorted_order()
        match = self._filter
        self._filter_pending = False
        if match is None:
            view = order[:]
        elif isinstance(match, AbstractSet):
            view = [k for k in order if k in match]
        else:
            view = [k for k in order if match(k)]
        self._set_view(view)

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
    def _natural(self, col: Column, capped: bool = True) -> int:
        if col.width is not None:
            return col.width
        widths = self._widths[self._index[col.key]]
        natural = max(cell_len(col.label), max(widths, default=0))
        return min(natural, col.max_width) if col.max_width and capped else natural

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
        widths = [flex_width if col.flex and flex_width is not None
                  else cuts.get(col.key, self._natural(col)) for col in active]
        if widths == self._render_widths and [c.key for c in active] == self.shown_columns:
            return False
        self._active, self._flex_width, self._cuts = active, flex_width, cuts
        self._render_widths = widths
        if self.sort_column is not None and self.sort_column not in self.shown_columns:
            self.sort_column = None
            self._order = None
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
                    strip = self._header_strip(width, scroll_x, base)
                    self._line_cache[key] = strip
                return strip
            y -= HEADER
        index = y + scroll_y
        if index >= len(self._view):
            return Strip.blank(width, base)
        row_key = self._view[index]
        row = self._rows[row_key]
        cursor = self.show_cursor and index == self.cursor_row
        hover = index == self._hover_row
        key = (row_key, row.version, self._layout_gen, cursor, hover, width, scroll_x,
               self.has_focus)
        strip = self._line_cache.get(key)
        if strip is None:
            strip = self._row_strip(row, cursor, hover, width, scroll_x, base)
            self._line_cache[key] = strip
        return strip

    def _finish(self, segments: list[Segment], width: int, scroll_x: int,
                base: Style) -> Strip:
        strip = Strip(segments)
        if scroll_x:
            strip = strip.crop(scroll_x, scroll_x + width)
        return strip.adjust_cell_length(width, base).simplify()

    def _extend(self, width: int, style: Style) -> Segment:
        pad = 2 * self.cell_padding
        used = sum(w + pad for w in self._render_widths)
        return Segment(" " * max(0, width - used), style + Style.from_meta({"out_of_bounds": True}))

    def _header_strip(self, width: int, scroll_x: int, base: Style) -> Strip:
        header = self.get_component_styles("synctable--header").rich_style
        pad = " " * self.cell_padding
        segments = []
        for ci, (col, w) in enumerate(zip(self._active, self._render_widths, strict=True)):
            label = _cut(col.label, w)
            style = header + Style.from_meta({"column": ci})
            segments.append(Segment(pad + label + " " * (w - _width(label)) + pad, style))
        segments.append(self._extend(width, header))
        return self._finish(segments, width, scroll_x, base)

    def _row_strip(self, row: _Row, cursor: bool, hover: bool, width: int, scroll_x: int,
                   base: Style) -> Strip:
        component = Style()
        if hover:
            component += self.get_component_rich_style("synctable--hover")
        if cursor:
            component += self.get_component_rich_style("synctable--cursor")
        post = Style.from_color(color=component.color) if component.color else None
        pad = " " * self.cell_padding
        segments = []
        for ci, (col, w) in enumerate(zip(self._active, self._render_widths, strict=True)):
            text, tone = row.cells[self._index[col.key]]
            text = _cut(text, w)
            fill = " " * (w - _width(text))
            plain = base + Style.from_meta({"column": ci}) + component
            if post is not None:
                plain += post
            if tone and text:
                toned = base + Style.from_meta({"column": ci}) + component
                toned += self.get_component_rich_style(f"synctable--{tone}", partial=True)
                if post is not None:
                    toned += post
                segments += [Segment(pad, plain), Segment(text, toned),
                             Segment(fill + pad, plain)]
            else:
                segments.append(Segment(pad + text + fill + pad, plain))
        segments.append(self._extend(width, base + component))
        return self._finish(segments, width, scroll_x, base)

    # -- cursor and selection -----------------------------------------------------------------
    @property
    def selected_key(self) -> str | None:
        """Row key under the cursor (None when empty)."""
        if not self._view:
            return None
        return self._view[min(self.cursor_row, len(self._view) - 1)]

    def select_key(self, key: str) -> None:
        """Move the cursor to the row with this key (if shown)."""
        index = self._view_positions().get(key)
        if index is not None and index != self.cursor_row:
            self.move_cursor(row=index)

    def move_cursor(self, *, row: int | None = None, animate: bool = False,
                    scroll: bool = True) -> None:
        """Put the cursor on view row ``row`` (clamped)."""
        if row is None:
            return
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._view) - 1))
        if old != self.cursor_row:
            self._refresh_row(old)
            self._refresh_row(self.cursor_row)
        self._check_highlight(scroll=scroll, animate=animate)

    def _refresh_row(self, index: int) -> None:
        top = int(self.scroll_y)
        if top <= index < top + self.size.height:
            self.refresh(Region(0, HEADER + index - top, self.size.width, 1))

    def _check_highlight(self, scroll: bool = False, animate: bool = False) -> None:
        key = self.selected_key
        now = None if key is None else (self.cursor_row, key)
        if now != self._highlighted:
            self._highlighted = now
            if now is not None:
                self.post_message(self.RowHighlighted(self, *now))
            scroll = True
        if scroll and now is not None:
            self._scroll_cursor_into_view(animate)

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        if not self.size.height:
            self.call_after_refresh(self._scroll_cursor_into_view)
            return
        top = HEADER if self.show_header else 0
        region = Region(int(self.scroll_x), self.cursor_row + top, self.size.width, 1)
        self.scroll_to_region(region, animate=animate, spacing=Spacing(top, 0, 0, 0),
                              force=True, immediate=True)

    def _clear_hover(self) -> None:
        if self._hover_row is not None:
            old, self._hover_row = self._hover_row, None
            self._refresh_row(old)

    def _page(self) -> int:
        return max(1, self.size.height - (HEADER if self.show_header else 0))

    def action_cursor_up(self) -> None:
        self._clear_hover()
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._clear_hover()
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._clear_hover()
        self.move_cursor(row=self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self._clear_hover()
        self.move_cursor(row=self.cursor_row + self._page())

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=len(self._view) - 1)

    def action_select_cursor(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, key))

    # -- mouse ----------------------------------------------------------------------------
    def _row_at(self, event: events.MouseEvent) -> int | None:
        """View index under the mouse (-1: the header; None: nothing)."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        if self.show_header and offset.y < HEADER:
            return -1
        index = offset.y - (HEADER if self.show_header else 0) + int(self.scroll_y)
        return index if 0 <= index < len(self._view) else None

    def on_click(self, event: events.Click) -> None:
        index = self._row_at(event)
        if index is None:
            return
        if index == -1:
            column = event.style.meta.get("column")
            if isinstance(column, int) and 0 <= column < len(self._active):
                self.sort_by(self._active[column].key)
            return
        self.move_cursor(row=index)
        self.action_select_cursor()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        index = self._row_at(event)
        index = None if index == -1 else index
        if index != self._hover_row:
            old, self._hover_row = self._hover_row, index
            for row in (old, index):
                if row is not None:
                    self._refresh_row(row)

    def on_leave(self) -> None:
        self._clear_hover()

    # -- sorting --------------------------------------------------------------------------
    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by a column key, keeping the selected row selected."""
        if reverse is None:
            reverse = (not self.sort_reverse) if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self._order = None
        self._recompute_view()

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        keys = self.shown_columns
        index = (keys.index(self.sort_column) + 1) % len(keys) if self.sort_column in keys else 0
        self.sort_by(keys[index], reverse=False)
        label = self._columns_spec[self._index[keys[index]]].label
        self.notify(f"sorted by {label.strip() or 'health'}", timeout=2)

    def action_reverse_sort(self) -> None:
        """Reverse the current sort order."""
        self.sort_by(self.sort_column or self.shown_columns[0], reverse=not self.sort_reverse)
