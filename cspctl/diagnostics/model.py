"""What a diagnosis is made of: checks, their findings and the evidence behind them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from cspctl.playbook_ids import KNOWN, PlaybookId, cause_rank

if TYPE_CHECKING:
    from cspctl.diagnostics.context import CheckContext

MAX_LINES = 60
MAX_BYTES = 8192
MAX_LINE = 400

PLAYBOOKS: tuple[str, ...] = tuple(p.value for p in PlaybookId)
"""Ids of the repair playbooks a finding may point to (implemented by cspctl.repair)."""


Tone = Literal["good", "warn", "bad", "error", "dim"]
"""How much a status should stand out; each front end maps a tone to its own look (the
console's stylesheet, a plain marker in text)."""


class Worded:
    """Marker, word and tone of an enum value, from its class's one table (``_words``):
    :class:`Status`, :class:`Progress` and a repair step's status speak through it."""

    value: str

    @classmethod
    def _words(cls) -> Mapping[str, tuple[str, str, Tone]]:
        return _MARKERS

    @property
    def marker(self) -> str:
        """One-character marker for text reports (never colour alone)."""
        return self._words()[self.value][0]

    @property
    def word(self) -> str:
        """The word shown next to the marker."""
        return self._words()[self.value][1]

    @property
    def tone(self) -> Tone:
        """How much it stands out (failures most)."""
        return self._words()[self.value][2]


class Status(Worded, StrEnum):
    """Outcome of one check; ordered from best to worst by :func:`worst`.

    The one vocabulary for it: the CLI's reports, the console's step lists and its VM list
    (healthy ``✔``, unhealthy ``✘``) all show ``marker`` and ``word``, never colour alone.
    """

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


class Progress(Worded, StrEnum):
    """A step not finished yet (before it has a :class:`Status`), in the same vocabulary."""

    PENDING = "pending"
    RUNNING = "running"


_MARKERS: dict[str, tuple[str, str, Tone]] = {
    # value: (marker, word, tone)
    "pending": ("·", "wait", "dim"),
    "running": ("…", "run", "warn"),
    "ok": ("✔", "OK", "good"),
    "warn": ("!", "WARN", "warn"),
    "fail": ("✘", "FAIL", "bad"),
    "error": ("?", "ERROR", "error"),
    "skipped": ("-", "SKIP", "dim"),
}


_SEVERITY = {Status.OK: 0, Status.SKIPPED: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 3}


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status (fail > error > warn > ok/skipped); OK for none."""
    result = Status.OK
    for status in statuses:
        if _SEVERITY[status] > _SEVERITY[result]:
            result = status
    return result


def exit_code(statuses: Iterable[Status]) -> int:
    """CLI exit status: 0 all ok, 1 warnings (or checks that errored), 2 failures."""
    top = worst(statuses)
    return {Status.FAIL: 2, Status.ERROR: 1, Status.WARN: 1}.get(top, 0)


MGMT_TYPE = "management"
"""``systemvmtype`` of the management-server target (see runner.management_target)."""


class AppliesTo(StrEnum):
    """Which targets a check runs on."""

    CPVM = "cpvm"
    SSVM = "ssvm"
    SYSTEMVM = "systemvm"
    MGMT = "mgmt"


class Need(StrEnum):
    """What a check needs to run; the runner skips it when a need is unavailable."""

    API = "api"
    VM_SSH = "vm_ssh"
    HOST_SSH = "host_ssh"


def trim_output(
    text: str, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES, *, tail_only: bool = False
) -> str:
    """Keep the head and tail of long output with a "… N lines trimmed" marker between.

    ``tail_only`` (logs): keep only the newest third of ``max_lines``.
    """
    if tail_only:
        max_lines = max(1, max_lines // 3)
    lines = [ln if len(ln) <= MAX_LINE else ln[:MAX_LINE] + f" … (+{len(ln) - MAX_LINE} chars)"
             for ln in text.splitlines()]
    if len(lines) > max_lines:
        head = 0 if tail_only else max_lines * 2 // 3
        tail = max_lines - head
        lines = [*lines[:head], f"… {len(lines) - head - tail} lines trimmed", *lines[-tail:]]
    out = "\n".join(lines)
    if len(out.encode()) > max_bytes:
        raw = out.encode()
        half = max_bytes // 2
        head_s = raw[:half].decode(errors="ignore")
        tail_s = raw[-half:].decode(errors="ignore")
        dropped = out.count("\n") - head_s.count("\n") - tail_s.count("\n")
        out = f"{head_s}\n… {max(dropped, 0)} lines trimmed ({len(raw) - 2 * half} bytes)\n{tail_s}"
    return out


Source = Literal["api", "vm", "host", "mgmt"]


@dataclass(frozen=True)
class Evidence:
    """One API call or command behind a finding, with its (trimmed) output."""

    source: Source
    command: str
    output: str
    exit_status: int | None = None
    duration: float = 0.0

    @classmethod
    def make(
        cls,
        source: Source,
        command: str,
        output: str,
        exit_status: int | None = None,
        duration: float = 0.0,
        *,
        tail_only: bool = False,
    ) -> Evidence:
        """Build with the output trimmed to a readable size (``tail_only`` for logs)."""
        return cls(source, command, trim_output(output, tail_only=tail_only), exit_status,
                   round(duration, 3))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "command": self.command,
            "output": self.output,
            "exit_status": self.exit_status,
            "duration": self.duration,
        }


@dataclass(frozen=True)
class Finding:
    """The outcome of one check on one target."""

    check_id: str
    title: str
    status: Status
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    advice: str | None = None
    playbook: str | None = None
    reason: str | None = None
    """Why the check was skipped or could not complete (status skipped/error)."""
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.playbook is not None and self.playbook not in KNOWN:
            raise ValueError(f"unknown playbook id {self.playbook!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": [e.to_dict() for e in self.evidence],
            "advice": self.advice,
            "playbook": self.playbook,
            "reason": self.reason,
            "duration": round(self.duration, 3),
        }


CheckFunc = Callable[["CheckContext"], Awaitable[Finding]]


@dataclass(frozen=True)
class Check:
    """One diagnostic step: what it looks at, what it needs, and how to run it."""

    id: str
    title: str
    applies_to: tuple[AppliesTo, ...]
    needs: tuple[Need, ...]
    func: CheckFunc = field(repr=False)
    after: tuple[str, ...] = ()
    """Checks (by id) that must finish first; "*" means every other applicable check."""
    description: str = ""
    probes: tuple[str, ...] = ()
    """Read-only commands the check runs in the VM whatever it finds (``ctx.vm_run``): they
    go out together with every other check's in one round trip (diagnostics.batch)."""
    host_probes: tuple[str, ...] = ()
    """The same for commands on the VM's hypervisor host (``ctx.host_run``)."""

    async def run(self, ctx: CheckContext) -> Finding:
        return await self.func(ctx)

    def applies(self, vm_type: str | None) -> bool:
        """Does this check run on a target of this ``systemvmtype`` ("management": mgmt)?"""
        if vm_type == MGMT_TYPE:
            return AppliesTo.MGMT in self.applies_to
        if AppliesTo.SYSTEMVM in self.applies_to:
            return True
        if vm_type == "consoleproxy":
            return AppliesTo.CPVM in self.applies_to
        if vm_type == "secondarystoragevm":
            return AppliesTo.SSVM in self.applies_to
        return False


def playbooks_by_cause(findings: Iterable[Finding]) -> list[str]:
    """The playbooks failing or warning findings name, best first: one a failure names
    before one only a warning names, then the likeliest cause first (cause-first order of
    :class:`~cspctl.playbook_ids.PlaybookId`). The one ranking the report's "repair first",
    the agent-state verdict and the repair suggestions use."""
    rank: dict[str, tuple[int, int]] = {}
    for f in findings:
        if f.playbook in KNOWN and f.status in (Status.FAIL, Status.WARN):
            key = (0 if f.status is Status.FAIL else 1, cause_rank(f.playbook))
            rank[f.playbook] = min(rank.get(f.playbook, key), key)
    return sorted(rank, key=rank.__getitem__)
