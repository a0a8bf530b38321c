"""Data → model for the main screen: zones, system VMs, health counts, filtering, cells.

Pure Python (no Textual): the view asks this module what to show and renders it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from cspctl.cloudstack.models import SystemVm, Zone
from cspctl.diagnostics import Status
from cspctl.text import safe_line

UNHEALTHY = Status.FAIL.marker
"""Marks an unhealthy VM or zone: the diagnostics' failure marker (one vocabulary)."""
HEALTHY = Status.OK.marker


def health(vm: SystemVm) -> Status:
    """A VM's health in the diagnostics' words: OK, or FAIL (not Running, or agent not Up)."""
    return Status.OK if vm.healthy else Status.FAIL

COLUMNS: tuple[tuple[str, str, int], ...] = (
    # key, header, priority (lower stays longer when the table is narrow; the detail panel
    # below the table shows every field of the selected VM anyway)
    ("mark", " ", 0),
    ("name", "Name", 0),
    ("type", "Type", 1),
    ("state", "State", 1),
    ("agent", "Agent", 1),
    ("host", "Host", 2),
    ("linklocal", "Link-local", 3),
    ("private", "Private", 4),
    ("public", "Public", 5),
    ("version", "Version", 6),
)


@dataclass(frozen=True)
class Snapshot:
    """One refresh worth of data from the management server."""

    zones: tuple[Zone, ...]
    vms: tuple[SystemVm, ...]
    version: str | None
    taken_at: datetime

    @cached_property
    def _by_zone(self) -> dict[str | None, list[SystemVm]]:
        """VMs grouped by zone id once per snapshot (None: every VM)."""
        groups: dict[str | None, list[SystemVm]] = {None: list(self.vms)}
        for vm in self.vms:
            if vm.zoneid is not None:
                groups.setdefault(vm.zoneid, []).append(vm)
        return groups

    @cached_property
    def _by_id(self) -> dict[str, SystemVm]:
        return {vm.id: vm for vm in reversed(self.vms) if vm.id is not None}

    def vms_in(self, zone_id: str | None) -> list[SystemVm]:
        return list(self._by_zone.get(zone_id, ()))

    def zone_health(self, zone_id: str | None) -> tuple[int, int]:
        """(unhealthy, total) system VMs in a zone."""
        vms = self._by_zone.get(zone_id, ())
        return sum(1 for vm in vms if not vm.healthy), len(vms)

    def vm(self, vm_id: str | None) -> SystemVm | None:
        return None if vm_id is None else self._by_id.get(vm_id)


def problem(vm: SystemVm) -> str | None:
    """Why a VM is not healthy, in a few words (None when it is)."""
    if vm.healthy:
        return None
    if vm.state != "Running":
        return f"VM {vm.state or 'state unknown'}"
    return f"agent {vm.agentstate or 'state unknown'}"


def vm_cells(vm: SystemVm) -> tuple[str, ...]:
    """Table cells in :data:`COLUMNS` order (plain text; the marker carries the health)."""
    return (
        health(vm).marker,
        vm.name or vm.id or "?",
        vm.short_type,
        vm.state or "-",
        vm.agentstate or "-",
        vm.hostname or "-",
        vm.linklocalip or "-",
        vm.privateip or "-",
        vm.publicip or "-",
        vm.version or "-",
    )


def haystack(vm: SystemVm) -> str:
    """What the filter searches: name, type, states, host, IPs and id, lower case."""
    return " ".join(
        v for v in (vm.name, vm.short_type, vm.state, vm.agentstate, vm.hostname, vm.publicip,
                    vm.privateip, vm.linklocalip, vm.id) if v
    ).lower()


def matches(vm: SystemVm, query: str) -> bool:
    """Filter: every word of ``query`` appears in the name, type, states or an IP."""
    words = query.lower().split()
    if not words:
        return True
    hay = haystack(vm)
    return all(w in hay for w in words)


def visible(vms: Iterable[SystemVm], query: str) -> list[SystemVm]:
    return [vm for vm in vms if matches(vm, query)]


def detail_lines(vm: SystemVm) -> list[str]:
    """The detail panel for one VM."""
    why = problem(vm)
    health = f"{UNHEALTHY} {why}" if why else f"{HEALTHY} healthy"
    return [
        f"{vm.name} ({vm.short_type}) {health} · id {vm.id}",
        f"state {vm.state or '-'} · agent {vm.agentstate or '-'} · host {vm.hostname or '-'}"
        f" ({vm.hypervisor or '?'}) · pod {vm.podname or '-'}",
        f"public {vm.publicip or '-'} · private {vm.privateip or '-'}"
        f" · link-local {vm.linklocalip or '-'}",
        " · ".join(item for item in (
            # listSystemVms names the template only from 4.15: older servers give its id
            f"version {vm.version or '-'}",
            f"template {vm.templatename or vm.templateid}"
            if (vm.templatename or vm.templateid) else "",
            f"created {vm.created:%Y-%m-%d %H:%M}" if vm.created else "",
        ) if item),
    ]


def zone_label(zone: Zone | None, unhealthy: int, total: int) -> str:
    """A zone in the zone list: ``✘2/5 name`` (unhealthy/total) — text, not colour."""
    mark = UNHEALTHY if unhealthy else HEALTHY
    name = "all zones" if zone is None else safe_line(zone.name or zone.id or "?")
    return f"{mark}{unhealthy}/{total} {name}"


def sort_vms(vms: Sequence[SystemVm]) -> list[SystemVm]:
    """Default order: unhealthy first, then by name."""
    return sorted(vms, key=lambda vm: (vm.healthy, vm.name or ""))
