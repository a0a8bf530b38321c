"""What a repair is made of: playbooks, steps, the questions they ask and what they report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from cspctl.diagnostics.model import Tone, Worded
from cspctl.playbook_ids import PlaybookId

if TYPE_CHECKING:
    from cspctl.repair.context import RepairContext

StepKind = Literal["read", "change", "wait"]
"""``read`` changes nothing (runs in dry-run and read-only), ``change`` is destructive (asks,
gated), ``wait`` follows what a change started (skipped when nothing ran)."""


class StepStatus(Worded, StrEnum):
    """Where a step is; its marker and word (``✔ DONE``, ``⊘ REFUSED``...) are the same in the
    console's wizard and the CLI's report."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"        # read-only mode
    DECLINED = "declined"      # the operator said no (or typed another name)
    DRY_RUN = "dry-run"        # shown, not run
    NOT_RUN = "not-run"        # an earlier step stopped the playbook

    @classmethod
    def _words(cls) -> Mapping[str, tuple[str, str, Tone]]:
        return _STEP_WORDS


_STEP_WORDS: dict[str, tuple[str, str, Tone]] = {
    # status: (marker, word, tone)
    "pending": ("·", "todo", "dim"),
    "running": ("…", "run", "warn"),
    "done": ("✔", "DONE", "good"),
    "failed": ("✘", "FAIL", "bad"),
    "refused": ("⊘", "REFUSED", "error"),
    "declined": ("✗", "DECLINED", "warn"),
    "dry-run": ("○", "DRY-RUN", "dim"),
    "not-run": ("-", "NOT RUN", "dim"),
}


class StepFailed(Exception):
    """A step's action did not do what it should; the message says what happened."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class StepResult:
    """What one step's action produced: a one-line summary and the evidence (output)."""

    summary: str
    output: str = ""
    attention: bool = False
    """Done, but not as hoped (the agent not Up in time): the verification will say why."""


Render = Callable[["RepairContext"], str]
Action = Callable[["RepairContext"], Awaitable[StepResult]]


@dataclass(frozen=True)
class Step:
    """One ordered step of a playbook.

    ``preview`` renders the exact command or API call and where it runs; ``action`` does it.
    ``undo`` renders how to reverse it (None: cannot be undone). ``confirm``: ``"yes"`` or
    ``"name"`` (the VM's name must be typed). ``blast``: show the blast radius first.
    ``prepare`` runs before the question (a read that the preview depends on).
    """

    id: str
    title: str
    kind: StepKind
    preview: Render
    action: Action
    undo: Render | None = None
    confirm: Literal["yes", "name"] = "yes"
    blast: bool = False
    warning: str | None = None
    prepare: Action | None = None

    @property
    def destructive(self) -> bool:
        return self.kind == "change"


Applies = Callable[["RepairContext"], "str | None"]
"""A precondition: None when the playbook applies, else why not (one line)."""


@dataclass(frozen=True)
class Playbook:
    """A repair: what it fixes, when it applies, its steps, and the checks that prove it."""

    id: PlaybookId
    """One of the ids the diagnostics name (:mod:`cspctl.playbook_ids`; its order ranks
    suggestions)."""
    title: str
    summary: str
    fixes: tuple[str, ...]
    """Check ids whose failure this playbook addresses (suggestions)."""
    steps: tuple[Step, ...]
    verify: tuple[str, ...] = ()
    """Checks that must be OK afterwards (besides those that failed before)."""
    rerun_failed: bool = False
    """Also judge every check that failed before (reboot, recreate: generic fixes)."""
    applies_to: tuple[str, ...] = ("consoleproxy", "secondarystoragevm")
    min_version: tuple[int, ...] = ()
    needs_ssh: bool = False
    notes: tuple[str, ...] = ()
    preconditions: tuple[Applies, ...] = field(default=(), repr=False)

    def requirement(self) -> str:
        """Preconditions as one line (version, VM types, access)."""
        parts = []
        if self.min_version:
            parts.append("CloudStack " + ".".join(map(str, self.min_version)) + "+")
        kinds = {"consoleproxy": "CPVM", "secondarystoragevm": "SSVM"}
        parts.append("/".join(kinds[t] for t in self.applies_to))
        if self.needs_ssh:
            parts.append("SSH into the VM")
        return ", ".join(parts)


QuestionKind = Literal["confirm", "type-name", "choose"]


@dataclass(frozen=True)
class Question:
    """What the front end asks the operator, with everything needed to decide.

    ``confirm``: yes/no. ``type-name``: the operator must type ``expected`` (the VM name).
    ``choose``: pick any of ``choices`` (answer: the picked ones).
    """

    kind: QuestionKind
    playbook: str
    step_id: str
    title: str
    vm: str
    preview: str
    blast_radius: tuple[str, ...] = ()
    warning: str | None = None
    undo: str | None = None
    expected: str | None = None
    choices: tuple[str, ...] = ()
    default: bool = False
    optional: bool = False
    """An option of a step rather than the step itself (``--yes`` answers ``default``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "playbook": self.playbook, "step": self.step_id,
                "title": self.title, "vm": self.vm, "preview": self.preview,
                "blast_radius": list(self.blast_radius), "warning": self.warning,
                "undo": self.undo, "expected": self.expected, "choices": list(self.choices)}


@dataclass(frozen=True)
class Answer:
    """The operator's answer: ``yes`` for confirm, ``text`` for type-name, ``picked``."""

    yes: bool = False
    text: str | None = None
    picked: tuple[str, ...] = ()


Ask = Callable[[Question], Awaitable[Answer]]


@dataclass
class StepState:
    """A step as the front ends show it: its rendered preview and what happened."""

    id: str
    title: str
    kind: StepKind
    preview: str = ""
    undo: str | None = None
    status: StepStatus = StepStatus.PENDING
    summary: str = ""
    output: str = ""
    elapsed: float = 0.0
    attention: bool = False

    @property
    def destructive(self) -> bool:
        return self.kind == "change"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "kind": self.kind,
                "destructive": self.destructive, "preview": self.preview, "undo": self.undo,
                "status": self.status.value, "summary": self.summary, "output": self.output,
                "attention": self.attention, "elapsed": round(self.elapsed, 3)}
