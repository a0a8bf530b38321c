"""Typed events a repair run streams to its front end (CLI lines, console wizard)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cspctl.repair.model import Answer, Question, StepState

if TYPE_CHECKING:
    from cspctl.diagnostics.model import Finding
    from cspctl.repair.outcome import Outcome


@dataclass(frozen=True)
class RunStarted:
    """The playbook is about to run on ``vm``; ``steps`` hold every rendered preview."""

    run_id: str
    playbook: str
    title: str
    vm: str
    steps: tuple[StepState, ...]
    dry_run: bool
    read_only: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepStarted:
    step: StepState


@dataclass(frozen=True)
class StepProgress:
    """A long step's progress: an async job or a wait, with elapsed time and the deadline."""

    step_id: str
    message: str
    elapsed: float
    deadline: float


@dataclass(frozen=True)
class Asked:
    question: Question


@dataclass(frozen=True)
class Answered:
    question: Question
    answer: Answer


@dataclass(frozen=True)
class StepFinished:
    step: StepState


@dataclass(frozen=True)
class VerifyStarted:
    vm: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class VerifyFinished:
    vm: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class RunFinished:
    outcome: Outcome


RepairEvent = (RunStarted | StepStarted | StepProgress | Asked | Answered | StepFinished
               | VerifyStarted | VerifyFinished | RunFinished)
