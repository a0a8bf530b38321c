"""The console's tabs: each pane's state as a reactive enum (styled by class), and the host
that opens, finds, focuses, cycles and closes them."""

from __future__ import annotations

import contextlib
import re
from enum import StrEnum
from typing import Protocol, TypeVar

from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

OVERVIEW = "overview"
LOG_TAB = "session-log"
W = TypeVar("W", bound=Widget)


class PaneState(StrEnum):
    """Where a shell or diagnostics pane is; the pane carries it as a ``-<state>`` class."""

    STARTING = "starting"
    CONNECTING = "connecting"
    RUNNING = "running"
    OPEN = "open"
    DONE = "done"
    FAILED = "failed"
    CLOSED = "closed"

    @property
    def busy(self) -> bool:
        """Still working (or live): asking again goes to this pane instead of a new one."""
        return self in (PaneState.STARTING, PaneState.CONNECTING, PaneState.RUNNING,
                        PaneState.OPEN)


class StatefulPane(Vertical):
    """A pane with a :class:`PaneState`: assign a state (or its value); the pane gets the
    ``-<state>`` class for the stylesheet, and :attr:`busy` says whether it is at work."""

    state: reactive[PaneState] = reactive(PaneState.STARTING)

    def validate_state(self, value: PaneState | str) -> PaneState:
        return PaneState(value)

    def watch_state(self, state: PaneState) -> None:
        for each in PaneState:
            self.set_class(each is state, f"-{each.value}")

    @property
    def busy(self) -> bool:
        return self.state.busy


class Busy(Protocol):
    @property
    def busy(self) -> bool: ...


def tab_id(prefix: str, key: str) -> str:
    """A tab id from a VM's id or name (anything else becomes ``_``)."""
    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_-]", "_", key)


def find_pane(tabs: TabbedContent, tab: str, kind: type[W]) -> W | None:
    """The ``kind`` widget inside tab ``tab`` (None: no such tab, or not that kind)."""
    with contextlib.suppress(Exception):
        return tabs.get_pane(tab).query_one(kind)
    return None


def pane_ids(tabs: TabbedContent) -> list[str]:
    return [pane.id for pane in tabs.query(TabPane) if pane.id]


def next_tab(tabs: TabbedContent, step: int) -> str | None:
    """The tab ``step`` places from the active one (None: only one tab)."""
    ids = pane_ids(tabs)
    if len(ids) > 1 and tabs.active in ids:
        return ids[(ids.index(tabs.active) + step) % len(ids)]
    return None


def focus_inside(tabs: TabbedContent, kinds: tuple[type[Widget], ...]) -> bool:
    """Focus the first widget of ``kinds`` (in that order) in the active tab."""
    with contextlib.suppress(Exception):
        pane = tabs.get_pane(tabs.active)
        for kind in kinds:
            found = pane.query(kind)
            if found:
                found.first().focus()
                return True
    return False
