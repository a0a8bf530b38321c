"""The hypervisor host under the VM: system VM problems often sit on the host."""

from __future__ import annotations

from cspctl.diagnostics.checks import facts, probe
from cspctl.diagnostics.checks.access import host_route_of
from cspctl.diagnostics.checks.base import API, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding, Status
from cspctl.errors import CspctlError

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


PATCH_ADVICE = (
    "A system VM leaves Starting only after the management server, through its host, copies "
    "the systemvm patch into it over SSH on link-local port 3922; until then the VM's "
    "/var/log/cloud.log repeats \"Could not find patch file, retrying\" "
    "(apache/cloudstack#8143, #6497). From {host}, {address}:3922 does not answer. On the "
    "host check the cloud0 bridge (ip addr show cloud0: 169.254.0.1/16), iptables rules for "
    "169.254.0.0/16, and the VM's console (virsh console {name}) for sshd failing to start. "
    "Once the host reaches the link-local network, destroy the VM so CloudStack re-creates it "
    "(playbook recreate)."
)


@check("linklocal-3922", "Host reaches the VM's link-local port 3922 (patch copy)",
       needs=API, after=("ssh",))
async def linklocal_3922(ctx: CheckContext) -> Finding:
    """A VM that is not Running yet: ``nc -z`` (or socat, /dev/tcp) from its host to 3922."""
    vm = ctx.vm
    if vm.state == "Running":
        ssh = ctx.finding_of("ssh")
        if ssh is not None and ssh.status is Status.OK:
            return ctx.ok("proved by 'SSH access': the host reaches link-local:3922")
        return ctx.skip("the VM is Running: 'SSH access' tests this path")
    if vm.state not in ("Starting", "Stopping") or not vm.hostid or not vm.linklocalip:
        return ctx.skip(f"{vm.name} is {vm.state} and on no host")
    ctx.api_evidence(f"listSystemVms id={vm.id}",
                     facts.fmt_fields(vm, "state", "hostname", "linklocalip", "created"))
    from cspctl.ssh import resolve_route

    try:
        route = await resolve_route(vm, ctx.api, ctx.profile)
    except CspctlError as exc:
        return ctx.error(f"no route to the VM's host: {exc}")
    host_route = host_route_of(route)
    if host_route is None:
        return ctx.skip("no hypervisor-host hop on this route (VMware/private access)")
    ctx.state.host_route = ctx.state.host_route or host_route
    host = vm.hostname or host_route.target.host
    if await probe.tcp_open(ctx, vm.linklocalip, 3922, on_host=True):
        return ctx.ok(f"{vm.state}: {host} reaches {vm.linklocalip}:3922; the patch can be "
                      "copied (wait for the start to finish)")
    return ctx.fail(
        f"{vm.name} {vm.state}: {host} cannot reach {vm.linklocalip}:3922, so the patch "
        "cannot be copied into it",
        PATCH_ADVICE.format(host=host, address=vm.linklocalip, name=vm.name),
        "recreate",
    )
