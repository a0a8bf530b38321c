"""What a diagnosis reports: progress events as it runs, then a report per VM and for the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cspctl.cloudstack.models import SystemVm
from cspctl.diagnostics.model import Finding, Status, exit_code, worst


# ---- progress events (the TUI renders these live) ------------------------------------------
@dataclass(frozen=True)
class RunStarted:
    """Diagnosis of one VM begins; ``check_ids`` in report order."""

    vm: SystemVm
    check_ids: tuple[str, ...]


@dataclass(frozen=True)
class StepStarted:
    vm_id: str
    check_id: str
    title: str


@dataclass(frozen=True)
class StepFinished:
    vm_id: str
    finding: Finding


@dataclass(frozen=True)
class RunFinished:
    """Diagnosis of one VM done; findings in report order."""

    vm_id: str
    findings: tuple[Finding, ...]


DiagEvent = RunStarted | StepStarted | StepFinished | RunFinished
OnEvent = Callable[[DiagEvent], Any]


# ---- results ---------------------------------------------------------------------------------
@dataclass
class VmReport:
    """Every finding for one system VM."""

    vm: SystemVm
    findings: list[Finding]
    route: list[str] = field(default_factory=list)
    duration: float = 0.0

    @property
    def status(self) -> Status:
        return worst(f.status for f in self.findings)

    @property
    def playbooks(self) -> list[str]:
        """Playbooks named by the findings, first mention first, no repeats."""
        seen: list[str] = []
        for f in self.findings:
            if f.playbook and f.status in (Status.FAIL, Status.WARN) and f.playbook not in seen:
                seen.append(f.playbook)
        return seen

    def finding(self, check_id: str) -> Finding | None:
        return next((f for f in self.findings if f.check_id == check_id), None)

    @property
    def could_not_run(self) -> int:
        """Checks that could not run (status error: the API or SSH failed, a timeout)."""
        return sum(1 for f in self.findings if f.status is Status.ERROR)

    def to_dict(self) -> dict[str, Any]:
        vm = self.vm
        return {
            "vm": vm.name,
            "id": vm.id,
            "type": vm.short_type,
            "zone": vm.zonename,
            "host": vm.hostname,
            "state": vm.state,
            "status": self.status.value,
            "could_not_run": self.could_not_run,
            "playbooks": self.playbooks,
            "route": self.route,
            "duration": round(self.duration, 3),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class Diagnosis:
    """The outcome of one ``diagnose`` run over any number of VMs."""

    run_id: str
    reports: list[VmReport]
    duration: float = 0.0

    @property
    def status(self) -> Status:
        return worst(r.status for r in self.reports)

    @property
    def exit_code(self) -> int:
        return exit_code(f.status for r in self.reports for f in r.findings)

    @property
    def could_not_run(self) -> int:
        """Checks, over every VM, that could not run (status error)."""
        return sum(r.could_not_run for r in self.reports)

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.reports:
            for f in r.findings:
                counts[f.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "could_not_run": self.could_not_run,
            "duration": round(self.duration, 3),
            "vms": [r.to_dict() for r in self.reports],
        }
