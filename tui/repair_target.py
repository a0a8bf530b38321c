"""What ``r`` repairs: a VM, the diagnosis already made of it, and maybe a playbook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cspctl.cloudstack.models import SystemVm
from tui.diag_pane import DiagnosticsPane
from tui.panes import PaneState, find_pane
from tui.repair_pane import RepairPane

if TYPE_CHECKING:
    from cspctl.diagnostics import Finding
    from tui.app import CspctlApp

RepairTarget = tuple[SystemVm, "list[Finding] | None", "str | None"]
"""(the VM, the findings of a finished diagnosis of it or None, the playbook to open)."""


def repair_target(app: CspctlApp) -> RepairTarget | None:
    """What ``r`` repairs: the selected diagnostics step's VM and playbook (with that
    diagnosis), else the selected VM (with a finished diagnosis of it, if a tab has one)."""
    active = app.tabs.active
    diag = find_pane(app.tabs, active, DiagnosticsPane)
    if diag is not None:
        key = diag.steps.selected_key
        vm_id = key.split(":", 1)[0] if key else None
        vm = next((v for v in diag.vms if v.id == vm_id), None)
        if vm is None and len(diag.vms) == 1:
            vm = diag.vms[0]
        if vm is None:
            app.notify("select a step of the VM to repair", severity="warning", timeout=3)
            return None
        found = diag.findings.get(key) if key else None
        playbook = None
        if found is not None and found[1].status.value in ("fail", "warn", "error"):
            playbook = found[1].playbook
        return vm, _findings_of(diag, vm) if diag.state is PaneState.DONE else None, playbook
    wizard = find_pane(app.tabs, active, RepairPane)
    if wizard is not None:
        wizard.focus()
        return None
    vm = app._selected_vm()
    if vm is None:
        return None
    for pane in app.query(DiagnosticsPane):
        if pane.state is PaneState.DONE and any(v.id == vm.id for v in pane.vms):
            return vm, _findings_of(pane, vm), None
    return vm, None, None


def _findings_of(diag: DiagnosticsPane, vm: SystemVm) -> list[Finding]:
    return [f for key, (_, f) in diag.findings.items() if key.split(":", 1)[0] == vm.id]
