"""A repair wizard tab: the playbooks a VM needs, then one playbook's steps as it runs.

Phases: ``loading`` (diagnosing the VM, unless a diagnosis was handed over) → ``choose`` (the
suggested playbooks, best first, with the findings behind each; then the others that apply)
→ ``steps`` (the chosen playbook's every step with its exact preview; Enter runs it) →
``running`` (each destructive step asks in a dialog; waits show elapsed time and the
deadline) → ``done`` (each step's result, each verification check, the outcome, what next).

The engine (through :class:`~tui.backend.Backend`) asks, gates and journals; this pane only
shows events and answers questions. Text from the cloud or the VM is shown as text.

This module holds the phases and their workers; :mod:`tui.repair_view` draws rows and
details, :mod:`tui.repair_run` shows a run's events, :mod:`tui.repair_ask` asks the engine's
questions in dialogs and :mod:`tui.repair_target` says what ``r`` repairs.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from cspctl.cloudstack.models import SystemVm
from cspctl.errors import CspctlError
from cspctl.text import safe_line
from tui.diag_pane import finding_text
from tui.repair_ask import ask_in_dialog
from tui.repair_run import show_run_event
from tui.repair_view import (
    outcome_text,
    playbook_rows,
    playbook_text,
    preview_rows,
    step_text,
)
from widgets.repair import PlaybookList, RepairStepList

if TYPE_CHECKING:
    from cspctl.diagnostics import Finding
    from cspctl.repair import Answer, Outcome, Playbook, Question, StepState
    from cspctl.repair.events import RepairEvent
    from tui.backend import Backend

Phase = Literal["loading", "choose", "preparing", "steps", "running", "done"]


class RepairPane(Vertical):
    """The wizard for one VM. ``findings``: a diagnosis already made (else it diagnoses);
    ``playbook``: go straight to that playbook's steps (``r`` on a failed diagnostics step)."""

    BINDINGS = [
        Binding("g", "run", "Run", id="repair.run"),
        Binding("t", "toggle_dry_run", "Dry-run", id="repair.dry_run"),
        Binding("escape", "back", "Playbooks", id="repair.back"),
    ]

    class Ended(Message):
        """A playbook ended (done, failed or stopped): the VM list may have changed, so the
        app refreshes it."""

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
        self._clock = backend.settings.seams.elapsed or time.monotonic

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(classes="repair-head"):
            yield Static("", id="repair-status", classes="pane-status", markup=False)
            yield Static("", id="repair-mode", markup=False)
        yield PlaybookList(id="repair-playbooks")
        yield RepairStepList(clock=self._clock, id="repair-steps",
                             show_durations=self.backend.settings.seams.show_durations)
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
        self.playbook_list.show(playbook_rows(self.playbooks, self.behind))
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

    @property
    def busy(self) -> bool:
        """Preparing or running a playbook: asking again goes to this tab."""
        return self.phase in ("running", "preparing")

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
        if p is not None:
            self._detail(playbook_text(p, self.behind.get(pid, [])))

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
        for row in preview_rows(self.states.values(), read_only=self.backend.read_only,
                                dry_run=self.dry_run):
            self.step_list.put(row)

    @on(RepairStepList.RowHighlighted, "#repair-steps")
    def _step_highlighted(self, event: RepairStepList.RowHighlighted) -> None:
        self._show_step(event.row_key)

    @on(RepairStepList.RowSelected, "#repair-steps")
    def _step_selected(self, event: RepairStepList.RowSelected) -> None:
        if self.phase == "steps":
            self.action_run()

    def _show_step(self, key: str) -> None:
        if key == "outcome" and self.outcome is not None:
            self._detail(outcome_text(self.outcome))
            return
        if key.startswith("verify:"):
            finding = self.checks.get(key[len("verify:"):])
            if finding is not None:
                settings = self.backend.settings
                self._detail(finding_text(self.vm_name, finding,
                                          durations=settings.seams.show_durations,
                                          scrub=settings.shown))
            else:
                self._detail(f"{key[len('verify:'):]}: checking…")
            return
        s = self.states.get(key)
        if s is None:
            return
        row = self.step_list.steps.get(key)
        self._detail(step_text(s, row.status if row else s.status.value))

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
        self.post_message(self.Ended())

    async def _ask(self, q: Question) -> Answer:
        """Ask in a dialog; the engine journals the question and the answer."""
        return await ask_in_dialog(self.app, q)

    def _on_event(self, event: RepairEvent) -> None:
        show_run_event(self, event)
