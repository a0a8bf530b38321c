"""The row cursor of a line table: keys, mouse, hover, and keeping the cursor in view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events
from textual.geometry import Region, Spacing

from widgets.linetable.cells import HEADER, Column

if TYPE_CHECKING:
    from textual.scroll_view import ScrollView

    _Base = ScrollView
else:
    _Base = object


class CursorNavigation(_Base):
    """Mixed into the table widget: ``cursor_row`` indexes the view (``_view``)."""

    if TYPE_CHECKING:
        _view: list[str]
        _active: list[Column]
        cursor_row: int
        show_header: bool
        _highlighted: tuple[int, str] | None
        _hover_row: int | None
        RowHighlighted: Any
        RowSelected: Any

        def sort_by(self, column: str, reverse: bool | None = None) -> None: ...

    @property
    def selected_key(self) -> str | None:
        """Row key under the cursor (None when empty)."""
        if not self._view:
            return None
        return self._view[min(self.cursor_row, len(self._view) - 1)]

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
