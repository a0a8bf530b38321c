"""Verification: re-run named checks of the diagnostics catalogue on the repaired VM.

The catalogue's own runner does the work (one SSH connection, dependencies honoured); this
module only picks the checks (the named ones, what failed before, and what they need) and
judges the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cspctl.diagnostics import CATALOGUE, Check, DiagnosisRunner, Finding, Status, VmReport

if TYPE_CHECKING:
    from cspctl.cloudstack.models import SystemVm
    from cspctl.session import Session

ALWAYS = ("vm-state", "ssh", "version")
WRITE_CHECKS = ("secondary-storage",)
"""Checks that write (a test file): never run when nothing may change."""
CHECK_TIMEOUT = 30.0


def plan(ids: Iterable[str], *, writes: bool) -> list[Check]:
    """The catalogue entries for ``ids`` plus what they run after, in catalogue order."""
    wanted = set(ids) | set(ALWAYS)
    by_id = {c.id: c for c in CATALOGUE}
    todo = list(wanted)
    while todo:
        check = by_id.get(todo.pop())
        if check is None:
            continue
        for dep in check.after:
            if dep != "*" and dep not in wanted:
                wanted.add(dep)
                todo.append(dep)
    return [c for c in CATALOGUE if c.id in wanted and (writes or c.id not in WRITE_CHECKS)]


async def diagnose(session: Session, vm: SystemVm, checks: list[Check] | None = None, *,
                   writes: bool, timeout: float = CHECK_TIMEOUT) -> VmReport:
    """One VM through the diagnostics runner (journalled as a diagnosis run)."""
    if checks is None:
        checks = [c for c in CATALOGUE if writes or c.id not in WRITE_CHECKS]
    runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                             journal=session.journal, checks=checks,
                             timeout=min(timeout, CHECK_TIMEOUT))
    return await runner.run_vm(vm)


BAD = (Status.FAIL, Status.ERROR)


def judged(after: VmReport, names: Iterable[str], before: VmReport | None) -> list[Finding]:
    """Findings that decide the verdict: the named checks (and those that failed
    ``before``, when given)."""
    ids = set(names)
    if before is not None:
        ids |= {f.check_id for f in before.findings if f.status is Status.FAIL}
    return [f for f in after.findings if f.check_id in ids]


def still_failing(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.status in BAD]
