"""The console shows names from a hostile cloud as text, never as markup (issue 9, finding 1).

A zone, VMs and a host of the lab are renamed to Textual markup (``[@click=…]`` actions,
``[link=…]``, ``[b]``) and terminal escapes. The console must not crash, must show the literal
names, and a click on them must not run anything (the app keeps running, no file written).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cspctl.lab.runner import Lab
from tests.tui_helpers import TIME_SCALE, lab_app, loaded, screen_text, until, until_text
from widgets.confirm import ConfirmDialog

ZONE = "[@click=app.quit]SHOT"
CPVM = "[@click=app.screenshot('x.svg','.')]SHOT"
SSVM = "[link=x]y[/link][b]bold\x1b]0;t\x07"
SSVM_SHOWN = "[link=x]y[/link][b]bold\\x1b]0;t\\x07"
HOST = "[@click=app.quit]H"


@pytest.fixture
async def hostile_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # a screenshot action would write here
    async with Lab("seed", time_scale=TIME_SCALE) as lab:
        world = lab.world
        world.zones[0].name = ZONE
        world.vm_by_name("v-2-VM").name = CPVM  # type: ignore[union-attr]
        world.vm_by_name("s-1-VM").name = SSVM  # type: ignore[union-attr]
        for host in world.hosts:
            host.name = HOST
        yield lab


def _find(text: str, needle: str) -> tuple[int, int]:
    """(x, y) of ``needle`` on the rendered screen."""
    for y, line in enumerate(text.splitlines()):
        if needle in line:
            return line.index(needle), y
    raise AssertionError(f"{needle!r} not on screen:\n{text}")


async def test_markup_in_names_is_shown_literally_and_never_runs(
    hostile_lab: Lab, tmp_path: Path
) -> None:
    app = lab_app(hostile_lab)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        # the zone list is narrow: the zone name wraps after "quit"
        text = await until_text(pilot, "│[@click=app.quit│", "│]SHOT ", CPVM, SSVM_SHOWN, HOST)
        assert "\x1b" not in text

        # click the zone entry, the name cells and the host cell, where an action would sit
        for needle in ("[@click=app.quit│", CPVM, SSVM_SHOWN, HOST):
            x, y = _find(screen_text(app), needle)
            for dx in (0, 1, len(needle) - 2):
                await pilot.click(offset=(x + dx, y))
                await pilot.pause()
        assert app.is_running and app.return_code is None
        assert list(tmp_path.glob("*.svg")) == []

        # the selected VM's detail pane: literal, escapes visible
        detail = str(app.overview.query_one("#detail").render())
        assert ("SHOT" in detail) and ("\x1b" not in detail)

        # command palette: the hostile names are entries, shown as text
        await pilot.press("ctrl+p")
        await pilot.press(*"SHOT")
        await until_text(pilot, f"Open shell on {CPVM}")
        await pilot.press("escape")

        # a notification (a widget passes markup=True): still literal
        app.overview.table.notify(f"no route to {SSVM}", title="x")
        await until(pilot, lambda: len(app._notifications) > 0, what="the notification")
        shown = list(app._notifications)[-1]
        assert (shown.message, shown.markup) == (f"no route to {SSVM_SHOWN}", False)

        # a confirm dialog naming the VM
        app.push_screen(ConfirmDialog(f"Trust {CPVM}?", f"host {SSVM}\nfingerprint x"))
        await until_text(pilot, f"Trust {CPVM}?", f"host {SSVM_SHOWN}")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))

        # a diagnosis tab titled with the VM's name
        app.open_diagnosis([app.snapshot.vm(app.overview.table.selected_key)],  # type: ignore
                           SSVM)
        await until_text(pilot, f"Diagnose {SSVM_SHOWN}")
        assert app.is_running and app.return_code is None
        assert list(tmp_path.glob("*.svg")) == []
