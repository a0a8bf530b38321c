"""Time zone tools: ``timedatectl`` (systemd) and ``dpkg-reconfigure tzdata`` (Debian).

The zone a machine shows (``date +%Z``, log stamps) is its ``timezone``; setting it writes
/etc/timezone and points /etc/localtime at /usr/share/zoneinfo/ZONE, as tzdata does.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING

from ..faults import StepFault, failing
from .fs import Dir
from .options import parse_options
from .registry import SYSTEMD, command
from .shell import Ctx

if TYPE_CHECKING:
    from .base import SimOS


def valid_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_name(machine: SimOS) -> str:
    return "Etc/UTC" if machine.timezone in ("UTC", "Etc/UTC") else machine.timezone


def install(machine: SimOS, mtime: float) -> None:
    """/etc/timezone and the /etc/localtime symlink for the machine's current zone."""
    name = zone_name(machine)
    machine.fs.write("/etc/timezone", name + "\n", mtime=mtime)
    machine.fs.write(f"/usr/share/zoneinfo/{name}", "TZif2\n", mtime=mtime)
    existing = machine.fs.root.children.get("etc")
    if isinstance(existing, Dir) and "localtime" in existing.children:
        machine.fs.unlink(machine.fs.lookup("/etc/localtime", follow=False))
    machine.fs.symlink("/etc/localtime", f"/usr/share/zoneinfo/{name}", mtime)


def set_zone(machine: SimOS, name: str) -> None:
    machine.timezone = "UTC" if name in ("UTC", "Etc/UTC") else name
    install(machine, machine.now())


@command("dpkg-reconfigure", directory="/usr/sbin")
def cmd_dpkg_reconfigure(ctx: Ctx, args: list[str]) -> int:
    return _dpkg_reconfigure(ctx.os, ctx, args)


@command("timedatectl", directory="/usr/bin", needs=[SYSTEMD])
def cmd_timedatectl(ctx: Ctx, args: list[str]) -> int:
    return _timedatectl(ctx.os, ctx, args)


def _offset(machine: SimOS) -> tuple[str, str]:
    now = machine.localtime()
    return now.strftime("%Z"), now.strftime("%z")


def _timedatectl(machine: SimOS, ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "timedatectl", args[1:], "aH:M:",
                      ("no-pager", "no-ask-password", "adjust-system-clock", "monitor", "all"))
    if o is None:
        return 1
    rest = o.operands
    verb = rest[0] if rest else "status"
    if verb == "status":
        abbr, off = _offset(machine)
        local = machine.localtime().strftime("%a %Y-%m-%d %H:%M:%S %Z")
        utc = dt.datetime.fromtimestamp(machine.now(), dt.UTC).strftime("%a %Y-%m-%d %H:%M:%S UTC")
        ctx.out(f"               Local time: {local}\n           Universal time: {utc}\n"
                f"                Time zone: {zone_name(machine)} ({abbr}, {off})\n"
                "System clock synchronized: yes\n              NTP service: active\n")
        return 0
    if verb == "set-timezone":
        name = rest[1] if len(rest) > 1 else ""
        if not valid_zone(name):
            ctx.err(f"Failed to set time zone: Invalid or not installed time zone '{name}'\n")
            return 1
        if failing(machine.lab_faults, StepFault.TIMEZONE):
            ctx.err("Failed to set time zone: Access denied\n")
            return 1
        set_zone(machine, name)
        return 0
    if verb == "list-timezones":
        ctx.out("".join(z + "\n" for z in sorted(zoneinfo.available_timezones())))
        return 0
    ctx.err(f"Unknown command verb {verb}.\n")
    return 1


def _dpkg_reconfigure(machine: SimOS, ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "dpkg-reconfigure", args[1:], "f:p:uh",
                      ("frontend=", "priority=", "unseen-only", "default-priority", "force"))
    if o is None:
        return 1
    packages = o.operands
    if packages != ["tzdata"]:
        ctx.err("dpkg-reconfigure: only tzdata can be reconfigured here\n")
        return 1
    try:
        name = machine.fs.read("/etc/timezone").strip()
    except Exception:
        name = ""
    if not valid_zone(name) or failing(machine.lab_faults, StepFault.TIMEZONE):
        ctx.err(f"dpkg-reconfigure: cannot set the time zone {name!r}\n")
        return 1
    set_zone(machine, name)
    local = machine.localtime().strftime("%a %b %e %H:%M:%S %Z %Y")
    utc = dt.datetime.fromtimestamp(machine.now(), dt.UTC).strftime("%a %b %e %H:%M:%S UTC %Y")
    ctx.out(f"\nCurrent default time zone: '{name}'\nLocal time is now:      {local}.\n"
            f"Universal Time is now:  {utc}.\n\n")
    return 0
