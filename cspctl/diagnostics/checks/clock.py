"""Time: clock drift between VM, host and management server; time zones."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks.base import check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

WARN_DRIFT = 5.0
EPOCH = "date -u +%s"
TZ = "date '+%z %Z'"
"""The offset decides (GMT and UTC are both +0000); the name is shown for people."""
FAIL_DRIFT = 60.0

DRIFT_ADVICE = (
    "Certificates (4.11+ agent TLS) and signed API requests are checked against local clocks, "
    "so drift breaks the agent connection. Sync the clocks with NTP: on the hypervisor host "
    "(chrony/ntpd), on the management server, and for the SSVM via the ntp.server.list "
    "setting; a system VM takes its time from the host at boot."
)


async def _epoch(ctx: CheckContext, where: str) -> tuple[float | None, float]:
    """``date -u +%s`` on the VM or host; returns (epoch, local time at the answer's middle)."""
    started = time.monotonic()
    local_start = ctx.clock()
    run = ctx.vm_run if where == "vm" else ctx.host_run
    result = await run(EPOCH)
    elapsed = time.monotonic() - started
    if result.started is not None:  # it may have run a while ago (one batch of probes)
        local_start -= started - result.started
        elapsed = result.duration
    epoch = parse.parse_epoch(result.stdout)
    # `date +%s` truncates: the true time lies in [epoch, epoch + 1)
    return (None if epoch is None else epoch + 0.5), local_start + elapsed / 2


def _fmt_offset(seconds: float) -> str:
    """``+0 s``, ``-3 d 00:20:34``: human-sized offsets."""
    if abs(seconds) < 1.0:
        return "±0 s"
    sign = "+" if seconds > 0 else "-"
    secs = round(abs(seconds))
    if secs < 120:
        return f"{sign}{secs} s"
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{days} d {hours:02d}:{minutes:02d}:{secs:02d}" if days else (
        f"{sign}{hours:02d}:{minutes:02d}:{secs:02d}")


@check("clock-drift", "Clock drift (VM, host, management server)", probes=(EPOCH,),
       host_probes=(EPOCH,))
async def clock_drift(ctx: CheckContext) -> Finding:
    """Compare ``date -u +%s`` on the VM and its host with cspctl's (management) clock."""
    vm_epoch, vm_local = await _epoch(ctx, "vm")
    if vm_epoch is None:
        return ctx.error("could not read the VM's clock")
    clocks = {"VM": vm_epoch - vm_local}
    if ctx.host_reachable:
        host_epoch, host_local = await _epoch(ctx, "host")
        if host_epoch is not None:
            clocks["host"] = host_epoch - host_local
    mgmt_now = ctx.clock()
    ctx.add_evidence("mgmt", "date -u +%s (cspctl's clock)", str(int(mgmt_now)))
    # minus the half-second resolution of `date +%s`
    drifts = {name: abs(off) - 0.5 for name, off in clocks.items()}
    parts = [f"{name} {_fmt_offset(off)}" for name, off in clocks.items()]
    if "host" in clocks:
        vm_vs_host = abs(clocks["VM"] - clocks["host"]) - 1.0
        drifts["VM vs host"] = vm_vs_host
    summary = "offsets vs management server: " + ", ".join(parts)
    top = max(drifts.values())
    if top >= FAIL_DRIFT:
        return ctx.fail(summary, DRIFT_ADVICE, "fix-timezone")
    if top >= WARN_DRIFT:
        return ctx.warn(summary, DRIFT_ADVICE, "fix-timezone")
    return ctx.ok(summary)


TZ_ADVICE = (
    "The system VM logs in {vm} while its host is in {host}: timestamps in /var/log/cloud.log "
    "and the management-server log do not line up, which makes incidents hard to follow (and "
    "an operator setting the clock by hand to local time would create real drift). Align the "
    "time zones (playbook fix-timezone) or keep it in mind when comparing logs."
)


@check("timezone", "Time zone (VM vs host)", probes=(TZ,), host_probes=(TZ,))
async def timezone(ctx: CheckContext) -> Finding:
    """``date '+%z %Z'`` on the VM and its host: warn only when the UTC offsets differ."""
    vm_tz = parse.parse_tz_offset((await ctx.vm_run(TZ)).stdout)
    if not ctx.host_reachable:
        return ctx.skip(f"host not reachable ({ctx.state.host_ssh_error}); VM is in {vm_tz}")
    host_tz = parse.parse_tz_offset((await ctx.host_run(TZ)).stdout)
    if vm_tz is None or host_tz is None:
        return ctx.error("could not read the time zones")
    local = datetime.now(UTC).astimezone()
    ctx.add_evidence("mgmt", f"{TZ} (cspctl)", local.strftime("%z %Z"))
    if vm_tz.offset != host_tz.offset:
        return ctx.warn(f"VM {vm_tz}, host {host_tz}",
                        TZ_ADVICE.format(vm=vm_tz, host=host_tz), "fix-timezone")
    if vm_tz.name != host_tz.name:
        return ctx.ok(f"same offset {vm_tz.offset}: VM says {vm_tz.name}, host says "
                      f"{host_tz.name}")
    return ctx.ok(f"VM and host in {vm_tz}")
