"""Guided repair: playbooks that preview, confirm, act and prove the fix (no UI here).

Design (modules, each with one job):

- ``model``     Playbook, Step (read / change / wait; preview, action, undo), Question, Answer,
                StepState, StepStatus, StepResult, StepFailed.
- ``context``   RepairContext: what a step uses (SSH into the VM and its host, async jobs
                followed with progress and a deadline, waiting for the agent to be Up).
- ``runner``    RepairRun: baseline diagnosis, then each step: render, ask its own question,
                pass the :class:`~cspctl.gate.Gate` (read-only refuses, dry-run shows), act,
                stop on the first failure; then verify; journal everything.
- ``verify``    re-runs named checks of the diagnostics catalogue through its runner.
- ``settle``    ends the wait for the agent early when its diagnosed cause (another
                playbook's) is back once the VM runs again.
- ``blast``     who notices a reboot/destroy (CPVM viewer sessions, what needs the SSVM).
- ``events``    typed events for front ends; ``outcome``: Outcome, RunStatus, exit codes.
- ``playbooks`` the catalogue: protect-assets, unprotect-assets, restart-cloud, reboot,
                recreate, fix-timezone, ssl-off, provision-cert, patch, free-disk.

Public API (the CLI and the console use only this)::

    from cspctl.repair import PLAYBOOKS, suggest, run_playbook, Question, Answer

    async def ask(q: Question) -> Answer:          # the front end asks the operator
        ...  # q.kind: "confirm" | "type-name" | "choose"; q.preview, q.vm, q.blast_radius
        return Answer(yes=True)                    # or Answer(text="v-2-VM"), Answer(picked=…)

    outcome = await run_playbook(session, "protect-assets", "v-2-VM", ask=ask,
                                 on_event=show, dry_run=False, timeout=300)
    outcome.exit_code   # 0 verified, 1 done but still failing, 3 could not run, 5 refused

``on_event`` receives :mod:`cspctl.repair.events` (RunStarted with every step's preview,
StepStarted, StepProgress with elapsed time and deadline, Asked/Answered, StepFinished,
VerifyStarted/VerifyFinished, RunFinished). :func:`stream` yields the same events as an
async iterator, ending with RunFinished. ``suggest(findings)`` ranks the playbooks the
findings name, with the findings behind each. Nothing here imports a UI.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from cspctl.errors import CspctlError, UsageError
from cspctl.repair.events import RepairEvent, RunFinished
from cspctl.repair.model import (
    Answer,
    Ask,
    Playbook,
    Question,
    Step,
    StepState,
    StepStatus,
)
from cspctl.repair.outcome import EXIT_CODES, Outcome, RunStatus
from cspctl.repair.playbooks import CATALOGUE, PLAYBOOKS, suggest
from cspctl.repair.runner import DEFAULT_TIMEOUT, RepairRun

if TYPE_CHECKING:
    from cspctl.cloudstack.models import SystemVm
    from cspctl.session import Session


class CannotRepair(CspctlError):
    """The playbook cannot run here (no such VM, wrong type or version): exit 3."""

    exit_code = 3


def playbook(playbook_id: str) -> Playbook:
    """The playbook with this id; UsageError naming the known ones otherwise."""
    try:
        return PLAYBOOKS[playbook_id]
    except KeyError:
        raise UsageError(f"unknown playbook {playbook_id!r} (known: "
                         + ", ".join(PLAYBOOKS) + ")") from None


async def find_vm(session: Session, name: str) -> SystemVm:
    """The live system VM called ``name`` (or with that id); the one "not found" (exit 3)."""
    from cspctl.names import find_system_vms, vm_not_found

    rows = [v for v in await find_system_vms(session.api, name)
            if v.state not in ("Destroyed", "Expunging")]
    if not rows:
        raise vm_not_found(name, session.api)
    return rows[0]


async def prepare(session: Session, playbook_id: str, vm: str | SystemVm,
                  **kw: Any) -> RepairRun:
    """A RepairRun ready to run: the playbook and VM found, preconditions checked."""
    from cspctl.versions import parse_version

    pb = playbook(playbook_id)
    target = await find_vm(session, vm) if isinstance(vm, str) else vm
    mgmt = await session.api.version()
    if target.systemvmtype not in pb.applies_to:
        raise CannotRepair(f"{pb.id} does not apply to {target.name} "
                           f"({target.short_type}); it needs: {pb.requirement()}")
    if pb.min_version and parse_version(mgmt) < pb.min_version:
        raise CannotRepair(f"{pb.id} needs {pb.requirement()}; this cloud runs "
                           f"CloudStack {mgmt}")
    return RepairRun(session, pb, target, mgmt_version=mgmt, **kw)


async def run_playbook(session: Session, playbook_id: str, vm: str | SystemVm, *,
                       ask: Ask | None = None,
                       on_event: Callable[[RepairEvent], Any] | None = None,
                       dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT,
                       poll: float = 2.0) -> Outcome:
    """Run one playbook on one VM and return its :class:`Outcome` (see module docstring)."""
    run = await prepare(session, playbook_id, vm, ask=ask, on_event=on_event,
                        dry_run=dry_run, timeout=timeout, poll=poll)
    return await run.run()


async def stream(session: Session, playbook_id: str, vm: str | SystemVm, *,
                 ask: Ask | None = None, **kw: Any) -> AsyncIterator[RepairEvent]:
    """The same run as :func:`run_playbook`, as an async iterator of its events."""
    queue: asyncio.Queue[RepairEvent | BaseException] = asyncio.Queue()
    task = asyncio.ensure_future(run_playbook(session, playbook_id, vm, ask=ask,
                                              on_event=queue.put_nowait, **kw))

    def failed(t: asyncio.Future[Outcome]) -> None:
        if not t.cancelled() and t.exception() is not None:
            queue.put_nowait(t.exception())  # type: ignore[arg-type]

    task.add_done_callback(failed)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, RunFinished):
                return
    finally:
        if not task.done():
            task.cancel()


__all__ = [
    "CATALOGUE", "DEFAULT_TIMEOUT", "EXIT_CODES", "PLAYBOOKS", "Answer", "Ask", "CannotRepair",
    "Outcome", "Playbook", "Question", "RepairEvent", "RepairRun", "RunStatus", "Step",
    "StepState", "StepStatus", "find_vm", "playbook", "prepare", "run_playbook", "stream",
    "suggest",
]
