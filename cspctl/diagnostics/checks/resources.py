"""Disk and memory inside the VM."""

from __future__ import annotations

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import probe
from cspctl.diagnostics.checks.base import check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

DISK_WARN = 85
DISK_FAIL = 95
PSEUDO_FS = ("tmpfs", "devtmpfs", "udev", "none", "overlay", "shm")

DISK_ADVICE = (
    "A full / or /var/log stops the agent from writing logs and state (and apt/patching). "
    "Find what grows (du -sh /var/log/*; lsof | grep deleted for logs held open by rsyslog), "
    "remove or truncate old logs and restart rsyslog (playbook free-disk)."
)


@check("disk", "Disk space (df -P)", probes=("df -P",))
async def disk(ctx: CheckContext) -> Finding:
    """Use% of every real file system."""
    result = await probe.vm(ctx, "df -P")
    rows = [r for r in parse.parse_df(result.stdout)
            if r.filesystem not in PSEUDO_FS and r.size_kb > 0
            and not r.mount.startswith(("/dev", "/run", "/sys", "/proc"))]
    if not rows:
        return ctx.error("could not parse df output")
    full = [r for r in rows if r.percent >= DISK_FAIL]
    high = [r for r in rows if DISK_WARN <= r.percent < DISK_FAIL]
    worst = max(rows, key=lambda r: r.percent)
    if full:
        return ctx.fail(", ".join(f"{r.mount} {r.percent}% used" for r in full), DISK_ADVICE,
                        "free-disk")
    if high:
        return ctx.warn(", ".join(f"{r.mount} {r.percent}% used" for r in high), DISK_ADVICE,
                        "free-disk")
    return ctx.ok(f"fullest: {worst.mount} {worst.percent}% used")


@check("memory", "Memory (free -m)", probes=("free -m",))
async def memory(ctx: CheckContext) -> Finding:
    """Available memory and swap use."""
    result = await probe.vm(ctx, "free -m")
    mem = parse.parse_free(result.stdout)
    if mem is None or mem.total_mb <= 0:
        return ctx.error("could not parse free -m output")
    pct = 100 * mem.available_mb / mem.total_mb
    summary = f"{mem.available_mb} of {mem.total_mb} MB available"
    if pct < 5:
        return ctx.fail(
            summary,
            "The VM is out of memory: java (-mx is about 80% of RAM) may be killed or stall. "
            "Give the system VM offering more RAM (then destroy the VM) or reboot it to clear "
            "leaks.",
            "reboot",
        )
    if pct < 10:
        return ctx.warn(summary, "Memory is low; watch for the OOM killer in dmesg.")
    return ctx.ok(summary)
