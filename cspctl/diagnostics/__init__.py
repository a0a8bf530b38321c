"""Stepwise diagnostics of console-proxy and secondary-storage VMs.

    runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                             journal=session.journal, on_event=show)
    diagnosis = await runner.run(await select_vms(session.api, ["v-2-VM"]))

Checks live in :mod:`cspctl.diagnostics.checks` (``CATALOGUE``); findings name the repair
playbook that fixes them (``PLAYBOOKS``).
"""

from cspctl.diagnostics.checks import CATALOGUE, by_id
from cspctl.diagnostics.context import CheckContext, RunCache, VmState
from cspctl.diagnostics.model import (
    PLAYBOOKS,
    AppliesTo,
    Check,
    Evidence,
    Finding,
    Need,
    Progress,
    Status,
    exit_code,
    trim_output,
    worst,
)
from cspctl.diagnostics.runner import (
    DiagEvent,
    Diagnosis,
    DiagnosisRunner,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    VmReport,
)
from cspctl.diagnostics.select import NothingToDiagnose, select_vms, validate_names

__all__ = [
    "CATALOGUE",
    "PLAYBOOKS",
    "AppliesTo",
    "Check",
    "CheckContext",
    "DiagEvent",
    "Diagnosis",
    "DiagnosisRunner",
    "Evidence",
    "Finding",
    "Need",
    "NothingToDiagnose",
    "Progress",
    "RunCache",
    "RunFinished",
    "RunStarted",
    "Status",
    "StepFinished",
    "StepStarted",
    "VmReport",
    "VmState",
    "by_id",
    "exit_code",
    "select_vms",
    "trim_output",
    "validate_names",
    "worst",
]
