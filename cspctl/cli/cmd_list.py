"""``cspctl list zones|systemvms|hosts [--zone NAME] [--json]``: what CloudStack reports.

A table for people (a ``!`` column marks what needs attention), ``--json`` for scripts: the
objects exactly as CloudStack returned them, every field kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cspctl import signals
from cspctl.cli.table import Raw, render
from cspctl.names import zone_not_found
from cspctl.text import safe_json_text

if TYPE_CHECKING:
    from cspctl.cloudstack.client import CloudStackClient
    from cspctl.cloudstack.models import Host, Model, SystemVm, Zone

MARK = "!"
HOST_OK_RESOURCE = (None, "Enabled")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "list",
        help="list zones, system VMs or hosts",
        description="List zones, system VMs or hosts of the profile's CloudStack. "
        "Rows marked '!' need attention (system VM not Running with its agent Up, host not "
        "Up/Enabled, zone disabled).",
    )
    p.add_argument("what", choices=("zones", "systemvms", "hosts"), help="what to list")
    p.add_argument("--zone", metavar="NAME", help="only this zone (name or id)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the objects as JSON, with every field CloudStack returned",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return signals.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from cspctl.session import Session

    async with Session.open(args.profile, read_only=args.read_only) as session:
        api = session.api
        zone = await find_zone(api, args.zone) if args.zone else None
        scope = {"zoneid": zone.id} if zone else {}
        items: Sequence[Model]
        if args.what == "zones":
            items = [zone] if zone else await api.list_zones()
        elif args.what == "systemvms":
            items = await api.list_system_vms(zoneid=scope.get("zoneid"))  # None: every zone
        else:
            items = await api.list_hosts(**scope)
        session.journal.record("cli.list", what=args.what, zone=args.zone, count=len(items))
    if args.json:
        # dump_json leaves C1/bidi raw (ensure_ascii=False): escaped as JSON escapes
        print(safe_json_text(dump_json([as_json(m) for m in items])))
    else:
        print(TABLES[args.what](items))
    sys.stdout.flush()
    return 0


async def find_zone(api: CloudStackClient, wanted: str) -> Zone:
    """The zone named (or with id) ``wanted``; NotFound (exit 3) listing the known names."""
    zones = await api.list_zones()
    matchers: tuple[Callable[[Zone], bool], ...] = (
        lambda z: z.id == wanted,
        lambda z: z.name == wanted,
        lambda z: (z.name or "").lower() == wanted.lower(),
    )
    for match in matchers:
        found = [z for z in zones if match(z)]
        if len(found) == 1:
            return found[0]
    raise zone_not_found(wanted, api, (z.name or z.id for z in zones))


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FLAT = json.JSONEncoder(ensure_ascii=False, separators=(",\n    ", ": "))


def dump_json(rows: list[dict[str, Any]]) -> str:
    """Exactly ``json.dumps(rows, indent=2, ensure_ascii=False)``, several times faster: a
    row of plain values is encoded in one C call (the separators carry the indentation;
    Python's encoder drops to pure Python whenever ``indent`` is set)."""
    if not rows:
        return "[]"
    parts = []
    for row in rows:
        if row and _SCALARS.issuperset(map(type, row.values())):  # one C pass per row
            parts.append("  {\n    " + _FLAT.encode(row)[1:-1] + "\n  }")
        else:
            text = json.dumps(row, indent=2, ensure_ascii=False)
            parts.append("\n".join("  " + line for line in text.splitlines()))
    return "[\n" + ",\n".join(parts) + "\n]"


def as_json(model: Model) -> dict[str, Any]:
    """Everything CloudStack returned, plus agent state/version the client joined from hosts."""
    data = dict(model.raw)
    for key in ("agentstate", "version"):
        value = getattr(model, key, None)
        if value is not None and key not in data:
            data[key] = value
    return data


def _mark(bad: bool) -> Raw:
    return Raw(MARK if bad else "")


def zones_table(zones: Sequence[Zone]) -> str:
    rows = [
        [
            _mark(z.allocationstate not in (None, "Enabled")),
            z.name,
            z.id,
            z.networktype,
            z.allocationstate,
            z.dns1,
        ]
        for z in sorted(zones, key=lambda z: (z.name or "", z.id or ""))
    ]
    return render(["!", "NAME", "ID", "NETWORK", "ALLOCATION", "DNS"], rows)


def systemvms_table(vms: Sequence[SystemVm]) -> str:
    def key(vm: SystemVm) -> tuple[str, str, str]:
        return (vm.zonename or vm.zoneid or "", vm.short_type, vm.name or "")

    rows = [
        [
            _mark(not vm.healthy),
            vm.name,
            vm.short_type,
            vm.state,
            vm.agentstate,
            vm.hostname,
            vm.publicip,
            vm.privateip,
            vm.linklocalip,
            vm.version,
            vm.zonename or vm.zoneid,
        ]
        for vm in sorted(vms, key=key)
    ]
    headers = ["!", "NAME", "TYPE", "STATE", "AGENT", "HOST", "PUBLIC IP", "PRIVATE IP",
               "LINK-LOCAL IP", "VERSION", "ZONE"]  # fmt: skip
    return render(headers, rows)


def hosts_table(hosts: Sequence[Host]) -> str:
    def key(h: Host) -> tuple[str, str, str]:
        return (h.zonename or h.zoneid or "", h.type or "", h.name or "")

    rows = [
        [
            _mark(h.state != "Up" or h.resourcestate not in HOST_OK_RESOURCE),
            h.name,
            h.type,
            h.state,
            h.resourcestate,
            h.ipaddress,
            h.hypervisor,
            h.version,
            h.zonename or h.zoneid,
        ]
        for h in sorted(hosts, key=key)
    ]
    headers = ["!", "NAME", "TYPE", "STATE", "RESOURCE", "IP", "HYPERVISOR", "VERSION", "ZONE"]
    return render(headers, rows)


TABLES: dict[str, Callable[[Any], str]] = {
    "zones": zones_table,
    "systemvms": systemvms_table,
    "hosts": hosts_table,
}
