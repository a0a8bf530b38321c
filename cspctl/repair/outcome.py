"""How a repair ended: per-step states, verification, what to do next, and the exit status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cspctl.diagnostics.model import Finding, Status
from cspctl.repair.model import StepState, StepStatus


class RunStatus(StrEnum):
    VERIFIED = "verified"          # every step ran and the checks prove the fix
    UNVERIFIED = "unverified"      # every step ran but checks still fail
    DRY_RUN = "dry-run"            # shown, nothing changed
    FAILED = "failed"              # a step failed: stopped there
    ERROR = "error"                # could not run (API, SSH, preconditions)
    REFUSED = "refused"            # read-only mode
    DECLINED = "declined"          # the operator said no / typed another name


EXIT_CODES = {RunStatus.VERIFIED: 0, RunStatus.DRY_RUN: 0, RunStatus.UNVERIFIED: 1,
              RunStatus.FAILED: 3, RunStatus.ERROR: 3, RunStatus.REFUSED: 5,
              RunStatus.DECLINED: 5}
"""0 done and verified, 1 done but verification fails, 3 could not run, 5 refused/aborted."""


@dataclass
class Outcome:
    """The result of one repair run (also the ``--json`` document)."""

    run_id: str
    playbook: str
    vm: str
    status: RunStatus
    message: str
    steps: list[StepState]
    findings: list[Finding] = field(default_factory=list)
    """The verification's findings (on the re-created VM after recreate)."""
    suggestions: list[str] = field(default_factory=list)
    """Playbooks that address what still fails, best first."""
    next_step: str = ""
    final_vm: str | None = None
    elapsed: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def ran(self) -> list[str]:
        return [s.id for s in self.steps if s.status in (StepStatus.DONE, StepStatus.FAILED)]

    @property
    def not_run(self) -> list[str]:
        return [s.id for s in self.steps if s.status not in (StepStatus.DONE, StepStatus.FAILED)]

    @property
    def still_failing(self) -> list[Finding]:
        return [f for f in self.findings if f.status in (Status.FAIL, Status.ERROR)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "playbook": self.playbook, "vm": self.vm,
            "final_vm": self.final_vm, "status": self.status.value,
            "exit_code": self.exit_code, "message": self.message, "next": self.next_step,
            "ran": self.ran, "not_run": self.not_run, "suggestions": self.suggestions,
            "elapsed": round(self.elapsed, 3),
            "steps": [s.to_dict() for s in self.steps],
            "verification": [{"check_id": f.check_id, "status": f.status.value,
                              "summary": f.summary, "playbook": f.playbook}
                             for f in self.findings],
        }
