"""A live, append-only timeline: newest at the bottom, following unless the operator moved
up; rows filtered by kind without losing any."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

KINDS = ("finding", "action", "shell", "note", "raw", "session")
"""Kinds with a look of their own: the ``timeline--<kind>`` component classes."""
TIME_W, KIND_W = 8, 8
MAX_ROWS = 20_000
"""Rows kept in the widget (the journal on disk keeps everything)."""


@dataclass(frozen=True)
class TimelineRow:
    key: str
    time: str
    kind: str
    text: str


class Timeline(DataTable[Text]):
    """Rows of (time, kind, what); ``shows`` decides which kinds are shown."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--time", *(f"timeline--{kind}" for kind in KINDS)}
    DEFAULT_CSS = """
    Timeline {
        & > .timeline--time { text-style: dim; }
        & > .timeline--finding { color: ansi_yellow; text-style: bold; }
        & > .timeline--action { color: ansi_magenta; text-style: bold; }
        & > .timeline--shell { color: ansi_cyan; }
        & > .timeline--note { color: ansi_green; text-style: bold; }
        & > .timeline--raw { color: ansi_red; }
        & > .timeline--session { text-style: bold; }
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.rows_all: list[TimelineRow] = []
        self.shows: Callable[[TimelineRow], bool] = lambda row: True
        self._what_width = 40

    def on_mount(self) -> None:
        self._columns()

    def _columns(self) -> None:
        self.add_column("Time", key="time", width=TIME_W)
        self.add_column("Kind", key="kind", width=KIND_W)
        self.add_column("What", key="what", width=self._what_width)

    def _cells(self, row: TimelineRow) -> tuple[Text, Text, Text]:
        what = Text(row.text)
        if cell_len(row.text) > self._what_width:
            what.truncate(self._what_width, overflow="ellipsis")
        kind = (self.get_component_rich_style(f"timeline--{row.kind}", partial=True)
                if row.kind in KINDS else "")
        return (Text(row.time, style=self.get_component_rich_style("timeline--time",
                                                                    partial=True)),
                Text(row.kind, style=kind), what)

    @property
    def following(self) -> bool:
        """At the newest row (or empty): new rows move the cursor along."""
        return self.row_count == 0 or self.cursor_row >= self.row_count - 1

    def append(self, row: TimelineRow) -> None:
        self.rows_all.append(row)
        if len(self.rows_all) > MAX_ROWS:  # the oldest row goes (the journal keeps it)
            oldest = self.rows_all.pop(0)
            with contextlib.suppress(Exception):
                self.remove_row(oldest.key)
        if not self.shows(row):
            return
        follow = self.following
        self.add_row(*self._cells(row), key=row.key)
        if follow:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def refilter(self, visible: Callable[[TimelineRow], bool]) -> None:
        """Show only rows ``visible`` accepts; the cursor goes to the newest."""
        self.shows = visible
        self._rebuild(follow=True)

    def _rebuild(self, *, follow: bool) -> None:
        selected = self.selected_key
        self.clear(columns=True)
        self._columns()
        for row in self.rows_all:
            if self.shows(row):
                self.add_row(*self._cells(row), key=row.key)
        if self.row_count:
            if not follow and selected is not None:
                with contextlib.suppress(Exception):
                    self.move_cursor(row=self.get_row_index(selected), animate=False)
                    return
            self.move_cursor(row=self.row_count - 1, animate=False)

    def on_resize(self) -> None:
        width = max(20, self.content_region.width - TIME_W - KIND_W - 6 * self.cell_padding
                    - self.styles.scrollbar_size_vertical)
        if width != self._what_width:
            self._what_width = width
            self._rebuild(follow=self.following)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        with contextlib.suppress(Exception):
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return None
