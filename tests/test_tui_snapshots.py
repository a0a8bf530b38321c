"""Snapshots (pytest-textual-snapshot) of the main screen, a shell pane and a diagnostics pane.

Deterministic: the lab's seed scenario, a pinned clock, masked ports and dates, no durations.
Update after a deliberate UI change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the SVGs in tests/__snapshots__/.
"""

from __future__ import annotations

from functools import partial

import pytest
from textual.pilot import Pilot

from tests.tui_helpers import diagnose_cpvm, fixed_settings, loaded, until
from tui.app import CspctlApp
from tui.backend import Backend
from tui.shell_pane import ShellPane

SIZES = [(80, 24), (120, 40)]


def seed_app() -> CspctlApp:
    settings = fixed_settings()
    return CspctlApp(partial(Backend.open_lab, "seed", settings=settings), settings=settings)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, size: tuple[int, int]) -> None:
    async def ready(pilot: Pilot[object]) -> None:
        await loaded(pilot)

    assert snap_compare(seed_app(), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_shell_pane(snap_compare, size: tuple[int, int]) -> None:
    async def shell(pilot: Pilot[object]) -> None:
        app = pilot.app
        await loaded(pilot)
        await pilot.press("slash", "v", "minus", "enter", "s")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell tab")
        pane = app.query_one(ShellPane)
        term = pane.terminal
        await until(pilot, lambda: any(line.rstrip().endswith("#")
                                       for line in term.display_lines), what="prompt")
        await pilot.press(*"cat /var/cache/cloud/cmdline", "enter")
        await until(pilot, lambda: "type=consoleproxy" in "\n".join(term.display_lines),
                    what="output")
        await until(pilot, lambda: sum(line.startswith("root@v-2-VM:~#")
                                       for line in term.display_lines) >= 2 and term.idle,
                    what="prompt")
        term.flush()

    assert snap_compare(seed_app(), terminal_size=size, run_before=shell)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_diagnostics_pane(snap_compare, size: tuple[int, int]) -> None:
    async def diagnose(pilot: Pilot[object]) -> None:
        await loaded(pilot)
        pane = await diagnose_cpvm(pilot)
        key = next(k for k, (_, f) in pane.findings.items() if f.check_id == "java-cwd")
        pane.steps.select_key(key)
        await until(pilot, lambda: "(deleted)" in str(pane.query_one("#step-text").render()),
                    what="java-cwd evidence")

    assert snap_compare(seed_app(), terminal_size=size, run_before=diagnose)


async def _wizard_steps(pilot: Pilot[object]) -> None:
    """The repair tab on the CPVM with protect-assets chosen: every step's preview."""
    from tui.repair_pane import RepairPane

    app = pilot.app
    await loaded(pilot)
    await pilot.press("slash", "v", "minus", "enter", "r")
    await until(pilot, lambda: bool(app.query(RepairPane)), what="repair tab")
    pane = app.query_one(RepairPane)
    await until(pilot, lambda: pane.phase == "choose", timeout=60, what="suggestions")
    await pilot.press("enter")
    await until(pilot, lambda: pane.phase == "steps", timeout=60, what="steps")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_repair_wizard(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(seed_app(), terminal_size=size, run_before=_wizard_steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_repair_confirmation(snap_compare, size: tuple[int, int]) -> None:
    async def first_question(pilot: Pilot[object]) -> None:
        from widgets.confirm import ConfirmDialog

        await _wizard_steps(pilot)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), timeout=60,
                    what="the first question")
        await pilot.pause()

    assert snap_compare(seed_app(), terminal_size=size, run_before=first_question)
