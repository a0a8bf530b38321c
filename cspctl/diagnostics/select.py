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


SAMPLE_PAGE = 500
"""A ``--limit`` up to this many VMs per zone is one page (CloudStack's default maximum)."""


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
    limit: int | None = None,
) -> list[SystemVm]:
    """Resolve the operator's selection to SystemVm records (raises NothingToDiagnose).

    Names may be VM names (``v-2-VM``) or ids. With no names and no zone, ``all_vms`` must be
    set, so that a bare ``cspctl diagnose`` never sweeps a 5,000-VM cloud by accident.

    ``limit``: at most this many VMs, asked of the server as such (zone by zone in name
    order, the first ``limit`` of a zone as CloudStack lists them: ``page``/``pagesize``), so
    sampling a large cloud never lists all of it first.
    """
    validate_names(names)
    if names:
        found: list[SystemVm] = []
        for name in names:
            matches = await find_system_vms(api, name)
            found.extend(m for m in matches if m not in found)
        return found[:limit] if limit is not None else found
    if zone:
        every = await api.list_zones()
        zones = [z for z in every if zone in (z.id, z.name)]
        if not zones:
            raise zone_not_found(zone, api, (z.name or z.id for z in every))
    elif all_vms:
        zones = (sorted(await api.list_zones(), key=lambda z: _natural(z.name or z.id))
                 if limit is not None else [])
    else:
        raise UsageError("name the system VMs to diagnose, or use --zone ZONE or --all")
    vms: list[SystemVm] = []
    if all_vms and limit is None:
        vms = await api.list_system_vms()
    for z in zones:
        want = None if limit is None else limit - len(vms)
        vms.extend(await _zone_vms(api, z.id, want))
        if limit is not None and len(vms) >= limit:
            break
    if not vms:
        raise NothingToDiagnose("no system VMs found" + (f" in zone {zone}" if zone else ""))
    ordered = _order(vms)
    return ordered[:limit] if limit is not None else ordered


async def _zone_vms(api: CloudStackClient, zone_id: str | None, want: int | None
                    ) -> list[SystemVm]:
    """A zone's system VMs: all of them, or only the first ``want`` (one page) when that
    is less than a page."""
    from cspctl.cloudstack.errors import ApiError

    if want is not None and want <= min(SAMPLE_PAGE, getattr(api, "page_size", SAMPLE_PAGE)):
        try:
            return await api.list_system_vms(zoneid=zone_id, page=1, pagesize=want)
        except ApiError as exc:
            if "page size" not in (exc.errortext or "").lower():
                raise  # (a smaller server maximum: the full listing below learns it)
    return await api.list_system_vms(zoneid=zone_id)
