"""Processes and services: boot command line, pids, working directory, start times,
service and unit states, the hypervisor's domain state."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime


def parse_cmdline(text: str) -> dict[str, str]:
    """``/var/cache/cloud/cmdline``: one line of ``key=value`` pairs (bare words -> "")."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    result: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if key:
            result[key] = value if sep else ""
    return result


def cmdline_hosts(cmdline: dict[str, str]) -> list[str]:
    """Management server addresses from ``host=`` (4.11+ may be a comma list)."""
    return [h.strip() for h in cmdline.get("host", "").split(",") if h.strip()]


def parse_pids(text: str) -> list[int]:
    """``pgrep`` output: one pid per line."""
    return [int(w) for w in text.split() if w.isdigit()]


@dataclass(frozen=True)
class Cwd:
    """A process's working directory as the kernel reports it."""

    path: str
    deleted: bool


def parse_cwd(text: str) -> Cwd | None:
    """The cwd from ``ls -l /proc/PID/cwd``, ``readlink /proc/PID/cwd`` or ``pwdx PID``."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "").rstrip()
    if not line:
        return None
    if " -> " in line:
        target = line.split(" -> ", 1)[1]
    elif re.match(r"^\d+: ", line):
        target = line.split(": ", 1)[1]
    else:
        target = line
    deleted = target.endswith(" (deleted)")
    if deleted:
        target = target[: -len(" (deleted)")]
    return Cwd(target.strip(), deleted)


def parse_ps_lstart(text: str, pid: int) -> datetime | None:
    """``ps -o pid,lstart,args -p PID``: the start time (VM local time, naive).

    The PID column is found by the header (procps right-aligns it; busybox has no lstart);
    ``lstart`` is always five words (``Wed Dec  2 04:53:46 2026``).
    """
    pid_i = 0
    for line in text.splitlines():
        cols = line.split()
        if "PID" in cols:
            pid_i = cols.index("PID")
            continue
        if len(cols) >= pid_i + 6 and cols[pid_i] == str(pid):
            try:
                return datetime.strptime(" ".join(cols[pid_i + 1:pid_i + 6]),
                                         "%a %b %d %H:%M:%S %Y")
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class ServiceState:
    running: bool
    pid: int | None


def parse_service_status(text: str, exit_status: int | None) -> ServiceState:
    """``service cloud status`` (sysvinit text) or ``systemctl is-active cloud``."""
    low = text.lower()
    pid_match = re.search(r"(?:process id|pid)\s*[:=]?\s*(\d+)", low)
    pid = int(pid_match.group(1)) if pid_match else None
    if "not running" in low or "inactive" in low or "failed" in low or "dead" in low:
        return ServiceState(False, pid)
    if "is running" in low or low.strip() == "active" or "active (running)" in low:
        return ServiceState(True, pid)
    return ServiceState(exit_status == 0, pid)


def parse_systemctl_show(text: str) -> list[str]:
    """``systemctl show -p Id -p ActiveState -p InactiveExitTimestamp -p ActiveEnterTimestamp
    UNIT…`` (blank-line separated blocks) -> ``"cloud-early-config active 12 s"`` per unit.

    The duration is ActiveEnter - InactiveExit (how long the unit took to start); units that
    never ran show only their state.
    """
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit = props.get("Id", "").removesuffix(".service")
        if not unit:
            continue
        took = ""
        start, ready = (_systemd_time(props.get(k, "")) for k in
                        ("InactiveExitTimestamp", "ActiveEnterTimestamp"))
        if start and ready:
            took = f" {int((ready - start).total_seconds())} s"
        out.append(f"{unit} {props.get('ActiveState', '?')}{took}")
    return out


def _systemd_time(value: str) -> datetime | None:
    """``Mon 2026-11-30 05:21:08 UTC`` (the zone word is dropped: both ends share it)."""
    words = value.split()
    if len(words) < 3:
        return None
    try:
        return datetime.strptime(f"{words[1]} {words[2]}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def parse_domstate(text: str, name: str | None = None) -> str | None:
    """``virsh domstate NAME`` (``running``, ``shut off``) or the row of ``virsh list --all``."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if name is not None:
        for line in lines:
            cols = line.split(None, 2)
            if len(cols) == 3 and cols[1] == name:
                return cols[2].strip()
    if lines and not lines[0].startswith(("Id", "error", "-")) and len(lines) == 1:
        return lines[0]
    return None
