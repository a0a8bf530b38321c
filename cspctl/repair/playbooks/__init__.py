"""The playbook catalogue (one playbook per id of :mod:`cspctl.playbook_ids`) and
suggestions from findings."""

from __future__ import annotations

from collections.abc import Iterable

from cspctl.diagnostics import Finding, Status
from cspctl.diagnostics.model import playbooks_by_cause
from cspctl.playbook_ids import PlaybookId
from cspctl.repair.model import Playbook
from cspctl.repair.playbooks.agent import PROTECT_ASSETS, RESTART_CLOUD, UNPROTECT_ASSETS
from cspctl.repair.playbooks.lifecycle import REBOOT, RECREATE
from cspctl.repair.playbooks.platform import FREE_DISK, PATCH, PROVISION_CERT
from cspctl.repair.playbooks.settings import FIX_TIMEZONE, SSL_OFF

CATALOGUE: tuple[Playbook, ...] = (
    PROTECT_ASSETS, REBOOT, RECREATE, RESTART_CLOUD, UNPROTECT_ASSETS, FIX_TIMEZONE, SSL_OFF,
    PROVISION_CERT, PATCH, FREE_DISK,
)
"""Every playbook, in the order ``cspctl repair list`` shows them."""

PLAYBOOKS: dict[str, Playbook] = {p.id: p for p in CATALOGUE}
"""Every playbook by id."""

_missing = set(PlaybookId) - set(PLAYBOOKS)
if _missing or len(PLAYBOOKS) != len(CATALOGUE):
    raise RuntimeError(f"the repair catalogue and cspctl.playbook_ids disagree: no playbook "
                       f"for {sorted(_missing)}, or an id used twice")


def suggest(findings: Iterable[Finding], *,
            exclude: str | None = None) -> list[tuple[Playbook, list[Finding]]]:
    """Playbooks named by failing/warning findings, best first (a failure's before a
    warning's, then the likeliest cause), with the findings behind each; ``exclude`` leaves
    one out (the playbook that just ran)."""
    findings = list(findings)
    return [(PLAYBOOKS[pid], [f for f in findings if f.playbook == pid
                              and f.status in (Status.FAIL, Status.WARN)])
            for pid in playbooks_by_cause(findings) if pid != exclude]
