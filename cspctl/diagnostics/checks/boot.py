"""The boot chain of a system VM as a timeline: where a VM that never finishes starting stops.

4.8 (sysvinit): cloud-early-config (which patches) then the cloud service. 4.11+ (systemd):
cloud-preinit, cloud-early-config, cloud-postinit, then cloud. Both log their stages to
/var/log/cloud.log; on systemd templates the units' own timestamps are read first.
"""

from __future__ import annotations

from datetime import datetime

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts, probe
from cspctl.diagnostics.checks.base import check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

STAGES_GREP = ("grep -E 'Executing cloud-early-config|Patching CPVM/SSVM|Boot up process done|"
               "Agent started|Connected to|Startup Response Received' /var/log/cloud.log "
               "| tail -n 60")
UNITS = ("cloud-preinit", "cloud-early-config", "cloud-postinit", "cloud")
UNITS_SHOW = ("systemctl show -p Id -p ActiveState -p InactiveExitTimestamp "
              "-p ActiveEnterTimestamp " + " ".join(UNITS))
STUCK_AFTER = 300.0
"""Seconds after cloud-early-config started beyond which a boot that has not finished is stuck."""

STUCK_ADVICE = (
    "The boot chain stopped in cloud-early-config: the VM never reaches 'Boot up process "
    "done', so the agent never starts and the VM stays Starting or Disconnected. Read "
    "/var/log/cloud.log from that line on: \"Could not find patch file, retrying\" means the "
    "host could not copy the patch over link-local port 3922 (apache/cloudstack#8143, #6497); "
    "a missing /var/cache/cloud/cmdline means the boot parameters never arrived. Rebooting "
    "re-runs the chain (playbook reboot); if it stops at the same place, destroy the VM."
)


def _label(line: str) -> str | None:
    for key, label in (("Executing cloud-early-config", "cloud-early-config"),
                       ("Patching CPVM/SSVM", "patch"), ("Boot up process done", "boot done"),
                       ("Agent started", "agent started"), ("Connected to", "connected"),
                       ("Startup Response Received", "connected")):
        if key in line:
            return label
    return None


def timeline(text: str) -> list[tuple[datetime, str]]:
    """(time, stage) from cloud.log lines: ``date``-stamped (boot scripts) and log4j (agent)."""
    events: list[tuple[datetime, str]] = []
    for line in text.splitlines():
        label = _label(line)
        if label is None:
            continue
        stamp = parse.parse_log_date_lines(line) or _log4j_time(line)
        if stamp and not (events and events[-1][1] == label == "connected"):
            events.append((stamp[0], label))
    return events


def _log4j_time(line: str) -> list[datetime]:
    try:
        return [datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")]
    except ValueError:
        return []


def _fmt(events: list[tuple[datetime, str]]) -> str:
    start = events[0][0]
    parts = [f"{events[0][1]} {start:%b %d %H:%M:%S}"]
    parts += [f"{label} +{int((t - start).total_seconds())} s" for t, label in events[1:]]
    return ", ".join(parts)


NOW_PROBE = "date '+%Y-%m-%d %H:%M:%S'"


@check("boot-timeline", "Boot chain timeline (cloud-early-config, patch, agent)",
       after=("java-process",), probes=(STAGES_GREP, NOW_PROBE, UNITS_SHOW))
async def boot_timeline(ctx: CheckContext) -> Finding:
    """cloud.log's boot stages since the latest cloud-early-config run, with durations."""
    units: list[str] = []
    if await facts.is_at_least(ctx, 4, 11):  # systemd templates: the units' own timestamps
        try:
            shown = await probe.vm(ctx, UNITS_SHOW)
            if shown.exit_status == 0:
                units = parse.parse_systemctl_show(shown.stdout)
        except probe.ToolMissing:
            pass  # the log below still tells the stages
    result = await probe.vm(ctx, STAGES_GREP, tail_only=True)
    now_result = await ctx.vm_run(NOW_PROBE)
    try:
        now = datetime.strptime(now_result.stdout.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        now = None
    events = timeline(result.stdout)
    runs = [i for i, (_t, label) in enumerate(events) if label == "cloud-early-config"]
    if not runs:
        if units:
            return ctx.ok("units: " + "; ".join(units))
        return ctx.skip("no boot-stage lines in /var/log/cloud.log")
    latest = events[runs[-1]:]
    before = events[:runs[-1]]
    done = any(label == "boot done" for _t, label in latest)
    agent_before = [t for t, label in before if label == "agent started"]
    summary = _fmt(latest) + (f" (units: {'; '.join(units)})" if units else "")
    if not done and agent_before:
        return ctx.warn(
            f"cloud-early-config ran again at {latest[0][0]:%b %d %H:%M:%S}, after the agent "
            f"started at {agent_before[-1]:%b %d %H:%M:%S}; earlier boot: {_fmt(before)}",
            "cloud-early-config patches the VM: it deletes and re-creates the agent's "
            "directory. Run while the agent is up, it leaves java in a deleted working "
            "directory (see 'Java working directory intact', which names the fix).",
        )
    if not done:
        age = (now - latest[0][0]).total_seconds() if now else None
        if age is not None and age > STUCK_AFTER:
            return ctx.fail(
                f"stuck: cloud-early-config started {int(age // 60)} min ago and the boot has "
                f"not finished ({summary})", STUCK_ADVICE, "reboot")
        return ctx.ok(f"booting: {summary}")
    return ctx.ok(summary)
