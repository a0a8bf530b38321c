"""Which system VMs a diagnosis covers: named ones, a zone, or all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cspctl.errors import UsageError
from cspctl.names import NotFound, check_vm_argument, find_system_vms, zone_not_found

if TYPE_CHECKING:
    from cspctl.cloudstack.client import CloudStackClient
    from cspctl.cloudstack.models import SystemVm



class NothingToDiagnose(NotFound):
    """No system VM matched the selection (exit 3, as every unknown name)."""


def _natural(text: str | None) -> tuple[object, ...]:
    """``v-10-VM`` after ``v-9-VM``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text or ""))


def _order(vms: Sequence[SystemVm]) -> list[SystemVm]:
    return sorted(vms, key=lambda v: (_natural(v.zonename), v.systemvmtype or "",
                                      _natural(v.name)))


def validate_names(names: Sequence[str]) -> None:
    """Refuse anything that is not a plausible VM name or UUID (raises UsageError)."""
    for name in names:
        check_vm_argument(name)


async def select_vms(
    api: CloudStackClient,
    names: Sequence[str] = (),
    *,
    zone: str | None = None,
    all_vms: bool = False,
) -> list[SystemVm]:
    """Resolve the operator's selection to SystemVm records (raises NothingToDiagnose).

    Names may be VM names (``v-2-VM``) or ids. With no names and no zone, ``all_vms`` must be
    set, so that a bare ``cspctl diagnose`` never sweeps a 5,000-VM cloud by accident.
    """
    validate_names(names)
    if names:
        found: list[SystemVm] = []
        for name in names:
            matches = await find_system_vms(api, name)
            found.extend(m for m in matches if m not in found)
        return found
    if zone:
        every = await api.list_zones()
        zones = [z for z in every if zone in (z.id, z.name)]
        if not zones:
            raise zone_not_found(zone, api, (z.name or z.id for z in every))
        vms = []
        for z in zones:
            vms.extend(await api.list_system_vms(zoneid=z.id))
    elif all_vms:
        vms = await api.list_system_vms()
    else:
        raise UsageError("name the system VMs to diagnose, or use --zone ZONE or --all")
    if not vms:
        raise NothingToDiagnose("no system VMs found" + (f" in zone {zone}" if zone else ""))
    return _order(vms)
