"""Which system VMs a diagnosis covers: named ones, a zone, or all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cspctl.errors import CspctlError, UsageError

if TYPE_CHECKING:
    from cspctl.cloudstack.client import CloudStackClient
    from cspctl.cloudstack.models import SystemVm

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class NothingToDiagnose(CspctlError):
    """No system VM matched the selection."""

    exit_code = 3


def _natural(text: str | None) -> tuple[object, ...]:
    """``v-10-VM`` after ``v-9-VM``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text or ""))


def _order(vms: Sequence[SystemVm]) -> list[SystemVm]:
    return sorted(vms, key=lambda v: (_natural(v.zonename), v.systemvmtype or "",
                                      _natural(v.name)))


def validate_names(names: Sequence[str]) -> None:
    """Refuse anything that is not a plausible VM name or UUID (raises UsageError)."""
    for name in names:
        if not (_UUID.match(name) or _NAME.match(name)):
            raise UsageError(f"not a system VM name or id: {name!r}")


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
            params = {"id": name} if _UUID.match(name) else {"name": name}
            matches = [v for v in await api.list_system_vms(**params)
                       if name in (v.id, v.name)]
            if not matches:
                raise NothingToDiagnose(
                    f"no system VM named {name!r} on {getattr(api, 'url', 'the API')} "
                    "(see 'cspctl list')")
            found.extend(m for m in matches if m not in found)
        return found
    if zone:
        zones = [z for z in await api.list_zones() if zone in (z.id, z.name)]
        if not zones:
            raise NothingToDiagnose(f"no zone named {zone!r}")
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
