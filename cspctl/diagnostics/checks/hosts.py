"""The hypervisor host under the VM: system VM problems often sit on the host."""

from __future__ import annotations

from cspctl.diagnostics.checks import facts
from cspctl.diagnostics.checks.base import API, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

HOST_AGENT_ADVICE = (
    "The CloudStack agent on the KVM host that runs this VM is not connected to the "
    "management server. The VM itself may be fine, but everything the management server does "
    "through that host fails: console sessions end with \"decode token. host info is not "
    "found\" (apache/cloudstack#3142), start/stop/migrate of the host's VMs hang. On {host}: "
    "systemctl status cloudstack-agent, tail /var/log/cloudstack/agent/agent.log, then "
    "systemctl restart cloudstack-agent; check that the host reaches the management server on "
    "8250. No cspctl playbook acts on hypervisor hosts: this is a host-side fix."
)


@check("host-agent", "Hypervisor host agent (listHosts type=Routing)", needs=API)
async def host_agent(ctx: CheckContext) -> Finding:
    """The state of the KVM host the VM runs on, as the management server sees it."""
    vm = ctx.vm
    if not vm.hostid:
        return ctx.skip(f"{vm.name} is not on a host ({vm.state})")
    zone = vm.zoneid

    async def load() -> dict[str, object]:
        params = {"type": "Routing"}
        if zone:
            params["zoneid"] = zone
        return {h.id: h for h in await ctx.api.list_hosts(**params) if h.id}

    hosts = await ctx.cached(f"routing_hosts:{zone}", load)
    host = hosts.get(vm.hostid)
    if host is None:
        ctx.api_evidence(f"listHosts type=Routing zoneid={zone}", f"no host with id {vm.hostid}")
        return ctx.fail(
            f"the host {vm.hostname or vm.hostid} is not among the zone's hypervisor hosts",
            "listSystemVms names a host that listHosts does not know: the host was removed "
            "while the VM ran on it. Destroy the VM so CloudStack re-creates it on a live host.",
            "recreate",
        )
    ctx.api_evidence(f"listHosts type=Routing id={vm.hostid}",
                     facts.fmt_fields(host, "name", "state", "resourcestate", "lastpinged",
                                      "disconnected", "hypervisorversion"))
    name = host.name or vm.hostname or vm.hostid  # type: ignore[attr-defined]
    state = host.state or "Unknown"  # type: ignore[attr-defined]
    resource = host.resourcestate or ""  # type: ignore[attr-defined]
    if state != "Up":
        return ctx.fail(f"host {name}: agent {state}", HOST_AGENT_ADVICE.format(host=name))
    if resource in ("Maintenance", "PrepareForMaintenance", "ErrorInMaintenance"):
        return ctx.warn(
            f"host {name} is in {resource}",
            "The host is (going) into maintenance: its VMs should move away. System VMs on it "
            "are stopped and re-created elsewhere; if it hangs in PrepareForMaintenance or "
            "ErrorInMaintenance, cancel maintenance and look at the management-server log.",
        )
    return ctx.ok(f"host {name}: agent Up" + (f", {resource}" if resource else ""))
