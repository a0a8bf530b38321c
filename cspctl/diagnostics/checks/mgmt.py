"""The management server side: its servers, and alerts about the system VMs."""

from __future__ import annotations

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts
from cspctl.diagnostics.checks.base import ANY, API, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import AppliesTo, Finding

MGMT = (AppliesTo.MGMT,)


@check("mgmt-servers", "Management servers (listManagementServers)", applies_to=MGMT,
       needs=API)
async def mgmt_servers(ctx: CheckContext) -> Finding:
    """Every management server Up, all on the same version, the 'host' setting among them."""
    servers = await ctx.api.list_management_servers()
    ctx.api_evidence("listManagementServers", "\n".join(
        f"{m.name}: state={m.state} version={m.version}"
        + (f" ip={m.ipaddress}" if m.ipaddress else "") for m in servers) or "(none)")
    if not servers:
        return ctx.skip("listManagementServers returned nothing")
    down = [m.name or m.id or "?" for m in servers if m.state not in ("Up", None)]
    versions = {m.version for m in servers if m.version}
    if down:
        return ctx.warn(
            f"not Up: {', '.join(down)}",
            "Agents connected to a management server that is down reconnect to another one "
            "in host=; check that server's service and log "
            "(/var/log/cloudstack/management/management-server.log).",
        )
    if len(versions) > 1:
        return ctx.warn(
            f"mixed versions: {', '.join(sorted(versions))}",
            "All management servers must run the same release; finish the upgrade on every "
            "one of them.",
        )
    setting = (await facts.configurations(ctx, "host"))["host"] or ""
    addresses = {a for m in servers for a in (m.ipaddress, m.get("serviceip")) if a}
    configured = {h.strip() for h in setting.split(",") if h.strip()}
    if addresses and configured and not configured & addresses:
        return ctx.warn(
            f"the 'host' setting ({setting}) is none of the servers' addresses "
            f"({', '.join(sorted(addresses))})",
            "System VMs connect to the address in 'host'. Set it to the management servers' "
            "address (or the load balancer in front of them), restart the management server "
            "and destroy the system VMs so they boot with it.",
            "recreate",
        )
    return ctx.ok(f"{len(servers)} Up, version {', '.join(sorted(versions)) or '?'}")


@check("alerts", "Alerts about this VM (listAlerts)", applies_to=ANY, needs=API)
async def alerts(ctx: CheckContext) -> Finding:
    """Recent alerts naming the VM (history; shown as evidence, never a failure by itself)."""

    async def load() -> list[tuple[str, str]]:
        return [(str(a.sent or ""), a.description or "") for a in await ctx.api.list_alerts()]

    everything = await ctx.cached("alerts", load)
    name = ctx.vm.name or ""
    mine = sorted(((sent, text) for sent, text in everything
                   if name and parse.mentions(text, name)), reverse=True)
    if not mine:
        return ctx.ok("no alerts name this VM")
    ctx.api_evidence("listAlerts", "\n".join(f"{sent}  {text}" for sent, text in mine[:10]))
    return ctx.ok(f"{len(mine)} alert(s); latest {mine[0][0]}: {mine[0][1][:100]}")
