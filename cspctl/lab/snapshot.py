"""The lab's full observable state as plain data, to compare before and after an action.

``state(world)`` lists what a repair can change: every system VM (identity, addresses, host
key, lifecycle and agent state) and, inside it, the processes (pid, working directory and
whether it was deleted), services, immutable flags, time zone and agent certificate; every
host's time zone; every global setting; the counts of events, alerts and jobs-visible
events. Volatile values that move with time alone (clock, uptime, log lines) are left out.
Building a VM's OS model lazily is not a change, so every live VM's model is made first.
"""

from __future__ import annotations

from typing import Any

from cspctl.lab.world import LabSystemVm, World

SYSTEMVM = "/usr/local/cloud/systemvm"
WATCHED_DIRS = (SYSTEMVM, f"{SYSTEMVM}/images", f"{SYSTEMVM}/js", f"{SYSTEMVM}/css",
                f"{SYSTEMVM}/conf")


def _vm_os(vm: LabSystemVm) -> dict[str, Any]:
    machine = vm.os
    procs = {}
    for pid, proc in sorted(machine.procs.items()):
        cwd = proc.cwd
        procs[str(pid)] = {
            "comm": proc.comm,
            "cwd": machine.fs.path_of(cwd) if cwd is not None else None,
            "cwd_deleted": bool(cwd is not None and cwd.deleted),
            "start": round(proc.start, 3),
        }
    flags: dict[str, Any] = {}
    for path in WATCHED_DIRS:
        try:
            node = machine.fs.lookup(path)
        except Exception:
            flags[path] = None
            continue
        flags[path] = {"immutable": bool(node.immutable), "inode": id(node)}
    cert = machine.cert_meta()
    try:
        etc_tz = machine.fs.read("/etc/timezone").strip()
    except Exception:
        etc_tz = None
    return {
        "running": machine.running,
        "boot_time": round(machine.boot_time, 3),
        "boots": machine.boots,
        "faults": sorted(machine.faults),
        "procs": procs,
        "dirs": flags,
        "timezone": machine.timezone,
        "etc_timezone": etc_tz,
        "cert": dict(cert) if cert else None,
        "agent_problem": machine.agent_problem_now(),
    }


def _vm(vm: LabSystemVm) -> dict[str, Any]:
    return {
        "id": vm.id, "name": vm.name, "type": vm.vm_type, "state": vm.state,
        "host": vm.host.name if vm.host else None, "linklocalip": vm.linklocalip,
        "privateip": vm.privateip, "publicip": vm.publicip,
        "host_key": vm.host_key_line, "faults": sorted(vm.faults),
        "template": vm.template.name, "boot_time": round(vm.boot_time, 3),
        "os": _vm_os(vm) if vm.state in ("Running", "Stopping", "Migrating") or vm.os_created
        else None,
    }


def state(world: World) -> dict[str, Any]:
    """Everything a repair could change in ``world``, as JSON-able data."""
    return {
        "vms": {vm.id: _vm(vm) for vm in world.system_vms},
        "hosts": {h.name: {"state": h.state, "timezone": h.os.timezone} for h in world.hosts},
        "configs": {name: cfg.value for name, cfg in sorted(world.configs.items())},
        "events": [(e.type, e.state, e.resource_name) for e in world.events],
        "alerts": len(world.alerts),
    }
