"""When waiting for the agent can stop early: its diagnosed cause is back and this playbook
does not address it.

Before a playbook runs, the baseline diagnosis may already say why the agent is down: the
``agent-state`` check fails and names the playbook of the likeliest cause (the seed's
deleted working directory: ``protect-assets``). When the playbook that runs is another one
(``reboot``) and, once the VM is Running again, a diagnosis of that cause finds the same
verdict, the agent will not come Up by waiting: the wait ends there, bounded by the run's
timeout all the same, and the verification that follows reports what still fails.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from cspctl.diagnostics import Finding, Status, VmReport
from cspctl.errors import CspctlError
from cspctl.repair import verify
from cspctl.text import safe_line

if TYPE_CHECKING:
    from cspctl.cloudstack.models import SystemVm
    from cspctl.session import Session

AGENT_CHECK = "agent-state"
PROBE_EVERY = 10.0
"""Least seconds between two diagnoses of the cause while waiting (a diagnosis costs SSH)."""

Settle = Callable[["SystemVm", float], Awaitable["str | None"]]
"""``await settle(vm, seconds_left)``: why waiting for the agent of ``vm`` is pointless, or
None to go on waiting. Called only while the VM is Running and its agent not Up."""


def agent_cause(report: VmReport | None) -> Finding | None:
    """The agent-state verdict when it fails with a diagnosed cause (a playbook), else None."""
    if report is None:
        return None
    for f in report.findings:
        if f.check_id == AGENT_CHECK and f.status is Status.FAIL and f.playbook:
            return f
    return None


def cause_probe(session: Session, before: VmReport | None, playbook_id: str, *,
                timeout: float) -> Settle | None:
    """A :data:`Settle` for a run of ``playbook_id`` after the ``before`` diagnosis; None when
    the agent's diagnosed cause is none, or is what this playbook addresses."""
    verdict = agent_cause(before)
    if before is None or verdict is None or verdict.playbook == playbook_id:
        return None
    cause = verdict.playbook
    ids = [f.check_id for f in before.findings
           if f.status is Status.FAIL and f.playbook == cause and f.check_id != AGENT_CHECK]
    checks = verify.plan([*ids, AGENT_CHECK], writes=False)
    last: float | None = None

    async def settle(vm: SystemVm, left: float) -> str | None:
        nonlocal last
        if last is not None and time.monotonic() - last < PROBE_EVERY:
            return None
        last = time.monotonic()
        try:
            report = await verify.diagnose(session, vm, checks, writes=False,
                                           timeout=min(timeout, max(left, 1.0)))
        except CspctlError:  # the API or SSH not answering yet: go on waiting
            return None
        now = agent_cause(report)
        if now is None or now.playbook != cause:
            return None
        again = [f.title for f in report.findings
                 if f.check_id in ids and f.status is Status.FAIL] or [now.summary]
        name, agent = safe_line(vm.name or "the VM", 80), safe_line(vm.agentstate or "not Up", 40)
        return (f"{name} is Running, its agent {agent}, and the "
                f"diagnosed cause is back ({safe_line('; '.join(again), 300)} fail again): "
                f"{playbook_id} does not fix that, {cause} does "
                f"(cspctl repair {cause} {name})")

    return settle
