"""A running playbook, shown in the repair wizard: each engine event updates the step rows,
the progress line and, at the end, the outcome (the wizard keeps the states it shows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cspctl.repair.events import (
    Answered,
    Asked,
    RepairEvent,
    RunFinished,
    RunStarted,
    StepFinished,
    StepProgress,
    StepStarted,
    VerifyFinished,
    VerifyStarted,
)
from cspctl.text import safe_line
from tui.repair_view import KIND_WORD, mark, outcome_severity, outcome_text
from widgets.steps import StepState as Row

if TYPE_CHECKING:
    from cspctl.repair import Outcome
    from tui.repair_pane import RepairPane


def show_run_event(pane: RepairPane, event: RepairEvent) -> None:
    """Show one event of the running playbook: its row, the progress line, the outcome."""
    steps = pane.step_list
    if isinstance(event, RunStarted):
        steps.clear_steps()
        for s in event.steps:
            pane.states[s.id] = s
            steps.put(Row(s.id, KIND_WORD[s.kind], s.title, "pending",
                          safe_line(s.preview)))
        mode = " (dry-run: nothing changes)" if event.dry_run else (
            " (read-only: changes are refused)" if event.read_only else "")
        pane._status(f"{event.playbook} on {safe_line(event.vm)}: running{mode}")
    elif isinstance(event, StepStarted):
        s = event.step
        pane.states[s.id] = s
        steps.update_step(s.id, status="running", summary=safe_line(s.preview),
                          started=pane._clock())
        pane._progress(f"… {s.title}")
    elif isinstance(event, StepProgress):
        pane._progress(f"… {event.elapsed:.0f} s of at most {event.deadline:g} s · "
                       f"{safe_line(event.message)}")
    elif isinstance(event, Asked):
        pane.pending_question = event.question
        steps.update_step(event.question.step_id, status="asking")
        pane._progress(f"? waiting for your answer: {event.question.title}")
    elif isinstance(event, Answered):
        pane.pending_question = None
        steps.update_step(event.question.step_id, status="running")
    elif isinstance(event, StepFinished):
        s = event.step
        pane.states[s.id] = s
        status = s.status.value
        if status == "done" and s.attention:
            status = "attention"
        steps.update_step(s.id, status=status, summary=safe_line(s.summary),
                          duration=s.elapsed)
        pane._progress(f"{mark(status)} {s.title}")
    elif isinstance(event, VerifyStarted):
        for cid in event.checks:
            steps.put(Row(f"verify:{cid}", "verifies", pane.backend.check_title(cid),
                          "running", started=pane._clock()))
        pane._progress(f"… verifying {safe_line(event.vm)}: {len(event.checks)} checks")
    elif isinstance(event, VerifyFinished):
        for f in event.findings:
            pane.checks[f.check_id] = f
            summary = f.summary if f.status.value != "skipped" else (f.reason or f.summary)
            steps.put(Row(f"verify:{f.check_id}", "verifies", f.title, f.status.value,
                          safe_line(summary), duration=f.duration))
    elif isinstance(event, RunFinished):
        show_outcome(pane, event.outcome)
    key = steps.selected_key
    if key is not None:
        pane._show_step(key)

def show_outcome(pane: RepairPane, outcome: Outcome) -> None:
    """The run ended: steps not run, the outcome row (selected), a notification."""
    pane.outcome = outcome
    status = outcome.status.value
    steps = pane.step_list
    for s in outcome.steps:
        if s.status.value == "not-run":
            steps.update_step(s.id, status="not-run", summary="not run")
    steps.put(Row("outcome", "", "Outcome", status, safe_line(outcome.message, 500)))
    steps.select_key("outcome")
    pane._detail(outcome_text(outcome))
    pane._progress(f"{mark(status)}: {safe_line(outcome.message, 500)}")
    pane._status(f"{outcome.playbook} on {pane.vm_name}: {status.upper()} · "
                 "esc: playbooks")
    pane.notify(safe_line(outcome.message, 300), title=f"repair {outcome.playbook}: "
                f"{status}", severity=outcome_severity(status), timeout=8)
