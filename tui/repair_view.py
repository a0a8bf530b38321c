"""What the repair wizard shows: its list rows and its detail (a playbook, a step, an outcome).

Pure functions from the engine's types to rows and Rich :class:`~rich.text.Text`; every value
from the cloud or the VM goes in as text (never markup) with its controls made visible.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from rich.text import Text

from cspctl.text import safe_block, safe_line
from widgets.repair import REPAIR_MARKERS, PlaybookRow
from widgets.steps import StepState as Row

if TYPE_CHECKING:
    from cspctl.diagnostics import Finding
    from cspctl.repair import Outcome, Playbook, StepState

KIND_WORD = {"change": "changes", "read": "reads", "wait": "waits"}
"""A step's kind as the step list's second column says it."""


def mark(status: str) -> str:
    """The status's marker and word ("✔ done"), as the step lists draw them."""
    marker, word = REPAIR_MARKERS.get(status, ("?", status))
    return f"{marker} {word}"


def playbook_rows(playbooks: dict[str, Playbook], behind: dict[str, list[Finding]],
                  ) -> list[PlaybookRow]:
    """One row per playbook: how bad the findings behind it are, and which they are."""
    rows = []
    for pid, p in playbooks.items():
        fs = behind.get(pid, [])
        worst = "fail" if any(f.status.value == "fail" for f in fs) else (
            "warn" if fs else "other")
        because = ", ".join(f"{mark(f.status.value).split()[0]} {f.check_id}" for f in fs)
        rows.append(PlaybookRow(pid, p.title, worst, because))
    return rows


def preview_rows(states: Iterable[StepState], *, read_only: bool, dry_run: bool) -> list[Row]:
    """The steps before a run: each with its preview, or what read-only/dry-run will do."""
    rows = []
    for s in states:
        status, summary = "pending", s.preview
        if s.destructive and read_only:
            status, summary = "refused", "read-only: will be refused, nothing runs"
        elif s.destructive and dry_run:
            status, summary = "dry-run", "dry-run: shown, not run"
        rows.append(Row(s.id, KIND_WORD[s.kind], s.title, status, safe_line(summary)))
    return rows


Severity = Literal["information", "warning", "error"]


def outcome_severity(status: str) -> Severity:
    """How loudly an outcome is notified: verified/dry-run inform, failures are errors."""
    if status in ("verified", "dry-run"):
        return "information"
    return "error" if status in ("failed", "error") else "warning"


def playbook_text(p: Playbook, behind: list[Finding]) -> Text:
    """A playbook: what it does and needs, the findings that call for it, its steps."""
    out = Text()
    out.append(f"{p.id}", style="bold")
    out.append(f" — {p.title}\n{p.summary}\nneeds: {p.requirement()}\n")
    if behind:
        out.append("because:\n", style="bold")
        for f in behind:
            out.append(f" {mark(f.status.value)} {f.title}: {safe_line(f.summary, 300)}\n")
    else:
        out.append("no finding on this VM calls for it\n", style="italic")
    out.append("steps:\n", style="bold")
    for i, s in enumerate(p.steps, 1):
        ask = " (asks first)" if s.destructive else ""
        out.append(f" {i}. [{KIND_WORD[s.kind]}{ask}] {s.title}\n")
    for note in p.notes:
        out.append("note: ", style="bold")
        out.append(f"{note}\n")
    out.append("enter: every step with its exact preview", style="dim")
    return out


def step_text(s: StepState, shown_status: str) -> Text:
    """One step: its status (as the list shows it), what it runs, its undo and result."""
    out = Text()
    out.append(f"{mark(shown_status)} ", style="bold")
    out.append(f"{s.title}\n", style="bold")
    out.append("changes the VM: asks first\n" if s.destructive
               else "reads only\n" if s.kind == "read" else "waits for what ran before\n",
               style="italic")
    out.append("runs: ", style="bold")
    out.append(safe_block(s.preview) + "\n")
    out.append("undo: ", style="bold")
    out.append((safe_line(s.undo) if s.undo else "-") + "\n")
    if s.summary:
        out.append("result: ", style="bold")
        out.append(safe_line(s.summary, 1000) + "\n")
    if s.output:
        out.append("\n" + safe_block(s.output) + "\n")
    return out


def outcome_text(o: Outcome) -> Text:
    """A run's outcome: what it proved, what ran and not, what to do next."""
    out = Text()
    out.append(f"{mark(o.status.value)}: ", style="bold")
    out.append(safe_line(o.message, 2000) + "\n")
    if o.final_vm:
        out.append(f"the VM is now {safe_line(o.final_vm)}\n", style="bold")
    out.append(f"ran: {', '.join(o.ran) or 'nothing'}; not run: "
               f"{', '.join(o.not_run) or 'nothing'}\n")
    if o.suggestions:
        out.append("suggested next: " + ", ".join(o.suggestions) + "\n", style="bold")
    out.append("next: ", style="bold")
    out.append(safe_line(o.next_step, 2000) + "\n")
    out.append("esc: back to the playbooks for this VM (diagnosed again)", style="dim")
    return out
