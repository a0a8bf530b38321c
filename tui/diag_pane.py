"""A diagnostics tab: the steps of a run as they progress; the selected step's evidence."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Static

from cspctl.cloudstack.models import SystemVm
from cspctl.diagnostics import RunStarted, StepFinished, StepStarted
from cspctl.errors import CspctlError
from cspctl.text import safe_block, safe_line
from tui.panes import PaneState, StatefulPane
from widgets import plain
from widgets.steps import MARKERS, StepList, StepState

FRAME = 1 / 30
"""Seconds between two draws of a running diagnosis's progress."""


class _Scrubbed(Text):
    """Text whose appended strings go through a display filter first."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._scrub = scrub

    def append(self, text: str | Text, style: str | Style | None = None) -> Text:
        if isinstance(text, str):
            text = self._scrub(text)
        return super().append(text, style)


if TYPE_CHECKING:
    from cspctl.diagnostics import DiagEvent, Diagnosis, Finding
    from tui.backend import Backend


def finding_text(vm_name: str, finding: Finding, *, durations: bool = True,
                 scrub: Callable[[str], str] = str,
                 style_of: Callable[[str], str | Style] | None = None,
                 command_style: str | Style = "bold") -> Text:
    """The detail of one finding: summary, advice, playbook, then every piece of evidence.

    ``style_of(status)``: how the status marker is drawn (the step list's, NO_COLOR aware);
    ``command_style``: how evidence commands are (the pane's ``diagnostics--command``)."""
    marker, word = finding.status.marker, finding.status.word
    style = style_of(finding.status.value) if style_of is not None else ""
    out = _Scrubbed(scrub)
    out.append(f"{marker} {word} ", style=style)
    # every value is data from the cloud or a VM: appended as text, controls made visible
    out.append(f"{safe_line(finding.title)} — {safe_line(vm_name)}\n", style="bold")
    out.append(f"{safe_block(finding.summary)}\n")
    if finding.reason:
        out.append(f"reason: {safe_block(finding.reason)}\n", style="italic")
    if finding.advice:
        out.append("advice: ", style="bold")
        out.append(f"{safe_block(finding.advice)}\n")
    if finding.playbook:
        out.append("playbook: ", style="bold")
        out.append(f"{safe_line(finding.playbook)}  (r: repair wizard)\n")
    for ev in finding.evidence:
        status = "" if ev.exit_status is None else f", exit {ev.exit_status}"
        out.append(f"\n$ {safe_line(ev.command)}", style=command_style)
        took = f", {ev.duration:.2f}s" if durations else ""
        out.append(f"   [{ev.source}{status}{took}]\n", style="dim")
        out.append(safe_block(ev.output or "(no output)") + "\n")
    return out


class DiagnosticsPane(StatefulPane):
    """Runs the diagnosis of some VMs on mount and shows it live."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"diagnostics--command"}
    """How evidence commands are drawn in the detail (cspctl.tcss gives it its colour)."""

    BINDINGS = [
        Binding("c", "copy_report", "Copy report", id="diagnosis.copy"),
        Binding("e", "export_report", "Export report", id="diagnosis.export"),
        Binding("f", "failures_only", "Failures only", id="diagnosis.failures_only",
                tooltip="Show only the failed, error and warning steps (f again: every step)"),
        Binding("n", "next_failure", "Next failure", id="diagnosis.next_failure",
                tooltip="Move to the next failed, error or warning step (wraps around)"),
        Binding("N", "previous_failure", "Previous failure", id="diagnosis.previous_failure",
                show=False,
                tooltip="Move to the previous failed, error or warning step (wraps around)"),
    ]

    def __init__(self, backend: Backend, vms: list[SystemVm], label: str,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.backend = backend
        self.vms = vms
        self.label = label
        self.findings: dict[str, tuple[str, Finding]] = {}
        self.state = PaneState.STARTING
        clock = backend.settings.seams.elapsed or time.monotonic
        self._clock = clock
        self.diagnosis: Diagnosis | None = None
        self.last_export: str | None = None
        self.last_copy: str | None = None
        self._pending: list[DiagEvent] = []
        """Progress events not drawn yet (drawn once per frame)."""
        self._frame: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(plain.line(f"diagnosing {self.label}…"), classes="pane-status",
                     markup=False)
        yield StepList(clock=self._clock, id="steps", show_target=len(self.vms) > 1,
                       show_durations=self.backend.settings.seams.show_durations)
        with VerticalScroll(id="step-detail"):
            yield Static("select a step to see its evidence", id="step-text", markup=False)

    @property
    def steps(self) -> StepList:
        return self.query_one(StepList)

    def on_mount(self) -> None:
        self.steps.focus()
        self.run_diagnosis()

    def _status(self, text: str) -> None:
        self.query_one(".pane-status", Static).update(
            plain.line(self.backend.settings.shown(text)))

    @work(exclusive=True, group="diagnose", exit_on_error=False)
    async def run_diagnosis(self) -> None:
        names = {vm.id: vm.name or vm.id or "?" for vm in self.vms}
        hook = self.backend.settings.seams.diagnostics_event
        self.state = PaneState.RUNNING
        try:
            diagnosis = await self.backend.diagnose(
                self.vms, lambda ev: self._on_event(ev, names, hook))
        except CspctlError as exc:
            self.state = PaneState.FAILED
            self._status(f"✘ diagnosis of {self.label} could not run: {exc}")
            self.notify(str(exc), title="diagnostics", severity="error", timeout=10)
            return
        except Exception as exc:
            self.state = PaneState.FAILED
            self._status(f"✘ diagnosis of {self.label} failed: {type(exc).__name__}: {exc}")
            self.notify(f"{type(exc).__name__}: {exc}", title="diagnostics", severity="error")
            return
        self._show_events(names)  # the last frame's events
        self.diagnosis = diagnosis
        self.state = PaneState.DONE
        counts = self.steps.counts()
        parts = [f"{MARKERS[s][0]} {n} {MARKERS[s][1]}" for s, n in counts.items() if n]
        durations = self.backend.settings.seams.show_durations
        took = f" in {diagnosis.duration:.1f}s" if durations else ""
        unknown = diagnosis.could_not_run
        note = (f" · ? {unknown} check{'s' if unknown != 1 else ''} could not run (API or SSH "
                "failed): incomplete") if unknown else ""
        self._status(f"{self.label}: done{took} — " + "  ".join(parts) + note
                     + " · ↑↓ evidence")
        if self.steps.cursor_row == 0:
            self._show_first_problem()

    def _on_event(self, event: DiagEvent, names: dict[str | None, str],
                  hook: Callable[[object], Awaitable[None] | None] | None = None,
                  ) -> Awaitable[None] | None:
        # progress is drawn once per frame, not once per event (a zone: thousands of them)
        self._pending.append(event)
        if self._frame is None:
            self._frame = self.set_timer(FRAME, lambda: self._show_events(names))
        return hook(event) if hook is not None else None

    def _show_events(self, names: dict[str | None, str]) -> None:
        """Apply the events since the last frame: each step's latest state, in one pass."""
        if self._frame is not None:
            self._frame.stop()
            self._frame = None
        events, self._pending = self._pending, []
        steps = self.steps
        changed: dict[str, StepState] = {}

        def current(key: str) -> StepState | None:
            return changed.get(key) or steps.steps.get(key)

        run_started: RunStarted | None = None
        for event in events:
            if isinstance(event, RunStarted):
                run_started = event
                vm_name = names.get(event.vm.id, event.vm.name or "?")
                for check_id in event.check_ids:
                    key = f"{event.vm.id}:{check_id}"
                    changed[key] = StepState(key, vm_name, self.backend.check_title(check_id))
            elif isinstance(event, StepStarted):
                key = f"{event.vm_id}:{event.check_id}"
                step = current(key)
                changed[key] = (replace(step, status="running", started=self._clock())
                                if step is not None else
                                StepState(key, names.get(event.vm_id, "?"), event.title,
                                          status="running", started=self._clock()))
            elif isinstance(event, StepFinished):
                finding = event.finding
                key = f"{event.vm_id}:{finding.check_id}"
                self.findings[key] = (names.get(event.vm_id, "?"), finding)
                summary = self.backend.settings.shown(
                    finding.summary if finding.status.value != "skipped"
                    else (finding.reason or finding.summary))
                step = current(key)
                changed[key] = (replace(step, status=finding.status.value, summary=summary,
                                        duration=finding.duration)
                                if step is not None else
                                StepState(key, names.get(event.vm_id, "?"), finding.title,
                                          status=finding.status.value, summary=summary,
                                          duration=finding.duration))
            # RunFinished: nothing to show (the run's end is the awaited diagnosis)
        steps.put_many(list(changed.values()))
        if run_started is not None:
            started = {step.target for step in steps.steps.values()}
            self._status(f"diagnosing {self.label}: {len(steps.steps)} steps on "
                         f"{len(started)}/{len(self.vms)} VMs" if len(self.vms) > 1 else
                         f"diagnosing {self.label}: {len(run_started.check_ids)} steps")
        selected = steps.selected_key
        if selected is not None and selected in changed and selected in self.findings:
            self._show(selected)

    @on(StepList.RowHighlighted, "#steps")
    def _highlighted(self, event: StepList.RowHighlighted) -> None:
        self._show(event.row_key)

    def _show(self, key: str) -> None:
        text = self.query_one("#step-text", Static)
        found = self.findings.get(key)
        if found is None:
            step = self.steps.steps.get(key)
            text.update(plain.line(f"{step.title}: {step.status}…" if step else ""))
            return
        settings = self.backend.settings
        text.update(finding_text(*found, durations=settings.seams.show_durations,
                                 scrub=settings.shown, style_of=self.steps.status_style,
                                 command_style=self.get_component_rich_style(
                                     "diagnostics--command", partial=True)))

    def _show_first_problem(self) -> None:
        """Select the first failure in step order (else the first error, else warning)."""
        order = list(self.steps.steps)
        for wanted in ("fail", "error", "warn"):
            for key in order:
                found = self.findings.get(key)
                if found is not None and found[1].status.value == wanted:
                    self.steps.select_key(key)
                    self._show(key)
                    return

    # -- failures: a filtered view and a jump -----------------------------------------------------
    def action_failures_only(self) -> None:
        """Show only the failing steps (failed, error, warning), or every step again."""
        steps = self.steps
        steps.show_failures_only(not steps.failures_only)
        if steps.failures_only:
            self.notify(f"failures only: {steps.row_count} of {steps.total_row_count} steps "
                        "(f: every step)", timeout=3)
        else:
            self.notify(f"every step: {steps.row_count}", timeout=3)
        key = steps.selected_key
        if key is not None:
            self._show(key)

    def action_next_failure(self) -> None:
        """Move to the next failing step."""
        self._jump(1)

    def action_previous_failure(self) -> None:
        """Move to the previous failing step."""
        self._jump(-1)

    def _jump(self, direction: int) -> None:
        key = self.steps.next_failure(direction)
        if key is None:
            self.notify("no failed, error or warning step", timeout=3)
            return
        self._show(key)

    # -- the diagnosis's own report ----------------------------------------------------------
    def _done(self) -> Diagnosis | None:
        """The finished diagnosis (else None, and the operator is told it is running)."""
        if self.diagnosis is None:
            self.notify("the diagnosis is still running", severity="warning", timeout=3)
        return self.diagnosis

    def action_copy_report(self) -> None:
        """Copy this diagnosis's report (Markdown)."""
        from tui.log_pane import copy_report

        diagnosis = self._done()
        if diagnosis is not None:
            copy_report(self, self.backend.diagnosis_report(diagnosis, "md"),
                        f"diagnosis of {self.label}")

    def action_export_report(self) -> None:
        """Export this diagnosis's report as Markdown or JSON (the path is shown)."""
        from widgets.sessionlog import ChoiceDialog

        diagnosis = self._done()
        if diagnosis is None:
            return

        def chosen(fmt: str | None) -> None:
            if fmt:
                self._export(diagnosis, fmt)

        self.app.push_screen(ChoiceDialog(f"Export the diagnosis of {self.label} as…",
                                          [("md", "Markdown"), ("json", "JSON")]),
                             callback=chosen)

    @work(group="diag-export", exit_on_error=False)
    async def _export(self, diagnosis: Diagnosis, fmt: str) -> None:
        try:
            path = await self.backend.export_diagnosis(diagnosis, fmt)
        except Exception as exc:
            self.notify(f"export failed: {exc}", title="diagnostics", severity="error")
            return
        self.last_export = path
        self.notify(self.backend.settings.shown(f"{fmt} written to {path}"),
                    title="exported", timeout=8)
