"""Helpers for the console's Pilot tests: a lab-backed app, waiting, reading the screen."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime

from textual.app import App
from textual.pilot import Pilot

from tui.app import CspctlApp
from tui.backend import Backend
from tui.diag_pane import DiagnosticsPane
from tui.seams import Seams
from tui.settings import UiSettings

FIXED_CLOCK = datetime(2026, 11, 25, 10, 0, 0)
TIME_SCALE = 0.02


def mask(text: str) -> str:
    """Mask what changes from run to run: loopback ports and dates."""
    text = re.sub(r"(127\.0\.\d+\.\d+):\d+", r"\1:PORT", text)
    text = re.sub(r"\b[A-Z][a-z]{2} [ \d]\d \d\d:\d\d(:\d\d)?\b", "Mmm DD hh:mm", text)
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?", "YYYY-MM-DD hh:mm", text)


SEAM_NAMES = {"clock", "elapsed", "show_durations", "scrub", "diagnostics_event"}


def fixed_settings(**overrides: object) -> UiSettings:
    """Settings with no auto-refresh, and seams with a pinned clock and masked ports/paths
    (an override named like a :class:`Seams` field goes to the seams)."""
    seams: dict[str, object] = {
        "clock": lambda: FIXED_CLOCK,
        "elapsed": lambda: 0.0,
        "show_durations": False,
        "scrub": mask,
    }
    values: dict[str, object] = {
        "refresh_interval": 0,
        "lab_time_scale": TIME_SCALE,
        "show_journal_path": False,
        "lab_welcome": False,
    }
    for name, value in overrides.items():
        (seams if name in SEAM_NAMES else values)[name] = value
    return UiSettings(seams=Seams(**seams), **values)  # type: ignore[arg-type]


def lab_app(lab: object, settings: UiSettings | None = None) -> CspctlApp:
    """The console on an already-started lab (same event loop as the test)."""
    settings = settings or fixed_settings()

    async def opener() -> Backend:
        return Backend.for_lab(lab, settings=settings)

    return CspctlApp(opener, settings=settings)


def screen_text(app: App[object]) -> str:
    """What the terminal would show, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def until(pilot: Pilot[object], condition: Callable[[], object], timeout: float = 20.0,
                what: str = "condition") -> None:
    """Pause the pilot until ``condition()`` is truthy (fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)
    await pilot.pause()


def _row_line_shown(app: App[object]) -> bool:
    """The first VM row is on screen with its name, type, state and agent state in full
    (the table has measured its columns, not just received the rows)."""
    table = app.overview.table  # type: ignore[attr-defined]
    if table.row_count == 0:
        return True
    keys = table.shown_columns
    row = table.get_row_at(0)
    wanted = [cell for key, cell in zip(keys, row, strict=False)
              if key in ("name", "type", "state", "agent")]
    return any(all(w in line for w in wanted) for line in screen_text(app).splitlines())


async def loaded(pilot: Pilot[object], timeout: float = 20.0) -> None:
    """Wait until the first refresh is on screen: data in, table laid out and rendered."""
    app = pilot.app
    await until(pilot, lambda: getattr(app, "snapshot", None) is not None
                and _row_line_shown(app), timeout=timeout, what="first refresh on screen")


async def until_text(pilot: Pilot[object], *needles: str, timeout: float = 20.0) -> str:
    """Wait until the rendered screen contains every one of ``needles``; returns the text."""
    await until(pilot, lambda: all(n in screen_text(pilot.app) for n in needles),
                timeout=timeout, what=f"{needles!r} on screen")
    return screen_text(pilot.app)


def notifications(app: App[object]) -> list[str]:
    return [f"{n.severity}: {n.title}: {n.message}" for n in app._notifications]


async def settle() -> None:
    await asyncio.sleep(0)


async def diagnose_cpvm(pilot: Pilot[object], *, allow_failed: bool = False) -> DiagnosticsPane:
    """Filter the list to the console proxy (``v-``), press ``d`` and wait until its
    diagnosis is done (or failed, with ``allow_failed``); returns the diagnostics pane."""
    app = pilot.app
    await pilot.press("slash", "v", "minus", "enter", "d")
    await until(pilot, lambda: bool(app.query(DiagnosticsPane)), what="diagnostics tab")
    pane = app.query_one(DiagnosticsPane)
    ends = ("done", "failed") if allow_failed else ("done",)
    await until(pilot, lambda: pane.state in ends, timeout=60, what="diagnosis done")
    return pane
