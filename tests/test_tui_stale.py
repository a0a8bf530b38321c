"""Stale data and slow answers in the console (issue 9, findings 11 and 13), with Pilot:
rows of a cloud we cannot reach are marked stale (with their age) or cleared, no action runs
on them, and a slow API shows how long we have waited and which attempt it is."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest

from cspctl.config import Profile, save_profile
from cspctl.lab.runner import Lab
from cspctl.session import Session
from tests.apiserver import ApiServer, Fault
from tests.tui_helpers import (
    FIXED_CLOCK,
    fixed_settings,
    lab_app,
    loaded,
    notifications,
    screen_text,
    until,
    until_text,
)
from tui.app import CspctlApp
from tui.backend import Backend
from tui.diag_pane import DiagnosticsPane
from tui.shell_pane import ShellPane


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _panes(app: CspctlApp) -> int:
    return len(list(app.query(DiagnosticsPane))) + len(list(app.query(ShellPane)))


async def test_api_outage_marks_rows_stale_with_their_age_and_actions_refuse(lab: Lab) -> None:
    now = [FIXED_CLOCK]
    app = lab_app(lab, fixed_settings(clock=lambda: now[0]))
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        assert "STALE" not in screen_text(app)
        now[0] = FIXED_CLOCK + timedelta(seconds=42)
        lab.faults.api_error_rate = 1.0
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.api_error is not None, what="API error")
        text = await until_text(pilot, "refreshed 10:00:00 (42 s ago) — ✘ API error:")
        # the old rows stay, visibly stale, with their age
        assert app.overview.table.row_count == 2
        assert "✘ STALE System VMs (2" in text and "rows from 10:00:00, 42 s ago" in text
        for key in ("d", "s", "D"):
            await pilot.press(key)
            await pilot.pause(0.2)
        refused = [n for n in notifications(app) if "refused: the list is stale" in n]
        assert len(refused) == 3, notifications(app)
        assert "rows from 10:00:00, 42 s ago" in refused[0]
        assert _panes(app) == 0  # no diagnosis, no shell on stale rows
        # the API is back: fresh rows, no mark, actions work again
        lab.faults.api_error_rate = 0.0
        now[0] = FIXED_CLOCK + timedelta(seconds=50)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.api_error is None, what="API back")
        await pilot.pause(0.2)
        assert "STALE" not in screen_text(app)
        await pilot.press("d")
        await until(pilot, lambda: _panes(app) == 1, what="diagnosis tab")


async def test_switching_to_an_unreachable_profile_clears_the_old_cloud(lab: Lab) -> None:
    save_profile(Profile(name="dead", source=None,
                         url=f"http://127.0.0.1:{_closed_port()}/client/api",
                         apikey="k" * 20, secretkey="s" * 20, timeout=1.0))
    app = lab_app(lab)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        assert "v-2-VM" in screen_text(app)
        app.switch_profile("dead")
        await until(pilot, lambda: app.api_error is not None, timeout=30, what="API error")
        text = await until_text(pilot, "no data:")
        assert "v-2-VM" not in text and "s-1-VM" not in text and "tokyo-z1" not in text
        assert app.overview.table.row_count == 0 and app.overview.selected_vm() is None
        assert "✘ API unreachable:" in text and "connection refused" in text
        for key in ("d", "s", "D"):
            await pilot.press(key)
            await pilot.pause(0.2)
        assert _panes(app) == 0
        nothing = [n for n in notifications(app) if "no system VMs to act on" in n]
        assert len(nothing) == 3, notifications(app)


async def test_a_slow_first_load_shows_elapsed_time_and_attempt(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with ApiServer() as srv:
        # listSystemVms answers 503 after 1.5 s twice, then normally: attempts 1, 2, 3
        srv.faults["listSystemVms"] = Fault(status=503, delay=1.5, times=2)
        settings = fixed_settings(elapsed=None)  # real seconds for the wait
        profile = Profile(name="slow", source=None, url=srv.url, apikey=srv.apikey,
                          secretkey=srv.secretkey, timeout=10.0)

        async def opener() -> Backend:
            return Backend(Session.open(profile=profile), settings=settings)

        app = CspctlApp(opener, settings=settings)
        async with app.run_test(size=(120, 30)) as pilot:
            shown = re.compile(r"loading… (\d+) s, attempt 2")
            await until(pilot, lambda: shown.search(screen_text(app)), timeout=15,
                        what="the wait with its attempt")
            match = shown.search(screen_text(app))
            assert match and 1 <= int(match.group(1)) <= 10, screen_text(app)  # loaded CI: slack
            assert "attempt 3" not in screen_text(app)
            await loaded(pilot, timeout=20)
            await pilot.pause(0.2)
            assert "loading…" not in screen_text(app)
        seen = [r for r in srv.requests if r.command == "listSystemVms"]
        assert len(seen) == 3


async def test_diagnosis_while_the_api_fails_says_how_many_checks_could_not_run(
        lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        lab.faults.api_error_rate = 1.0  # every API call now fails with a 530
        await pilot.press("d")
        await until(pilot, lambda: bool(app.query(DiagnosticsPane)), what="diagnostics tab")
        pane = app.query_one(DiagnosticsPane)
        await until(pilot, lambda: pane.state in ("done", "failed"), timeout=60,
                    what="diagnosis done")
        assert pane.diagnosis is not None, screen_text(app)
        unknown = pane.diagnosis.could_not_run
        statuses = [f.status.value for _, f in pane.findings.values()]
        assert "fail" not in statuses, statuses  # an API outage is no fault of the VM
        assert unknown == statuses.count("error") and unknown >= 10
        await until_text(pilot, f"? {unknown} checks could not run (API or SSH failed)")
        lab.faults.api_error_rate = 0.0
