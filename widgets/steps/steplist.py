"""A live list of steps: pending → running (elapsed time ticking) → ok/warn/fail/error/skipped.

Each status has a text marker and word, so the list reads the same without colour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rich.style import Style
from textual.timer import Timer

from cspctl.diagnostics.model import Progress, Status
from widgets.linetable import Cell, Column, SyncTable

MARKERS: dict[str, tuple[str, str]] = {
    # status: (marker, word), the engine's vocabulary (cspctl.diagnostics Progress, Status)
    s.value: (s.marker, s.word) for s in (*Progress, *Status)
}
TONES: dict[str, str] = {
    # status: the list's tone for it (a component class of the table's stylesheet)
    s.value: s.tone for s in (*Progress, *Status)
}


@dataclass(frozen=True)
class StepState:
    """One step as the list shows it."""

    key: str
    target: str
    title: str
    status: str = "pending"
    summary: str = ""
    started: float | None = None
    duration: float | None = None


class StepList(SyncTable):
    """Steps keyed by ``StepState.key``, in the order they were first added."""

    COLUMNS = (
        Column("mark", " "), Column("status", "Status"), Column("target", "VM", priority=2),
        Column("title", "Step", max_width=30), Column("summary", "Result", flex=True),
        Column("time", "Time", priority=1),
    )
    MARKERS = MARKERS
    """status -> (marker, word); subclasses add their own statuses."""
    TONES = TONES
    """status -> the tone (colour) of its marker and word."""
    FAILING: frozenset[str] = frozenset({"fail", "error", "warn"})
    """Statuses that :meth:`show_failures_only` keeps and :meth:`next_failure` stops at."""

    def __init__(self, *, clock: Callable[[], float], show_durations: bool = True,
                 show_target: bool = True, **kwargs: object) -> None:
        columns = [c for c in self.COLUMNS if show_target or c.key != "target"]
        super().__init__(columns, **kwargs)
        self.show_target = show_target
        self.clock = clock
        self.show_durations = show_durations
        self.steps: dict[str, StepState] = {}
        self._ticker: Timer | None = None
        self._row_cells: dict[str, tuple[str | Cell, ...]] = {}
        """Each step's cells as last given to the table (:meth:`put_many` re-syncs with them)."""
        self.failures_only = False
        """Only failing steps shown (:meth:`show_failures_only`)."""

    def on_mount(self) -> None:  # SyncTable.on_mount (columns) runs too: Textual walks the MRO
        self._ticker = self.set_interval(0.5, self._tick, name="steps-elapsed")

    def put(self, step: StepState) -> None:
        """Add or replace a step and redraw its row (only that row)."""
        self.steps[step.key] = step
        cells = self._row_cells[step.key] = self._cells(step)
        self.put_row(step.key, cells)

    def put_many(self, steps: Sequence[StepState]) -> None:
        """Add or replace several steps with one pass over the table (a frame's worth of a
        diagnosis's progress): the table re-measures and repaints once, not once per step."""
        if len(steps) <= 1:
            for step in steps:
                self.put(step)
            return
        for step in steps:
            self.steps[step.key] = step
            self._row_cells[step.key] = self._cells(step)
        cells = self._row_cells
        self.sync((key, cells[key]) for key in self.steps)

    def update_step(self, key: str, **changes: object) -> StepState | None:
        step = self.steps.get(key)
        if step is None:
            return None
        step = replace(step, **changes)  # type: ignore[arg-type]
        self.put(step)
        return step

    def status_style(self, status: str) -> Style:
        """How ``status`` is drawn in this list (its tone's component style, NO_COLOR aware),
        for other views of the same step (the diagnostics pane's detail)."""
        tone = TONES.get(status, "")
        return self.get_component_rich_style(f"synctable--{tone}", partial=True) if tone \
            else Style()

    def _cells(self, step: StepState) -> tuple[str | Cell, ...]:
        marker, word = self.MARKERS.get(step.status, ("?", step.status))
        tone = self.TONES.get(step.status, "")
        if not self.show_durations:
            elapsed = ""
        elif step.status == "running" and step.started is not None:
            elapsed = f"{self.clock() - step.started:4.1f}s"
        elif step.duration is not None:
            elapsed = f"{step.duration:4.1f}s"
        else:
            elapsed = ""
        cells: list[str | Cell] = [Cell(marker, tone), Cell(word, tone)]
        if self.show_target:
            cells.append(step.target)
        cells += [step.title, step.summary, elapsed]
        return tuple(cells)

    def _tick(self) -> None:
        for step in self.steps.values():
            if step.status == "running":
                cells = self._row_cells[step.key] = self._cells(step)
                self.put_row(step.key, cells)

    # -- failures: a filter and a cursor jump (index operations, whatever the step count) ----
    def failing(self, key: str) -> bool:
        step = self.steps.get(key)
        return step is not None and step.status in self.FAILING

    def show_failures_only(self, on: bool) -> None:
        """Show only the failing steps (a step that fails later joins them), or every step.
        The cursor stays on its step when that step is still shown."""
        self.failures_only = on
        self.set_filter(self.failing if on else None)

    def next_failure(self, direction: int = 1) -> str | None:
        """Move the cursor to the next failing step below it (``direction`` -1: above),
        wrapping around; returns its key (None when no step shown is failing)."""
        keys = self.row_keys
        count = len(keys)
        start = self.cursor_row if self.selected_key is not None else -1
        for offset in range(1, count + 1):
            index = (start + direction * offset) % count
            if self.failing(keys[index]):
                self.move_cursor(row=index)
                return keys[index]
        return None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step in self.steps.values():
            out[step.status] = out.get(step.status, 0) + 1
        return out
