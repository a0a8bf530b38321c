"""A repair wizard tab: the playbooks a VM needs, then one playbook's steps as it runs.

Phases: ``loading`` (diagnosing the VM, unless a diagnosis was handed over) → ``choose`` (the
suggested playbooks, best first, with the findings behind each; then the others that apply)
→ ``steps`` (the chosen playbook's every step with its exact preview; Enter runs it) →
``running`` (each destructive step asks in a dialog; waits show elapsed time and the
deadline) → ``done`` (each step's result, each verification check, the outcome, what next).

The engine (through :class:`~tui.backend.Backend`) asks, gates and journals; this pane only
shows events and answers questions. Text from the cloud or the VM is shown as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from cspctl.cloudstack.models import SystemVm
from cspctl.errors import CspctlError
from cspctl.text import safe_block, safe_line
from tui.diag_pane import finding_text
from widgets.confirm import ChooseDialog, ConfirmDialog, TypeNameDialog
from widgets.repair import (
    REPAIR_MARKERS,
    PlaybookList,
    PlaybookRow,
    RepairStepList,
    question_body,
    question_title,
)
from widgets.steps import StepState as Row

if TYPE_CHECKING:
    from cspctl.diagnostics.model import Finding
    from cspctl.repair import Answer, Outcome, Playbook, Question, StepState
    from tui.backend import Backend

Phase = Literal["loading", "choose", "preparing", "steps", "running", "done"]
KIND_WORD = {"change": "changes", "read": "reads", "wait": "waits"}
BAD = ("fail", "error")


def _mark(status: str) -> str:
    marker, word, _ = REPAIR_MARKERS.get(status, ("?", status, ""))
    return f"{marker} {word}"


class RepairPane(Vertical):
    """The wizard for one VM. ``findings``: a diagnosis already made (else it diagnoses);
    ``playbook``: go straight to that playbook's steps (``r`` on a failed diagnostics step)."""

    BINDINGS = [
        Binding("g", "run", "Run", id="repair.run"),
        Binding("t", "toggle_dry_run", "Dry-run", id="repair.dry_run"),
        Binding("escape", "back", "Playbooks", id="repair.back"),
    ]

    def __init__(self, backend: Backend, vm: SystemVm, *, findings: list[Finding] | None = None,
                 playbook: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.backend = backend
        self.vm = vm
        self.findings = findings
        self.initial_playbook = playbook
        self.phase: Phase = "loading"
        self.dry_run = False
        self.playbooks: dict[str, Playbook] = {}
        self.behind: dict[str, list[Finding]] = {}
        self.chosen: Playbook | None = None
        self.states: dict[str, StepState] = {}
        self.checks: dict[str, Finding] = {}
        self.outcome: Outcome | None = None
        self.pending_question: Question | None = None
        self._clock = backend.settings.elapsed or time.monotonic

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(classes="repair-head"):
            yield Static("", id="repair-status", classes="pane-status", markup=False)
            yield Static("", id="repair-mode", markup=False)
        yield PlaybookList(id="repair-playbooks")
        yield RepairStepList(clock=self._clock, id="repair-steps",
                             show_durations=self.backend.settings.show_durations)
        yield Static("", id="repair-progress", markup=False)
        with VerticalScroll(id="repair-detail"):
            yield Static("", id="repair-text", markup=False)

    @property
    def playbook_list(self) -> PlaybookList:
        return self.query_one(PlaybookList)

    @property
    def step_list(self) -> RepairStepList:
        return self.query_one(RepairStepList)

    @property
    def vm_name(self) -> str:
        return safe_line(self.vm.name or self.vm.id or "?")

    def focus(self, scroll_visible: bool = True) -> RepairPane:
        """Focus the list of the current phase (the app focuses a tab's pane this way)."""
        table = self.playbook_list if self.phase in ("loading", "choose") else self.step_list
        table.focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        self.step_list.display = False
        self.playbook_list.focus()
        self._show_mode()
        self.load_suggestions()

    def _status(self, text: str) -> None:
        self.query_one("#repair-status", Static).update(self.backend.settings.shown(text))

    def _progress(self, text: str) -> None:
        self.query_one("#repair-progress", Static).update(self.backend.settings.shown(text))

    def _detail(self, text: Text | str) -> None:
        self.query_one("#repair-text", Static).update(text)

    def _show_mode(self) -> None:
        parts = []
        if self.backend.read_only:
            parts.append("READ-ONLY")
        if self.dry_run:
            parts.append("DRY-RUN")
        mode = self.query_one("#repair-mode", Static)
        mode.update(" ".join(parts) or "live")
        mode.set_class(bool(parts), "on")
        if self.phase == "steps":
            self._show_preview_rows()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return self.phase == "steps"
        if action == "back":
            return self.phase in ("steps", "done")
        if action == "toggle_dry_run":
            return self.phase not in ("running", "preparing")
        return True

    # -- choose -----------------------------------------------------------------------------
    @work(exclusive=True, group="repair-load", exit_on_error=False)
    async def load_suggestions(self) -> None:
        self._set_phase("loading")
        given = self.findings
        self.findings = None  # handed over once; later lists come from a fresh diagnosis
        self._status(f"repair {self.vm_name}: " + (
            "playbooks from the diagnosis…" if given is not None
            else "diagnosing it to suggest playbooks…"))
        ranked: list[tuple[Playbook, list[Finding]]] = []
        try:
            if given is None:  # diagnose what the VM is now, not what it was when selected
                await self._reload_vm()
            ranked = await self.backend.suggest_repairs(self.vm, given)
        except CspctlError as exc:
            self.notify(str(exc), title=f"repair {self.vm_name}", severity="error", timeout=10)
            self._status(f"✘ could not diagnose {self.vm_name}: {exc}")
        except Exception as exc:  # never crash the console on an engine error
            self.notify(f"{type(exc).__name__}: {exc}", title=f"repair {self.vm_name}",
                        severity="error", timeout=10)
        self.behind = {p.id: fs for p, fs in ranked}
        self.playbooks = {p.id: p for p, _ in ranked}
        for p in self.backend.repair_playbooks(self.vm):
            self.playbooks.setdefault(p.id, p)
        rows = []
        for pid, p in self.playbooks.items():
            fs = self.behind.get(pid, [])
            worst = "fail" if any(f.status.value == "fail" for f in fs) else (
                "warn" if fs else "other")
            because = ", ".join(f"{_mark(f.status.value).split()[0]} {f.check_id}" for f in fs)
            rows.append(PlaybookRow(pid, p.title, worst, because))
        self.playbook_list.show(rows)
        self._set_phase("choose")
        if ranked:
            self._status(f"repair {self.vm_name}: {len(ranked)} suggested, best first · "
                         "enter: its steps")
        elif self.phase == "choose":
            self._status(f"repair {self.vm_name}: no finding calls for a playbook · "
                         "enter: a playbook's steps")
        if self.playbook_list.row_count:
            self.playbook_list.move_cursor(row=0)
            self._show_playbook(next(iter(self.playbooks)))
        wanted, self.initial_playbook = self.initial_playbook, None
        if wanted in self.playbooks:
            self.playbook_list.select_key(wanted)
            self.prepare_steps(wanted)

    async def _reload_vm(self) -> None:
        """The VM's current record (state, agent state, addresses) from the API."""
        self.vm = await self.backend.find_vm(self.vm.id or self.vm.name or "?")

    def _set_phase(self, phase: Phase) -> None:
        self.phase = phase
        choosing = phase in ("loading", "choose")
        self.playbook_list.display = choosing
        self.step_list.display = not choosing
        if self.has_focus_within or self.app.focused is None:
            self.focus()
        self.refresh_bindings()

    @on(PlaybookList.RowHighlighted, "#repair-playbooks")
    def _playbook_highlighted(self, event: PlaybookList.RowHighlighted) -> None:
        self._show_playbook(event.row_key)

    @on(PlaybookList.RowSelected, "#repair-playbooks")
    def _playbook_selected(self, event: PlaybookList.RowSelected) -> None:
        if self.phase == "choose" and event.row_key in self.playbooks:
            self.prepare_steps(event.row_key)

    def _show_playbook(self, pid: str) -> None:
        p = self.playbooks.get(pid)
        if p is None:
            return
        out = Text()
        out.append(f"{p.id}", style="bold")
        out.append(f" — {p.title}\n{p.summary}\nneeds: {p.requirement()}\n")
        fs = self.behind.get(pid, [])
        if fs:
            out.append("because:\n", style="bold")
            for f in fs:
                out.append(f" {_mark(f.status.value)} {f.title}: {safe_line(f.summary, 300)}\n")
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
        self._detail(out)

    # -- steps ------------------------------------------------------------------------------
    @work(exclusive=True, group="repair-prepare", exit_on_error=False)
    async def prepare_steps(self, pid: str) -> None:
        """Render the chosen playbook's steps (previews) for this VM."""
        p = self.playbooks[pid]
        self._set_phase("preparing")
        self._status(f"{p.id} on {self.vm_name}: rendering its steps…")
        try:
            states = await self.backend.preview_repair(pid, self.vm)
        except CspctlError as exc:
            self._set_phase("choose")
            self._status(f"✘ {p.id}: {exc}")
            self.notify(str(exc), title=f"repair {p.id}", severity="error", timeout=10)
            return
        except Exception as exc:
            self._set_phase("choose")
            self._status(f"✘ {p.id}: {type(exc).__name__}: {exc}")
            return
        self.chosen = p
        self.outcome = None
        self.checks = {}
        self.states = {s.id: s for s in states}
        self.step_list.clear_steps()
        self._set_phase("steps")
        self._show_preview_rows()
        changes = sum(1 for s in states if s.destructive)
        self._status(f"{p.id} on {self.vm_name}: {len(states)} steps, {changes} ask first"
                     " · g: run")
        self._progress("")
        self.step_list.move_cursor(row=0)
        self._show_step(states[0].id if states else "")

    def _show_preview_rows(self) -> None:
        refused = self.backend.read_only
        for s in self.states.values():
            status, summary = "pending", s.preview
            if s.destructive and refused:
                status, summary = "refused", "read-only: will be refused, nothing runs"
            elif s.destructive and self.dry_run:
                status, summary = "dry-run", "dry-run: shown, not run"
            self.step_list.put(Row(s.id, KIND_WORD[s.kind], s.title, status, safe_line(summary)))

    @on(RepairStepList.RowHighlighted, "#repair-steps")
    def _step_highlighted(self, event: RepairStepList.RowHighlighted) -> None:
        self._show_step(event.row_key)

    @on(RepairStepList.RowSelected, "#repair-steps")
    def _step_selected(self, event: RepairStepList.RowSelected) -> None:
        if self.phase == "steps":
            self.action_run()

    def _show_step(self, key: str) -> None:
        if key == "outcome" and self.outcome is not None:
            self._detail(self._outcome_text(self.outcome))
            return
        if key.startswith("verify:"):
            finding = self.checks.get(key[len("verify:"):])
            if finding is not None:
                settings = self.backend.settings
                self._detail(finding_text(self.vm_name, finding,
                                          durations=settings.show_durations,
                                          scrub=settings.shown))
            else:
                self._detail(f"{key[len('verify:'):]}: checking…")
            return
        s = self.states.get(key)
        if s is None:
            return
        out = Text()
        row = self.step_list.steps.get(key)
        out.append(f"{_mark(row.status if row else s.status.value)} ", style="bold")
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
        self._detail(out)

    def action_toggle_dry_run(self) -> None:
        """Dry-run on/off: every step shown, nothing changed."""
        self.dry_run = not self.dry_run
        self._show_mode()
        self.notify("dry-run ON: the next run shows every step and changes nothing"
                    if self.dry_run else "dry-run off: the next run changes the VM "
                    "(each change asks first)", title="repair", timeout=4)

    def action_back(self) -> None:
        """Back to the playbooks (re-diagnosed after a run)."""
        if self.phase in ("steps", "done"):
            self.chosen = None
            self._progress("")
            self.load_suggestions()

    # -- run --------------------------------------------------------------------------------
    def action_run(self) -> None:
        """Run the chosen playbook: each destructive step asks first."""
        if self.phase == "steps" and self.chosen is not None:
            self.run_repair()

    @work(exclusive=True, group="repair-run", exit_on_error=False)
    async def run_repair(self) -> None:
        p = self.chosen
        if p is None:
            return
        self._set_phase("running")
        self._status(f"{p.id} on {self.vm_name}: running…")
        outcome: Outcome | None = None
        try:
            await self._reload_vm()
            outcome = await self.backend.run_repair(p.id, self.vm, ask=self._ask,
                                                    on_event=self._on_event,
                                                    dry_run=self.dry_run)
        except CspctlError as exc:
            self._status(f"✘ {p.id} could not run on {self.vm_name}: {exc}")
            self.notify(str(exc), title=f"repair {p.id}", severity="error", timeout=10)
        except Exception as exc:
            self._status(f"✘ {p.id}: {type(exc).__name__}: {exc}")
            self.notify(f"{type(exc).__name__}: {exc}", title=f"repair {p.id}",
                        severity="error", timeout=10)
        self._set_phase("done")
        if outcome is None:
            return
        if outcome.final_vm:
            with contextlib.suppress(CspctlError):
                self.vm = await self.backend.find_vm(outcome.final_vm)
        refresh = getattr(self.app, "refresh_data", None)
        if callable(refresh):
            refresh()

    async def _ask(self, q: Question) -> Answer:
        """Ask in a dialog; the engine journals the question and the answer."""
        from cspctl.repair import Answer

        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def answered(value: Any) -> None:
            if not done.done():
                done.set_result(value)

        title, body = question_title(q), question_body(q)
        if q.kind == "type-name":
            self.app.push_screen(TypeNameDialog(
                title, body, prompt=f"Type the VM's name ({safe_line(q.expected or '')}) "
                "to confirm:", yes="Destroy"), callback=answered)
            typed = await done
            return Answer(text=typed)
        if q.kind == "choose":
            self.app.push_screen(ChooseDialog(title, body, q.choices), callback=answered)
            picked = await done
            return Answer(picked=tuple(picked or ()))
        self.app.push_screen(ConfirmDialog(title, body, yes="Run it", no="Don't"),
                             callback=answered)
        return Answer(yes=bool(await done))

    def _on_event(self, event: object) -> None:
        from cspctl.repair.events import (
            Answered,
            Asked,
            RunFinished,
            RunStarted,
            StepFinished,
            StepProgress,
            StepStarted,
            VerifyFinished,
            VerifyStarted,
        )

        steps = self.step_list
        if isinstance(event, RunStarted):
            steps.clear_steps()
            for s in event.steps:
                self.states[s.id] = s
                steps.put(Row(s.id, KIND_WORD[s.kind], s.title, "pending",
                              safe_line(s.preview)))
            mode = " (dry-run: nothing changes)" if event.dry_run else (
                " (read-only: changes are refused)" if event.read_only else "")
            self._status(f"{event.playbook} on {safe_line(event.vm)}: running{mode}")
        elif isinstance(event, StepStarted):
            s = event.step
            self.states[s.id] = s
            steps.update_step(s.id, status="running", summary=safe_line(s.preview),
                              started=self._clock())
            self._progress(f"… {s.title}")
        elif isinstance(event, StepProgress):
            self._progress(f"… {event.elapsed:.0f} s of at most {event.deadline:g} s · "
                           f"{safe_line(event.message)}")
        elif isinstance(event, Asked):
            self.pending_question = event.question
            steps.update_step(event.question.step_id, status="asking")
            self._progress(f"? waiting for your answer: {event.question.title}")
        elif isinstance(event, Answered):
            self.pending_question = None
            steps.update_step(event.question.step_id, status="running")
        elif isinstance(event, StepFinished):
            s = event.step
            self.states[s.id] = s
            status = s.status.value
            if status == "done" and getattr(s, "attention", False):
                status = "attention"
            steps.update_step(s.id, status=status, summary=safe_line(s.summary),
                              duration=s.elapsed)
            self._progress(f"{_mark(status)} {s.title}")
        elif isinstance(event, VerifyStarted):
            for cid in event.checks:
                steps.put(Row(f"verify:{cid}", "verifies", self.backend.check_title(cid),
                              "running", started=self._clock()))
            self._progress(f"… verifying {safe_line(event.vm)}: {len(event.checks)} checks")
        elif isinstance(event, VerifyFinished):
            for f in event.findings:
                self.checks[f.check_id] = f
                summary = f.summary if f.status.value != "skipped" else (f.reason or f.summary)
                steps.put(Row(f"verify:{f.check_id}", "verifies", f.title, f.status.value,
                              safe_line(summary), duration=f.duration))
        elif isinstance(event, RunFinished):
            self._finished(event.outcome)
        key = steps.selected_key
        if key is not None:
            self._show_step(key)

    def _finished(self, outcome: Outcome) -> None:
        self.outcome = outcome
        status = outcome.status.value
        steps = self.step_list
        for s in outcome.steps:
            if s.status.value == "not-run":
                steps.update_step(s.id, status="not-run", summary="not run")
        steps.put(Row("outcome", "", "Outcome", status, safe_line(outcome.message, 500)))
        steps.select_key("outcome")
        self._detail(self._outcome_text(outcome))
        self._progress(f"{_mark(status)}: {safe_line(outcome.message, 500)}")
        self._status(f"{outcome.playbook} on {self.vm_name}: {status.upper()} · "
                     "esc: playbooks")
        severity = ("information" if status in ("verified", "dry-run")
                    else "error" if status in ("failed", "error") else "warning")
        self.notify(safe_line(outcome.message, 300), title=f"repair {outcome.playbook}: "
                    f"{status}", severity=severity, timeout=8)

    def _outcome_text(self, o: Outcome) -> Text:
        out = Text()
        out.append(f"{_mark(o.status.value)}: ", style="bold")
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


def repair_target(app: Any) -> tuple[SystemVm, list[Finding] | None, str | None] | None:
    """What ``r`` repairs: the selected diagnostics step's VM and playbook (with that
    diagnosis), else the selected VM (with a finished diagnosis of it, if a tab has one)."""
    from tui.diag_pane import DiagnosticsPane

    active = app.tabs.active
    diag = app._pane(active, DiagnosticsPane)
    if diag is not None:
        key = diag.steps.selected_key
        vm_id = key.split(":", 1)[0] if key else None
        vm = next((v for v in diag.vms if v.id == vm_id), None)
        if vm is None and len(diag.vms) == 1:
            vm = diag.vms[0]
        if vm is None:
            app.notify("select a step of the VM to repair", severity="warning", timeout=3)
            return None
        found = diag.findings.get(key) if key else None
        playbook = None
        if found is not None and found[1].status.value in ("fail", "warn", "error"):
            playbook = found[1].playbook
        return vm, _findings_of(diag, vm) if diag.state == "done" else None, playbook
    wizard = app._pane(active, RepairPane)
    if wizard is not None:
        wizard.focus()
        return None
    vm = app._selected_vm()
    if vm is None:
        return None
    for pane in app.query(DiagnosticsPane):
        if pane.state == "done" and any(v.id == vm.id for v in pane.vms):
            return vm, _findings_of(pane, vm), None
    return vm, None, None


def _findings_of(diag: Any, vm: SystemVm) -> list[Finding]:
    return [f for key, (_, f) in diag.findings.items() if key.split(":", 1)[0] == vm.id]
