"""The session-log tab: this session's journal as a live timeline, with notes, exports and
the incident report on the clipboard."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from cspctl.text import safe_block
from widgets.sessionlog import ChoiceDialog, NoteDialog, TextScreen, Timeline, TimelineRow
from widgets.sessionlog.timeline import MAX_ROWS

if TYPE_CHECKING:
    from tui.backend import Backend, JournalRecord

FILTERS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("all", "everything", frozenset()),
    ("findings", "findings", frozenset({"finding"})),
    ("actions", "actions", frozenset({"action"})),
    ("shells", "shells", frozenset({"shell"})),
    ("api", "API calls", frozenset({"api"})),
    ("notes", "notes", frozenset({"note"})),
)
"""(id, label, kinds shown); an empty set shows every kind."""

EXPORT_FORMATS = (("md", "Markdown report"), ("json", "JSON report"),
                  ("bundle", "bundle .tar.gz (reports, journal, recordings)"))


class LogPane(Vertical):
    """Loads the journal on mount, then follows it live."""

    BINDINGS = [
        Binding("f", "cycle_filter", "Filter", id="log.filter"),
        Binding("n", "note", "Note", id="log.note"),
        Binding("e", "export", "Export", id="log.export"),
        Binding("c", "copy", "Copy report", id="log.copy"),
    ]

    class Recorded(Message):
        """A journal event, posted from whichever thread recorded it."""

        def __init__(self, record: JournalRecord) -> None:
            super().__init__()
            self.record = record

    def __init__(self, backend: Backend, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.backend = backend
        self.events: dict[str, JournalRecord] = {}
        self.filter_index = 0
        self.last_export: str | None = None
        self.last_copy: str | None = None
        self._stop_watch: Callable[[], None] | None = None
        self._count = 0

    def compose(self) -> ComposeResult:
        yield Static("", classes="pane-status", id="log-status", markup=False)
        yield Timeline(id="log-timeline")

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    def on_mount(self) -> None:
        # read and subscribe in one step of the event loop: nothing falls between the two
        events, problems = self.backend.log_events()
        self._stop_watch = self.backend.watch_log(self._from_journal)
        for event in events:
            self._add(event)
        for problem in problems:
            self.notify(problem, title="session log", severity="warning")
        self._update_status()
        self.timeline.focus()

    def on_unmount(self) -> None:
        if self._stop_watch is not None:
            self._stop_watch()

    def _from_journal(self, record: JournalRecord) -> None:
        self.post_message(self.Recorded(record))  # thread-safe

    @on(Recorded)
    def _recorded(self, message: Recorded) -> None:
        self._add(message.record)
        self._update_status()

    def _add(self, event: JournalRecord) -> None:
        self._count += 1
        key = f"e{self._count}"
        self.events[key] = event
        if len(self.events) > MAX_ROWS:
            self.events.pop(next(iter(self.events)))
        shown = self.backend.settings.shown
        line = self.backend.describe_event(event)
        self.timeline.append(TimelineRow(key, shown(line.time), line.kind, shown(line.text)))

    def _visible(self, row: TimelineRow) -> bool:
        kinds = FILTERS[self.filter_index][2]
        return not kinds or row.kind in kinds

    @property
    def filter_name(self) -> str:
        return FILTERS[self.filter_index][0]

    def _update_status(self) -> None:
        shown = self.timeline.row_count
        label = FILTERS[self.filter_index][1]
        parts = [f"session {self.backend.session_id}",
                 f"{shown}/{len(self.events)} events ({label})", "times UTC", "⏎ details"]
        if self.last_export:
            parts.insert(1, f"exported {self.last_export}")
        self.query_one("#log-status", Static).update(self.backend.settings.shown(
            " · ".join(parts)))

    # -- actions -----------------------------------------------------------------------------
    def action_cycle_filter(self) -> None:
        """Show findings, actions, shells, API calls, notes, or everything."""
        self.filter_index = (self.filter_index + 1) % len(FILTERS)
        self.timeline.refilter(self._visible)
        self._update_status()

    def set_filter(self, name: str) -> None:
        self.filter_index = next(i for i, f in enumerate(FILTERS) if f[0] == name)
        self.timeline.refilter(self._visible)
        self._update_status()

    def action_note(self) -> None:
        """Add an operator note to the journal."""

        def done(text: str | None) -> None:
            if text:
                self.backend.add_note(text)
                self.notify("note added to the session log", timeout=3)

        self.app.push_screen(NoteDialog(), callback=done)

    def action_export(self) -> None:
        """Export the report (Markdown, JSON) or the bundle; the path is shown."""
        options = [(fmt, f"{label} → {self.backend.settings.shown(self.backend.export_path(fmt))}")
                   for fmt, label in EXPORT_FORMATS]

        def chosen(fmt: str | None) -> None:
            if fmt:
                self.export(fmt)

        self.app.push_screen(ChoiceDialog("Export this session as…", options), callback=chosen)

    @work(group="log-export", exit_on_error=False)
    async def export(self, fmt: str) -> None:
        try:
            path = await self.backend.export_log(fmt)
        except Exception as exc:  # one line, never a traceback
            self.notify(f"export failed: {exc}", title="session log", severity="error")
            return
        self.last_export = path
        self._update_status()
        self.notify(self.backend.settings.shown(f"{fmt} written to {path}"),
                    title="exported", timeout=8)

    def action_copy(self) -> None:
        """Copy the incident report: pyperclip when local, else OSC 52 via the terminal."""
        copy_report(self, self.backend.report_markdown(), "session report")

    @on(DataTable.RowSelected, "#log-timeline")
    def _selected(self, event: DataTable.RowSelected) -> None:
        record = self.events.get(str(event.row_key.value))
        if record is None:
            return
        body = safe_block(json.dumps(record, indent=2, ensure_ascii=False, default=str))
        title = self.backend.describe_event(record, durations=True).text
        self.app.push_screen(TextScreen(self.backend.settings.shown(title),
                                        self.backend.settings.shown(body)))


class ReportPane(Protocol):
    """A pane with a report to copy (the session log, a diagnosis tab)."""

    backend: Backend
    last_copy: str | None

    @property
    def app(self) -> App[object]: ...

    def notify(self, message: str, *, title: str = ..., timeout: float | None = ...,
               ) -> None: ...


def copy_report(widget: ReportPane, text: str, what: str) -> str:
    """Put ``text`` on the clipboard from the console; notify (and return) how it went."""
    backend = widget.backend
    failure = backend.local_clipboard(text)
    if failure is None:
        how = "the local clipboard (pyperclip)"
    else:
        widget.app.copy_to_clipboard(text)  # OSC 52: the operator's terminal, even over SSH
        how = "OSC 52 through your terminal (Textual copy_to_clipboard)"
    widget.last_copy = how
    widget.notify(f"{what} copied ({len(text)} characters) via {how}. If your terminal "
                  "ignores OSC 52, export it with e.", title="copied", timeout=8)
    return how
