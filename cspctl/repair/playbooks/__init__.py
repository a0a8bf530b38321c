"""The playbook catalogue (ids as the diagnostics name them) and suggestions from findings."""

from __future__ import annotations

from collections.abc import Iterable

from cspctl.diagnostics import Finding, Status
from cspctl.repair.model import Playbook
from cspctl.repair.playbooks.agent import PROTECT_ASSETS, RESTART_CLOUD, UNPROTECT_ASSETS
from cspctl.repair.playbooks.lifecycle import REBOOT, RECREATE
from cspctl.repair.playbooks.platform import FREE_DISK, PATCH, PROVISION_CERT
from cspctl.repair.playbooks.settings import FIX_TIMEZONE, SSL_OFF
from cspctl.repair.verify import CAUSE_FIRST

CATALOGUE: tuple[Playbook, ...] = (
    PROTECT_ASSETS, REBOOT, RECREATE, RESTART_CLOUD, UNPROTECT_ASSETS, FIX_TIMEZONE, SSL_OFF,
    PROVISION_CERT, PATCH, FREE_DISK,
)

PLAYBOOKS: dict[str, Playbook] = {p.id: p for p in CATALOGUE}
"""Every playbook by id."""


def suggest(findings: Iterable[Finding]) -> list[tuple[Playbook, list[Finding]]]:
    """Playbooks named by failing/warning findings, best first, with the findings behind each."""
    behind: dict[str, list[Finding]] = {}
    for f in findings:
        if f.playbook in PLAYBOOKS and f.status in (Status.FAIL, Status.WARN):
            behind.setdefault(f.playbook, []).append(f)
    order = {p: i for i, p in enumerate(CAUSE_FIRST)}

    def rank(pid: str) -> tuple[int, int]:
        fails = any(f.status is Status.FAIL for f in behind[pid])
        return (0 if fails else 1, order.get(pid, 99))

    return [(PLAYBOOKS[pid], behind[pid]) for pid in sorted(behind, key=rank)]
