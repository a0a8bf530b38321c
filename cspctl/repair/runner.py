"""Run one playbook on one VM: preview, ask, gate, act, stop on failure, verify, journal.

Every destructive step gets its own question (answered by the front end through ``ask``) and
passes the engine's :class:`~cspctl.gate.Gate`: read-only refuses it, dry-run shows it,
a "no" (or a wrongly typed name) stops the playbook. The journal gets ``repair.start``,
``repair.question``/``repair.answer``, ``repair.step``, ``repair.verify`` and ``repair.end``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cspctl.diagnostics import VmReport
from cspctl.errors import CspctlError
from cspctl.gate import Gate, NotConfirmed, ReadOnlyRefused
from cspctl.repair import verify
from cspctl.repair.blast import blast_radius
from cspctl.repair.context import RepairContext
from cspctl.repair.events import (
    Answered,
    Asked,
    RepairEvent,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    VerifyFinished,
    VerifyStarted,
)
from cspctl.repair.model import (
    Answer,
    Ask,
    Playbook,
    Question,
    Step,
    StepFailed,
    StepState,
    StepStatus,
)
from cspctl.repair.outcome import Outcome, RunStatus
from cspctl.repair.playbooks import suggest
from cspctl.repair.settle import cause_probe
from cspctl.text import safe_line, truncate

if TYPE_CHECKING:
    from cspctl.cloudstack.models import SystemVm
    from cspctl.session import Session

MAX_OUTPUT = 16 * 1024
"""Most characters of a step's output kept (journal, outcome); cut with a visible marker."""
DEFAULT_TIMEOUT = 300.0
"""Seconds to wait for each async job and for the agent to come Up (real clouds)."""


class Stop(Exception):
    """The playbook stops here with this run status."""

    def __init__(self, status: RunStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _render(fn: Callable[[RepairContext], str] | None, ctx: RepairContext) -> str | None:
    if fn is None:
        return None
    try:
        return fn(ctx)
    except Exception as exc:  # a preview must never break the run
        return f"(cannot render: {type(exc).__name__}: {exc})"


class RepairRun:
    """One playbook on one VM. ``await run()`` returns the :class:`Outcome`."""

    def __init__(self, session: Session, playbook: Playbook, vm: SystemVm, *,
                 ask: Ask | None = None, on_event: Callable[[RepairEvent], Any] | None = None,
                 dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT,
                 mgmt_version: str | None = None, poll: float = 2.0) -> None:
        self.session = session
        self.playbook = playbook
        self.ask = ask
        self.on_event = on_event
        session_gate = getattr(session, "gate", None)  # the session's own, once it has one
        read_only = bool(session.read_only or getattr(session_gate, "read_only", False))
        self.gate = Gate(read_only=read_only, dry_run=dry_run)
        self.run_id = uuid.uuid4().hex[:8]
        self.ctx = RepairContext(session, vm, timeout=timeout, emit=self._emit,
                                 mgmt_version=mgmt_version, poll=poll)
        self.ctx.gate = self.gate
        self.ctx.asker = self.question
        self.states = [StepState(s.id, s.title, s.kind) for s in playbook.steps]
        self.before: VmReport | None = None
        self.after: VmReport | None = None

    # ---- plumbing ------------------------------------------------------------------------
    def _emit(self, event: RepairEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception as exc:  # a broken front end never breaks a repair half-way
                self._record("repair.listener_error", error=f"{type(exc).__name__}: {exc}")

    def _record(self, event: str, **fields: Any) -> None:
        self.session.journal.record(event, run_id=self.run_id, playbook=self.playbook.id,
                                    vm=self.ctx.name, vm_id=self.ctx.vm.id, **fields)

    def preview(self) -> list[StepState]:
        """Every step with its preview rendered from what is known now (before running)."""
        self._refresh_previews()
        return list(self.states)

    def _refresh_previews(self) -> None:
        for step, state in zip(self.playbook.steps, self.states, strict=True):
            if state.status is StepStatus.PENDING:
                state.preview = _render(step.preview, self.ctx) or ""
                state.undo = _render(step.undo, self.ctx)

    # ---- the run --------------------------------------------------------------------------
    async def run(self) -> Outcome:
        started = time.monotonic()
        pb, ctx = self.playbook, self.ctx
        self._refresh_previews()
        self._record("repair.start", title=pb.title, dry_run=self.gate.dry_run,
                     read_only=self.gate.read_only, timeout=ctx.timeout,
                     steps=[{"id": s.id, "title": s.title, "destructive": s.destructive,
                             "preview": s.preview} for s in self.states])
        self._emit(RunStarted(self.run_id, pb.id, pb.title, ctx.name, tuple(self.states),
                              self.gate.dry_run, self.gate.read_only, pb.notes))
        status, message = RunStatus.VERIFIED, ""
        findings: list[Any] = []
        try:
            self.before = await verify.diagnose(self.session, ctx.vm,
                                                writes=self.gate.allows_writes())
            ctx.settle = cause_probe(self.session, self.before, pb.id, timeout=ctx.timeout)
            for step, state in zip(pb.steps, self.states, strict=True):
                await self._step(step, state)
            if self.gate.dry_run:
                status, message = RunStatus.DRY_RUN, "dry-run: every step shown, nothing changed"
            else:
                findings = await self._verify()
                bad = verify.still_failing(findings)
                if bad:
                    status = RunStatus.UNVERIFIED
                    message = "done, but still failing: " + "; ".join(
                        f"{f.title}: {f.summary}" for f in bad)
                else:
                    message = "done and verified: " + ", ".join(
                        f"{f.check_id} {f.status.value}" for f in findings)
                others = [f for f in verify.still_failing(self.after.findings if self.after
                                                          else []) if f not in findings]
                if others:
                    message += ("; other checks still fail (another playbook's job): "
                                + ", ".join(f.check_id for f in others))
        except Stop as stop:
            status, message = stop.status, str(stop)
        except CspctlError as exc:  # e.g. the API is down before or after the steps
            status, message = RunStatus.ERROR, f"could not run: {exc}"
        except asyncio.CancelledError:  # Ctrl+C, a closed console tab: say where it stopped
            self._record("repair.end", status="interrupted", exit_code=130,
                         ran=[s.id for s in self.states if s.status in (
                             StepStatus.DONE, StepStatus.FAILED)],
                         running=[s.id for s in self.states if s.status is StepStatus.RUNNING],
                         elapsed=round(time.monotonic() - started, 3))
            raise
        for state in self.states:
            if state.status is StepStatus.PENDING:
                state.status = StepStatus.NOT_RUN
        outcome = self._outcome(status, message, findings, time.monotonic() - started)
        self._record("repair.end", status=outcome.status.value, exit_code=outcome.exit_code,
                     message=outcome.message, ran=outcome.ran, not_run=outcome.not_run,
                     next=outcome.next_step, suggestions=outcome.suggestions,
                     final_vm=outcome.final_vm, elapsed=round(outcome.elapsed, 3))
        self._emit(RunFinished(outcome))
        return outcome

    async def _step(self, step: Step, state: StepState) -> None:
        ctx = self.ctx
        ctx.step_id = step.id
        began = time.monotonic()
        state.status = StepStatus.RUNNING
        try:
            if step.prepare is not None and not (step.kind == "wait" and self.gate.dry_run):
                await step.prepare(ctx)
            state.preview = _render(step.preview, ctx) or ""
            state.undo = _render(step.undo, ctx)
            self._emit(StepStarted(state))
            if step.kind == "change":
                if not await self._authorized(step, state):
                    return
            elif step.kind == "wait" and self.gate.dry_run:
                self._finish(state, StepStatus.DRY_RUN, "dry-run: nothing to wait for", began)
                return
            result = await step.action(ctx)
        except Stop:
            raise
        except StepFailed as exc:
            self._fail(state, str(exc), exc.output, began)
        except CspctlError as exc:
            self._fail(state, str(exc), "", began)
        except TimeoutError:
            self._fail(state, f"no answer within {ctx.timeout:g} s", "", began)
        except Exception as exc:  # a broken step stops the playbook, never half-silently
            self._fail(state, f"internal error: {type(exc).__name__}: {exc}", "", began)
        else:
            state.attention = result.attention
            self._finish(state, StepStatus.DONE, result.summary, began, result.output)
            self._refresh_previews()

    def _finish(self, state: StepState, status: StepStatus, summary: str, began: float,
                output: str = "") -> None:
        state.status, state.summary = status, summary
        state.output = truncate(output, MAX_OUTPUT)
        state.elapsed = time.monotonic() - began
        self._record("repair.step", step=state.id, title=state.title,
                     destructive=state.destructive, preview=state.preview, undo=state.undo,
                     status=status.value, summary=summary, output=output,
                     elapsed=round(state.elapsed, 3))
        self._emit(StepFinished(state))

    def _fail(self, state: StepState, why: str, output: str, began: float) -> None:
        self._finish(state, StepStatus.FAILED, why, began, output)
        raise Stop(RunStatus.FAILED, f"step {state.id} failed: {why}")

    async def _authorized(self, step: Step, state: StepState) -> bool:
        """Ask this step's own question and pass the gate; False when only shown (dry-run)."""
        began = time.monotonic()
        if self.gate.read_only:
            try:
                self.gate.authorize(state.preview, confirmed=False)
            except ReadOnlyRefused as exc:
                self._finish(state, StepStatus.REFUSED, str(exc), began)
                raise Stop(RunStatus.REFUSED, str(exc)) from None
        if self.gate.dry_run:
            self._finish(state, StepStatus.DRY_RUN, "dry-run: not run", began)
            return False
        blast = await blast_radius(self.ctx) if step.blast else ()
        question = Question(
            kind="type-name" if step.confirm == "name" else "confirm",
            playbook=self.playbook.id, step_id=step.id, title=step.title, vm=self.ctx.name,
            preview=state.preview, blast_radius=blast, warning=step.warning, undo=state.undo,
            expected=self.ctx.name if step.confirm == "name" else None)
        answer = await self.question(question)
        if question.kind == "type-name":
            confirmed = answer.text is not None and answer.text.strip() == question.expected
        else:
            confirmed = answer.yes
        try:
            self.gate.authorize(state.preview, confirmed=confirmed)
        except NotConfirmed:
            if question.kind == "confirm":
                why = "declined"
            elif answer.text is None:
                why = f"no name typed; type {question.expected}, or give --confirm-name"
            else:
                why = (f"the typed name {safe_line(answer.text, 80)!r} is not "
                       f"{question.expected}")
            self._finish(state, StepStatus.DECLINED, f"not confirmed ({why}): nothing done",
                         began)
            raise Stop(RunStatus.DECLINED, f"step {step.id} not confirmed ({why})") from None
        return True

    async def question(self, question: Question) -> Answer:
        """Ask through the front end; journal the question and the answer."""
        self._record("repair.question", step=question.step_id, **{
            k: v for k, v in question.to_dict().items() if k not in ("playbook", "step", "vm")})
        self._emit(Asked(question))
        answer = await self.ask(question) if self.ask is not None else Answer()
        self._record("repair.answer", step=question.step_id, kind=question.kind,
                     answer="yes" if answer.yes else "no",
                     typed=safe_line(answer.text, 200) if answer.text is not None else None,
                     picked=list(answer.picked))
        self._emit(Answered(question, answer))
        return answer

    async def _verify(self) -> list[Any]:
        ctx = self.ctx
        fresh = await ctx.reload()
        if fresh is not None:
            ctx.vm = fresh
        checks = verify.plan([*self.playbook.verify, *(
            f.check_id for f in (self.before.findings if self.before else ())
            if f.status.value == "fail")], writes=self.gate.allows_writes())
        self._emit(VerifyStarted(ctx.name, tuple(c.id for c in checks)))
        after = await verify.diagnose(self.session, ctx.vm, checks,
                                      writes=self.gate.allows_writes())
        self.after = after
        findings = verify.judged(after, self.playbook.verify,
                                 self.before if self.playbook.rerun_failed else None)
        self._record("repair.verify", checks=[c.id for c in checks],
                     verified=not verify.still_failing(findings),
                     findings=[{"check_id": f.check_id, "status": f.status.value,
                                "summary": f.summary} for f in after.findings])
        self._emit(VerifyFinished(ctx.name, tuple(after.findings)))
        return findings

    # ---- the outcome ----------------------------------------------------------------------
    def _outcome(self, status: RunStatus, message: str, findings: list[Any],
                 elapsed: float) -> Outcome:
        pb, ctx = self.playbook, self.ctx
        outcome = Outcome(self.run_id, pb.id, ctx.original.name or "?", status, message,
                          self.states, findings, elapsed=elapsed,
                          final_vm=ctx.name if ctx.vm.id != ctx.original.id else None)
        source = self.after.findings if self.after is not None else (
            self.before.findings if self.before else [])
        outcome.suggestions = [p.id for p, _ in suggest(source, exclude=pb.id if status in (
            RunStatus.UNVERIFIED, RunStatus.VERIFIED) else None)]
        outcome.next_step = next_step(outcome, ctx.name)
        return outcome


def next_step(outcome: Outcome, vm: str) -> str:
    """What the operator should do now, in one or two sentences."""
    undo = [s.undo for s in outcome.steps if s.status is StepStatus.DONE and s.undo]
    again = f"cspctl repair {outcome.playbook} {outcome.vm}"
    if outcome.status is RunStatus.VERIFIED:
        if outcome.suggestions:
            return (f"this playbook's checks pass; still to fix: cspctl repair "
                    f"{outcome.suggestions[0]} {vm}")
        return "nothing: the checks prove the fix"
    if outcome.status is RunStatus.DRY_RUN:
        return f"run it for real: {again}"
    if outcome.status is RunStatus.UNVERIFIED:
        if outcome.suggestions:
            return (f"this playbook did not fix it; try: cspctl repair "
                    f"{outcome.suggestions[0]} {vm}")
        return f"read the failing checks: cspctl diagnose {vm}"
    text = {RunStatus.REFUSED: "run without --read-only to allow changes",
            RunStatus.DECLINED: f"nothing more was changed; run {again} again when ready",
            RunStatus.FAILED: f"fix the cause above, then run {again} again",
            RunStatus.ERROR: "check the API and SSH access (cspctl diagnose " + vm + ")"}
    tail = f"; to undo what ran: {' ; '.join(undo)}" if undo else ""
    return text[outcome.status] + tail
