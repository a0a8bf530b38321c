"""The console against the in-process lab (seed scenario), driven with Textual's Pilot."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

from cspctl.lab.runner import Lab
from tests.tui_helpers import (
    TIME_SCALE,
    diagnose_cpvm,
    fixed_settings,
    lab_app,
    loaded,
    notifications,
    screen_text,
    until,
    until_text,
)
from tui.diag_pane import DiagnosticsPane
from tui.help import HelpScreen
from tui.shell_pane import ShellPane
from widgets.confirm import ConfirmDialog
from widgets.terminal import Terminal


async def test_listing_shows_the_seed_incident_at_80x24(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        text = screen_text(app)
        assert "CloudStack 4.8.0" in text
        assert "tokyo-z1" in text
        # Both system VMs, unhealthy, marked with text (not colour alone).
        rows = [line for line in text.splitlines() if "v-2-VM" in line or "s-1-VM" in line]
        assert any("v-2-VM" in r and "CPVM" in r and "Disconnected" in r and "✘" in r
                   for r in rows), text
        assert any("s-1-VM" in r and "SSVM" in r and "✘" in r for r in rows), text
        assert "✘2/2 tokyo-z1" in text  # the zone's unhealthy/total count
        assert "refreshed 10:00:00" in text
        # 4.8 has no templatename in listSystemVms: the detail shows the template's id.
        assert "template -" not in text
        template = app.overview.selected_vm().templateid
        assert template and f"template {template[:8]}" in text
        table = app.overview.table
        assert table.row_count == 2
        # Sorting by a column keeps rows and cursor; state updates happen in place.
        await pilot.press("o")
        assert table.sort_column == "mark"


def fits_sideways(table: object) -> bool:
    """No horizontal scrolling: the table's columns fit its visible width."""
    return table.virtual_size.width <= table.scrollable_content_region.width  # type: ignore


async def test_vm_table_fits_the_width_by_priority(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        table = app.overview.table
        every = ["mark", "name", "type", "state", "agent", "host", "linklocal", "private",
                 "public", "version"]
        await until(pilot, lambda: table.shown_columns == every, what="every column")
        text = await until_text(pilot, "Link-local", "Private", "Public", "Version")
        assert fits_sideways(table), text
        cpvm = next((line for line in text.splitlines() if "v-2-VM" in line), text)
        for value in ("CPVM", "Running", "Disconnected", "kvm02", "169.254.", "10.1.1.",
                      "203.0.113.", "4.8.0"):
            assert value in cpvm, cpvm
        # Narrow: the important columns stay (every IP is in the detail panel anyway).
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: table.shown_columns == every[:7], what="narrow columns")

        def cpvm_row() -> str:
            return next((line for line in screen_text(app).splitlines() if "v-2-VM" in line
                         and "Disconnected" in line and "169.254." in line), "")

        await until(pilot, cpvm_row, what="the CPVM row with its agent and link-local IP")
        assert "✘" in cpvm_row()
        assert fits_sideways(table)
        assert "Public" not in screen_text(app).splitlines()[5]
        assert table.selected_key is not None and table.row_count == 2
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: table.shown_columns == every, what="wide again")


async def test_filter_by_name_state_ip_and_clear(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        table = app.overview.table
        await pilot.press("slash")
        await until_text(pilot, "filter: name, state, IP — Esc clears")  # the empty box says
        await pilot.press("v", "minus")
        assert table.row_count == 1
        assert table.selected_key == app.snapshot.vms[[v.name for v in app.snapshot.vms]
                                                      .index("v-2-VM")].id
        await pilot.press("enter")
        assert app.focused is table
        # Filter by IP: the SSVM's link-local address.
        ssvm = next(v for v in app.snapshot.vms if v.name == "s-1-VM")
        await pilot.press("slash", "ctrl+a", "ctrl+k", *ssvm.linklocalip)
        assert table.row_count == 1 and table.selected_key == ssvm.id
        await pilot.press("escape")
        assert table.row_count == 2
        # Filter by state.
        await pilot.press("slash", *"disconnected")
        assert table.row_count == 2
        await pilot.press("ctrl+a", "ctrl+k", *"nothing-matches")
        assert table.row_count == 0


async def test_shell_pane_runs_a_command(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", "v", "minus", "enter", "s")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell tab")
        pane = app.query_one(ShellPane)
        term = pane.query_one(Terminal)
        await until(pilot, lambda: pane.state == "open", what="shell open")
        await until(pilot, lambda: any(line.rstrip().endswith("#") for line in
                                       term.display_lines), what="root prompt")
        assert app.focused is term
        await pilot.press(*"cat /var/cache/cloud/cmdline", "enter")
        await until(pilot, lambda: "type=consoleproxy" in "\n".join(term.display_lines),
                    what="cmdline output")
        text = await until_text(pilot, "type=consoleproxy", "Shell v-2-VM")
        footer = text.splitlines()[-1]
        assert "Leave pane" in footer and "Diagnose" not in footer  # keys go to the shell
        # Keys that belong to the app (s, d, /) went to the shell while it had focus.
        await pilot.press("ctrl+right_square_bracket")
        assert app.focused is not term
        # The session is recorded as an asciicast next to the journal.
        cast = pane.session.cast_path
        await pane.close()
        assert cast is not None and Path(cast).exists()
        lines = Path(cast).read_text().splitlines()
        assert json.loads(lines[0])["version"] == 2
        assert any("type=consoleproxy" in line for line in lines[1:])


def footer_problems(app: object) -> list[str]:
    """Footer keys cut or hidden under the right-docked ``^p Commands`` (empty: it fits)."""
    from textual.widgets._footer import FooterKey

    keys = list(app.screen.query(FooterKey))  # type: ignore[attr-defined]
    palette = [k for k in keys if k.has_class("-command-palette")]
    limit = palette[0].region.x if palette else app.size.width  # type: ignore[attr-defined]
    footer = screen_text(app).splitlines()[-1]  # type: ignore[arg-type]
    left = footer.split("▏")[0]
    problems = [f"{k.key_display} {k.description}" for k in keys if k not in palette
                and (k.region.right > limit or f"{k.key_display} {k.description}" not in left)]
    if palette and not footer.rstrip().endswith("^p Commands"):
        problems.append(f"palette key cut: {footer!r}")
    return problems


async def test_footer_never_overflows_at_narrow_widths(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        assert footer_problems(app) == []
        assert "? Help" in screen_text(app).splitlines()[-1]
        # A shell whose session ended: the pane's keys plus the console's, still in 80 cells.
        await pilot.press("slash", "v", "minus", "enter", "s")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell tab")
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: any(line.rstrip().endswith("#") for line in
                                       pane.terminal.display_lines), what="root prompt")
        await pilot.press(*"exit", "enter")
        await until(pilot, lambda: pane.state == "closed", what="shell closed")
        await until_text(pilot, "Leave pane", "Diagnose")
        assert footer_problems(app) == []
        for width in (60, 45):
            await pilot.resize_terminal(width, 24)
            await until(pilot, lambda w=width: app.screen.query_one("FitFooter")._fitted_width
                        == w and not footer_problems(app), what=f"footer fitted to {width}")
            footer = screen_text(app).splitlines()[-1]
            assert "^] Leave pane" in footer and "? Help" in footer and "^q Quit" in footer


async def test_diagnostics_on_the_seed_cpvm_shows_the_failures(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pane = await diagnose_cpvm(pilot, allow_failed=True)
        assert pane.state == "done", screen_text(app)
        statuses = {f.check_id: f.status.value for _, f in pane.findings.values()}
        assert "fail" in statuses.values()
        steps = pane.steps
        assert steps.counts().get("fail", 0) >= 1
        await until_text(pilot, "✘", "FAIL")
        # The first problem is selected and its evidence, advice and playbook are shown.
        detail = str(pane.query_one("#step-text").render())
        assert "$ " in detail and "advice:" in detail
        playbooks = {f.playbook for _, f in pane.findings.values() if f.playbook}
        assert "protect-assets" in playbooks
        # Selecting the cwd step shows the deleted directory evidence.
        key = next(k for k, (_, f) in pane.findings.items() if f.playbook == "protect-assets")
        steps.select_key(key)
        await until(pilot, lambda: "(deleted)" in str(pane.query_one("#step-text").render()),
                    what="cwd evidence")
        detail = str(pane.query_one("#step-text").render())
        assert "playbook: protect-assets" in detail


async def test_diagnostics_pane_fits_80x24(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        pane = await diagnose_cpvm(pilot)
        steps = pane.steps
        text = await until_text(pilot, "↑↓ evidence")
        assert fits_sideways(steps), text
        rows = [line for line in text.splitlines() if "OK " in line or "FAIL " in line]
        assert len(rows) >= 9, text  # the step list gets most of the 24 rows
        # The result column takes the remaining width and says when it was cut.
        assert any(line.rstrip(" │▁▂▃▄▅▆▇█").endswith("…") for line in rows), text
        assert "Result" in text


async def test_switching_tabs_while_a_diagnosis_runs(lab: Lab) -> None:
    from cspctl.diagnostics.runner import StepStarted

    gate = asyncio.Event()  # the diagnosis holds before each step until the test opens it

    async def hold(event: object) -> None:
        if isinstance(event, StepStarted):
            await gate.wait()

    app = lab_app(lab, fixed_settings(diagnostics_event=hold))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", "v", "minus", "enter", "s")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell tab")
        shell = app.query_one(ShellPane)
        await until(pilot, lambda: shell.state == "open", timeout=30, what="shell open")
        await pilot.press("ctrl+right_square_bracket")
        app.action_diagnose()
        await until(pilot, lambda: bool(app.query(DiagnosticsPane)), what="diagnostics tab")
        diag = app.query_one(DiagnosticsPane)
        await until(pilot, lambda: diag.steps.counts().get("running", 0) > 0, what="running")
        assert diag.state == "running"
        await pilot.press("ctrl+pageup")  # back to the shell while it runs
        assert app.tabs.active.startswith("shell-")
        assert app.focused is shell.terminal
        await pilot.press("ctrl+pageup")  # and on to the VM list
        assert app.tabs.active == "overview"
        assert diag.state == "running"
        await pilot.press("ctrl+pagedown")  # back to the shell
        await until(pilot, lambda: app.focused is shell.terminal, what="terminal focus")
        await pilot.press(*"echo still-here", "enter")
        await until(pilot, lambda: "still-here" in "\n".join(shell.terminal.display_lines[1:]),
                    what="shell echo")
        assert diag.state == "running"  # held by the gate: the shell answered meanwhile
        gate.set()
        await until(pilot, lambda: diag.state == "done", timeout=90, what="diagnosis done")
        app.tabs.active = diag.parent.id
        await until_text(pilot, "FAIL")
        assert shell.state == "open"


async def test_api_outage_is_a_notification_not_a_crash(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        lab.faults.api_error_rate = 1.0
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.api_error is not None, what="API error")
        assert any(n.startswith("error: API error") for n in notifications(app))
        await until_text(pilot, "✘ API")
        # The last good data stays on screen; recovery is announced.
        assert app.overview.table.row_count == 2
        lab.faults.api_error_rate = 0.0
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.api_error is None, what="API back")
        assert any("answers again" in n for n in notifications(app))


async def test_api_down_at_start_is_inline(lab: Lab) -> None:
    app = lab_app(lab)
    await lab.stop()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.api_error is not None, what="API error")
        await until_text(pilot, "no data")
        assert any(n.startswith("error: API error") for n in notifications(app))


async def test_help_palette_and_coming_next(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = await until_text(pilot, "Close this help with Escape, ? or q")
        for binding_id in ("console.shell", "console.diagnose", "console.filter",
                           "console.help", "console.quit", "terminal.leave", "console.repair"):
            assert binding_id in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+p")
        await pilot.press(*"diagnose zone")
        await until(pilot, lambda: "Diagnose zone tokyo-z1" in screen_text(app),
                    what="palette hit")
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.query(DiagnosticsPane)), what="zone diagnosis")
        pane = app.query_one(DiagnosticsPane)
        assert {vm.name for vm in pane.vms} == {"s-1-VM", "v-2-VM"}
        await pilot.press("ctrl+p", *"open shell on s-1")
        await until(pilot, lambda: "Open shell on s-1-VM" in screen_text(app), what="hit")
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell from the palette")
        assert app.query_one(ShellPane).vm.name == "s-1-VM"


async def test_unknown_host_key_asks_with_the_fingerprint(tmp_path: Path) -> None:
    async with Lab("seed", time_scale=TIME_SCALE, trust_host_keys=False) as lab:
        app = lab_app(lab, fixed_settings())
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            await pilot.press("slash", "v", "minus", "enter", "s")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog),
                        what="host key question")
            text = screen_text(app)
            assert "SHA256:" in text and "v-2-VM" in text
            await pilot.press("y")
            pane = app.query_one(ShellPane)
            await until(pilot, lambda: pane.state == "open", timeout=30, what="shell open")
            answered = [e for e in app.backend.session.journal.events()
                        if e["event"] == "confirm.answered"]
            assert answered and answered[-1]["answer"] == "yes"
            assert answered[-1]["fingerprint"].startswith("SHA256:")


async def test_quit_closes_everything(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        backend = app.backend
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    assert app.backend is None
    events = [e["event"] for e in backend.session.journal.events()]
    assert events[-1] == "session.end"


async def test_bad_api_keys_are_a_notification(lab: Lab) -> None:
    from cspctl.session import Session
    from tui.app import CspctlApp
    from tui.backend import Backend

    profile = dataclasses.replace(lab.profile(), secretkey="not-the-secret")
    settings = fixed_settings()

    async def opener() -> Backend:
        return Backend(Session.open(profile=profile), settings=settings)

    app = CspctlApp(opener, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.api_error is not None, what="auth error")
        assert any(n.startswith("error: API error") for n in notifications(app))
        await until_text(pilot, "no data")
        assert "not-the-secret" not in screen_text(app)


async def test_refused_host_key_is_an_inline_state() -> None:
    async with Lab("seed", time_scale=TIME_SCALE, trust_host_keys=False) as lab:
        app = lab_app(lab)
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            await pilot.press("slash", "v", "minus", "enter", "s")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog),
                        what="host key question")
            await pilot.press("n")
            pane = app.query_one(ShellPane)
            await until(pilot, lambda: pane.state == "failed", timeout=30, what="refusal")
            await until_text(pilot, "✘")
            # the state is a class for the stylesheet: the status line stands out by weight
            assert pane.has_class("-failed") and not pane.has_class("-connecting")
            assert app.query_one(".pane-status").styles.text_style.bold
            assert "could not connect" in "\n".join(pane.terminal.display_lines)
            # The console goes on: back to the list, still usable.
            await pilot.press("ctrl+w")
            await until(pilot, lambda: app.tabs.active == "overview", what="back to the list")
            assert app.overview.table.row_count == 1  # the filter "v-" is still on
            await pilot.press("escape")
            assert app.overview.table.row_count == 2


async def test_auto_refresh_updates_rows_in_place(lab: Lab) -> None:
    app = lab_app(lab, fixed_settings(refresh_interval=0.2))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        table = app.overview.table
        cpvm = next(v for v in app.snapshot.vms if v.name == "v-2-VM")
        table.select_key(cpvm.id)
        before = app.refresh_count
        lab.world.vm_by_name("v-2-VM").state = "Stopping"
        await until(pilot, lambda: app.refresh_count > before + 1, what="auto refresh")
        await until(pilot, lambda: "Stopping" in str(table.get_cell(cpvm.id, "state")),
                    what="state change")
        assert table.row_count == 2
        assert table.selected_key == cpvm.id  # the cursor stayed on the same VM
        await until_text(pilot, "Stopping")


async def test_bindings_can_be_remapped_by_id(lab: Lab) -> None:
    app = lab_app(lab, fixed_settings(keymap={"console.help": "f1"}))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_large_lab_all_zones_unhealthy_first() -> None:
    async with Lab("large", time_scale=TIME_SCALE) as lab:
        app = lab_app(lab)
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            table = app.overview.table
            assert table.row_count == 100  # the first zone
            await pilot.press("z", "home")  # zones list: "all zones"
            await until(pilot, lambda: table.row_count == 5000, what="all zones")
            marks = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
            bad = marks.count("✘")
            assert bad > 0 and marks[:bad] == ["✘"] * bad  # unhealthy first, kept in order


async def test_read_only_badge(lab: Lab) -> None:
    from tui.app import CspctlApp
    from tui.backend import Backend

    settings = fixed_settings(show_journal_path=True)

    async def opener() -> Backend:
        return Backend.for_lab(lab, read_only=True, settings=settings)

    app = CspctlApp(opener, settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await until_text(pilot, "READ-ONLY", "journal ")
        head = screen_text(app).splitlines()[:2]
        assert "READ-ONLY" in head[0] and "LAB" in head[0]
        assert "journal " in head[1] and app.backend.journal_path.endswith(".jsonl")


def test_every_binding_has_an_id() -> None:
    from textual.binding import Binding

    from tui.app import CspctlApp
    from tui.overview import Overview
    from widgets.linetable import SyncTable
    from widgets.steps import StepList

    for cls in (CspctlApp, Overview, SyncTable, StepList, Terminal, ConfirmDialog, HelpScreen):
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding) and binding.id, (cls.__name__, binding)
