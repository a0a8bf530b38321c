"""The session-log tab (``l``) against the in-process lab, driven with Textual's Pilot:
live events, filter, note, export, copy, an event shown whole; a diagnosis tab's own report."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from cspctl.lab.runner import Lab
from tests.tui_helpers import diagnose_cpvm, lab_app, loaded, notifications, screen_text, until
from tui.log_pane import LogPane
from widgets.sessionlog import ChoiceDialog, NoteDialog, TextScreen


@pytest.fixture(autouse=True)
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console over SSH: no local clipboard, so copies go out as OSC 52."""
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)


def journal(app: object) -> list[dict]:
    path = Path(app.backend.journal_path)  # type: ignore[attr-defined]
    return [json.loads(line) for line in path.read_text().splitlines()]


def rows(pane: LogPane) -> list[str]:
    table = pane.timeline
    return [" ".join(str(getattr(c, "plain", c)) for c in table.get_row_at(i))
            for i in range(table.row_count)]


async def test_log_tab_live_note_filter_export_copy(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("l")
        await until(pilot, lambda: bool(app.query(LogPane)), what="log tab")
        pane = app.query_one(LogPane)
        await until(pilot, lambda: pane.timeline.row_count > 0, what="journal rows")
        assert "session started" in rows(pane)[0] and "console" in rows(pane)[0]
        assert app.tabs.active == "session-log"
        assert app.focused is pane.timeline
        before = pane.timeline.row_count
        secrets = [lab.apikey, lab.secretkey, lab.password]

        # live: a manual refresh journals its API calls; they appear at the bottom, followed
        await pilot.press("ctrl+r")
        await until(pilot, lambda: pane.timeline.row_count > before, what="live API rows")
        assert pane.timeline.cursor_row == pane.timeline.row_count - 1
        assert any("API listSystemVms" in r for r in rows(pane)[before:])

        # scrolled up: new rows arrive without dragging the cursor down
        pane.timeline.move_cursor(row=0)
        count = pane.timeline.row_count
        app.backend.record("note", text="while scrolled up")
        await until(pilot, lambda: pane.timeline.row_count == count + 1, what="new row")
        assert pane.timeline.cursor_row == 0
        pane.timeline.move_cursor(row=pane.timeline.row_count - 1)

        # n: a note, journalled and shown
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NoteDialog), what="note dialog")
        await pilot.press(*"restarted cloud by hand", "enter")
        await until(pilot, lambda: any("note: restarted cloud by hand" in r
                                       for r in rows(pane)), what="note row")
        notes = [e for e in journal(app) if e["event"] == "note"]
        assert notes[-1]["text"] == "restarted cloud by hand" and notes[-1]["by"] == "console"

        # f: filter by kind (API calls, then notes), every row kept
        total = len(pane.events)
        while pane.filter_name != "api":
            await pilot.press("f")
        assert all(" api " in r for r in rows(pane)) and rows(pane)
        await pilot.press("f")
        assert pane.filter_name == "notes"
        assert [r.split(" ", 2)[2] for r in rows(pane)] == [
            "note: while scrolled up", "note: restarted cloud by hand"]
        assert "2/" in str(app.query_one("#log-status").render())
        assert len(pane.events) == total
        await pilot.press("f")  # back to everything
        assert pane.filter_name == "all" and pane.timeline.row_count == total

        # Enter: the event whole
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TextScreen), what="event shown")
        assert '"event": "note"' in screen_text(app)
        await pilot.press("escape")

        # e: export, format chosen, path shown
        for down, name in ((0, "report.md"), (2, f"cspctl-{app.backend.session_id}.tar.gz")):
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="formats")
            text = screen_text(app)
            assert "Markdown report" in text and "bundle .tar.gz" in text and name in text
            await pilot.press(*["down"] * down, "enter")
            await until(pilot, lambda n=name: bool(pane.last_export)
                        and pane.last_export.endswith(n), what=f"{name} written")
            assert any("exported" in n and name in n for n in notifications(app))
        bundle = Path(pane.last_export)
        with tarfile.open(bundle) as tar:
            names = tar.getnames()
            root = f"cspctl-{app.backend.session_id}"
            assert {f"{root}/report.md", f"{root}/report.json", f"{root}/journal.jsonl"} \
                <= set(names)
            data = b"".join(tar.extractfile(m).read() for m in tar.getmembers())
        assert b"restarted cloud by hand" in data
        report_md = (bundle.parent / "report.md").read_text()
        assert report_md.startswith("# Incident report")
        assert "restarted cloud by hand" in report_md
        for secret in secrets:
            assert secret.encode() not in data and secret not in report_md

        # c: the report to the clipboard; no display here, so OSC 52 via Textual
        await pilot.press("c")
        await until(pilot, lambda: pane.last_copy is not None, what="copied")
        assert "OSC 52" in pane.last_copy
        assert app.clipboard.startswith("# Incident report")
        assert "restarted cloud by hand" in app.clipboard
        assert any("copied" in n and "OSC 52" in n for n in notifications(app))

        # l again: back to the same tab, not a second one
        await pilot.press("left_square_bracket")
        await pilot.press("l")
        await until(pilot, lambda: app.tabs.active == "session-log", what="log tab again")
        assert len(app.query(LogPane)) == 1


async def test_diagnosis_tab_copies_and_exports_its_report(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pane = await diagnose_cpvm(pilot)
        await pilot.press("c")
        await until(pilot, lambda: pane.last_copy is not None, what="copied")
        assert app.clipboard.startswith("# cspctl diagnosis")
        assert "Java working directory intact" in app.clipboard
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="formats")
        await pilot.press("down", "enter")
        await until(pilot, lambda: pane.last_export is not None, what="exported")
        data = json.loads(Path(pane.last_export).read_text())
        assert data["vms"][0]["vm"] == "v-2-VM"
        # the log tab shows the findings of that diagnosis as they were journalled
        await pilot.press("l")
        await until(pilot, lambda: bool(app.query(LogPane)), what="log tab")
        log = app.query_one(LogPane)
        log.set_filter("findings")
        await until(pilot, lambda: any("FAIL Java working directory intact" in r
                                       for r in rows(log)), what="finding rows")


async def test_background_refresh_journals_only_changes(lab: Lab,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        api_before = sum(e["event"] == "api" for e in journal(app))
        for _ in range(3):
            await app._refresh_now(manual=False)
        events = journal(app)
        assert sum(e["event"] == "api" for e in events) == api_before  # nothing changed
        assert not [e for e in events if e["event"] == "refresh"]
        vm = lab.world.vm_by_name("v-2-VM")
        monkeypatch.setattr(vm, "agent_state", lambda: "Up")  # the agent reconnects
        await app._refresh_now(manual=False)
        refresh = [e for e in journal(app) if e["event"] == "refresh"]
        assert refresh and refresh[-1]["changes"] == ["v-2-VM agent Disconnected → Up"]
        assert sum(e["event"] == "api" for e in journal(app)) == api_before


async def test_quit_prints_where_the_journal_is(lab: Lab) -> None:
    app = lab_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        hint = app.journal_hint
    assert hint and app.backend is None
    assert f"cspctl log export {Path(hint.split()[3].rstrip(';')).stem}" in hint
