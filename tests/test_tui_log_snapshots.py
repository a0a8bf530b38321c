"""Snapshots of the session-log tab at 80x24 and 120x40 (pytest-textual-snapshot).

Deterministic: the lab's seed scenario, no auto-refresh, and what changes from run to run
masked (times, the session id, operator and host, the local UTC offset, loopback ports, and
which API call finished first). Update with ``--snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import re

import pytest
from textual.pilot import Pilot

from tests.tui_helpers import fixed_settings, loaded, mask, until
from tui.app import CspctlApp
from tui.backend import Backend
from tui.log_pane import LogPane

SIZES = [(80, 24), (120, 40)]


def log_mask(text: str) -> str:
    text = mask(text)
    text = re.sub(r"\b\d\d:\d\d:\d\d\b", "hh:mm:ss", text)
    text = re.sub(r"\d{8}T\d{6}(?:\.\d{3})?Z-[0-9a-f]{6}", "SESSION-ID", text)
    text = re.sub(r"started by [^,]+,", "started by OPERATOR@HOST,", text)
    text = re.sub(r"UTC[+-]\d\d:\d\d", "UTC+hh:mm", text)
    return re.sub(r"API \w+ →", "API call →", text)


def log_app() -> CspctlApp:
    settings = fixed_settings(scrub=log_mask)

    async def opener() -> Backend:
        backend = await Backend.open_lab("seed", settings=settings)
        # the version first, so its journal line does not race the first refresh's calls
        await backend.session.api.version()
        return backend

    return CspctlApp(opener, settings=settings)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session_log_tab(snap_compare, size: tuple[int, int]) -> None:
    async def open_log(pilot: Pilot[object]) -> None:
        app = pilot.app
        await loaded(pilot)
        await pilot.press("l")
        await until(pilot, lambda: bool(app.query(LogPane)), what="log tab")
        pane = app.query_one(LogPane)
        await pilot.press("n", *"CPVM agent down since 02:03 JST", "enter")
        await until(pilot, lambda: any(e.get("event") == "note" for e in pane.events.values())
                    and pane.timeline.row_count == len(pane.events), what="note row")
        app.clear_notifications()  # the "note added" toast lasts 3 s: not part of the picture
        await pilot.pause()

    assert snap_compare(log_app(), terminal_size=size, run_before=open_log)
