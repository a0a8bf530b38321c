"""The console's header: which cloud, its version, read-only or not, and how fresh the rows
are (or why they are not). Its state is reactive: the app binds ``snapshot``, ``api_error`` and
``api_unreachable`` to its own, and sets ``origin``, ``waiting`` and ``age``; the header redraws
itself on any change (no caller has to remember to update it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Static

from cspctl.diagnostics import Status
from tui.inventory import Snapshot
from widgets import plain


def home_relative(path: str) -> str:
    """``/home/ops/x`` -> ``~/x`` (shorter in a one-line header)."""
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


@dataclass(frozen=True)
class Origin:
    """The profile the console talks to, as the header names it."""

    profile: str
    url: str
    lab: bool
    read_only: bool
    refresh_every: float
    """Seconds between automatic refreshes (0: none)."""
    journal: str | None
    """The session journal's path (None: not shown)."""


class ConsoleHeader(Vertical):
    """Two lines: ``cspctl · profile · CloudStack version · url`` with a read-only badge,
    then when the rows were refreshed, an API problem, the wait and the journal."""

    origin: reactive[Origin | None] = reactive(None)
    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True)
    api_error: reactive[str | None] = reactive(None)
    api_unreachable: reactive[bool] = reactive(False)
    """The last API error was the network's (no answer), not CloudStack's."""
    waiting: reactive[str | None] = reactive(None)
    """"loading… 12 s, attempt 2" while a refresh waits long enough to say so."""
    age: reactive[str] = reactive("?")
    """How old the rows on screen are ("42 s")."""

    def __init__(self, shown: Callable[[str], str] = str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.shown = shown

    def compose(self) -> ComposeResult:
        with Horizontal(id="head-line"):
            yield Static("cspctl · connecting…", id="head-main", markup=False)
            yield Static("", id="badge", markup=False)
        yield Static("", id="head-sub", markup=False)

    def on_mount(self) -> None:
        self._show()

    def watch_origin(self) -> None:
        self._show()

    def watch_snapshot(self) -> None:
        self._show()

    def watch_api_error(self) -> None:
        self._show()

    def watch_api_unreachable(self) -> None:
        self._show()

    def watch_waiting(self) -> None:
        self._show()

    def watch_age(self) -> None:
        self._show()

    def sub_line(self) -> str:
        """The second line, before display scrubbing."""
        origin, snapshot, error = self.origin, self.snapshot, self.api_error
        parts: list[str] = []
        auto = f" (every {origin.refresh_every:g}s)" if origin and origin.refresh_every else ""
        problem = ""
        if error:
            what = "unreachable" if self.api_unreachable else "error"
            problem = f"{Status.FAIL.marker} API {what}: {error}"
        if snapshot is not None and error:
            # the old rows stay: say how old they are, first, so it is never cut off
            parts.append(f"refreshed {snapshot.taken_at:%H:%M:%S} ({self.age} ago) — {problem}")
        else:
            if snapshot is not None:
                parts.append(f"refreshed {snapshot.taken_at:%H:%M:%S}{auto}")
            if problem:
                parts.append(problem)
        if self.waiting is not None:
            parts.insert(1 if snapshot is not None else 0, self.waiting)
        if origin is not None and origin.journal:
            parts.append(f"journal {home_relative(origin.journal)}")
        return " · ".join(parts)

    def _show(self) -> None:
        origin = self.origin
        if origin is None or not self.is_mounted:
            return
        version = (self.snapshot.version if self.snapshot else None) or "?"
        self.query_one("#head-main", Static).update(plain.line(self.shown(
            f"cspctl · {origin.profile} · CloudStack {version} · {origin.url}")))
        badge = self.query_one("#badge", Static)
        badge.update(("LAB " if origin.lab else "")
                     + ("READ-ONLY" if origin.read_only else "read-write"))
        badge.set_class(origin.read_only, "read-only")
        sub = self.query_one("#head-sub", Static)
        sub.update(plain.line(self.shown(self.sub_line())))
        sub.set_class(self.api_error is not None, "error")
