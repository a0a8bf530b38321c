"""The zone diagnosis's failures-only view (``f``) and next/previous failure keys (``n``/``N``),
driven through the console against the lab: on the seed incident, and on 2,000+ steps."""

from __future__ import annotations

from textual.widgets import DataTable

from cspctl.lab.runner import Lab
from tests.tui_helpers import TIME_SCALE, lab_app, loaded, screen_text, until
from tui.diag_pane import DiagnosticsPane

FAILING = {"fail", "error", "warn"}


async def _diagnosed(pilot: object, app: object, vms: int | None = None) -> DiagnosticsPane:
    """Diagnose the selected zone (its first ``vms`` VMs) and wait until it is done."""
    if vms is None:
        await pilot.press("D")  # type: ignore[attr-defined]
    else:
        zone = app.overview.selected_zone()  # type: ignore[attr-defined]
        chosen = app.snapshot.vms_in(zone)[:vms]  # type: ignore[attr-defined]
        app.open_diagnosis(chosen, "first VMs")  # type: ignore[attr-defined]
    await until(pilot, lambda: any(p.state == "done" for p in app.query(DiagnosticsPane)),  # type: ignore[attr-defined]
                timeout=240, what="diagnosis done")
    return app.query_one(DiagnosticsPane)  # type: ignore[attr-defined,no-any-return]


def _failing_keys(pane: DiagnosticsPane) -> list[str]:
    """The failing steps in step order, from the findings themselves."""
    return [key for key in pane.steps.steps
            if key in pane.findings and pane.findings[key][1].status.value in FAILING]


async def test_failures_only_and_next_failure_on_the_seed_incident() -> None:
    async with Lab("seed", time_scale=TIME_SCALE) as lab:
        app = lab_app(lab)
        async with app.run_test(size=(160, 45)) as pilot:
            await loaded(pilot)
            pane = await _diagnosed(pilot, app)
            steps = pane.steps
            total = steps.row_count
            failing = _failing_keys(pane)
            assert failing and len(failing) < total  # the seed incident fails somewhere
            # the keys are in the footer with their descriptions
            text = screen_text(app)
            assert "Failures only" in text and "Next failure" in text
            steps.move_cursor(row=0)
            await pilot.pause()
            await pilot.press("f")
            await until(pilot, lambda: steps.row_count == len(failing), what="failures only")
            assert steps.row_keys == failing
            assert all(pane.findings[k][1].status.value in FAILING for k in steps.row_keys)
            # the detail follows the selected failing step
            title = pane.findings[steps.selected_key][1].title  # type: ignore[index]
            assert title in str(pane.query_one("#step-text").render())
            await pilot.press("f")
            await until(pilot, lambda: steps.row_count == total, what="every step again")
            # n / N walk the failures in step order, wrapping around
            steps.move_cursor(row=0)
            await pilot.pause()
            start_failing = steps.selected_key in failing
            seen = []
            for _ in range(len(failing)):
                await pilot.press("n")
                await pilot.pause()
                seen.append(steps.selected_key)
            expected = failing[1:] + failing[:1] if start_failing else failing
            assert seen == expected
            await pilot.press("N")
            await pilot.pause()
            assert steps.selected_key == expected[-2 % len(expected)]
            # and help lists them with their ids (they can be remapped)
            await pilot.press("question_mark")
            await until(pilot, lambda: bool(app.screen.query("#help-table")), what="help")
            table = app.screen.query_one("#help-table", DataTable)
            ids = {str(table.get_row_at(i)[-1]) for i in range(table.row_count)}
            assert {"diagnosis.failures_only", "diagnosis.next_failure",
                    "diagnosis.previous_failure"} <= ids


async def test_failures_only_and_next_failure_at_2000_steps() -> None:
    async with Lab("large", time_scale=TIME_SCALE) as lab:
        app = lab_app(lab)
        async with app.run_test(size=(160, 45)) as pilot:
            await loaded(pilot)
            pane = await _diagnosed(pilot, app, vms=72)
            steps = pane.steps
            total = steps.row_count
            assert total >= 2000
            failing = _failing_keys(pane)
            assert failing, "the large lab's first zone has failing VMs"
            steps.move_cursor(row=0)
            await pilot.pause()
            await pilot.press("f")
            await until(pilot, lambda: steps.row_count == len(failing), what="failures only")
            assert steps.row_keys == failing
            await pilot.press("f")
            await until(pilot, lambda: steps.row_count == total, what="every step")
            steps.move_cursor(row=total - 1)  # from the bottom, n wraps to the first failure
            await pilot.pause()
            await pilot.press("n")
            await pilot.pause()
            assert steps.selected_key == failing[0]
            await pilot.press("N")  # and N from the first wraps to the last
            await pilot.pause()
            assert steps.selected_key == failing[-1] or len(failing) == 1
            # the selected step is on screen (the list scrolled to it)
            row = steps.row_keys.index(steps.selected_key)  # type: ignore[arg-type]
            top = int(steps.scroll_y)
            assert top <= row < top + steps.size.height
