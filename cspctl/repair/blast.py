"""Blast radius: who notices when a system VM is rebooted, stopped or destroyed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cspctl.text import safe_line

if TYPE_CHECKING:
    from cspctl.repair.context import RepairContext


async def blast_radius(ctx: RepairContext) -> tuple[str, ...]:
    """Lines for the confirmation: console sessions that drop (CPVM), what stops (SSVM)."""
    vm = await ctx.reload() or ctx.vm
    zone = safe_line(vm.zonename or vm.zoneid or "?")
    if vm.is_cpvm:
        sessions = vm.activeviewersessions
        count = "an unknown number of" if sessions is None else str(sessions)
        return (
            f"{count} console session(s) through {ctx.name} (activeviewersessions) will drop",
            f"no new VM console in zone {zone} until it is back",
        )
    others = [v for v in await ctx.api.list_system_vms(zoneid=vm.zoneid,
                                                       systemvmtype="secondarystoragevm")
              if v.id != vm.id and v.state == "Running"]
    lines = [
        f"template and ISO downloads and uploads in zone {zone} stop until it is back",
        "volume and snapshot copies to or from secondary storage in the zone fail meanwhile",
    ]
    names = ", ".join(safe_line(v.name) for v in others)
    lines.append(f"other Running SSVMs in the zone take over: {names}" if others
                 else "no other SSVM in the zone takes over")
    return tuple(lines)
