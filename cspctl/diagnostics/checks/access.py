"""Can we get in? The SSH route to the VM and each hop on it."""

from __future__ import annotations

import dataclasses
import time

from cspctl.cloudstack.errors import CloudStackError
from cspctl.diagnostics.checks.base import API, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding
from cspctl.errors import CspctlError
from cspctl.ssh.errors import SshConnectionLost
from cspctl.ssh.route import Route

TRANSIENT = (CloudStackError, SshConnectionLost)
"""Failures that say nothing about the VM (the API erred, an SSH connection dropped): the
check could not run, which is ``error``, never ``fail``."""

SSH_ADVICE = (
    "cspctl reaches a KVM/XenServer system VM through its hypervisor host (SSH to the host, "
    "then port 3922 on the VM's link-local address). Check that the host is up and accepts "
    "the profile's SSH user and key, that the VM is Running on that host, and that the "
    "management-server key is the one installed in the VM. The checks that look inside the "
    "VM were skipped."
)


class _ZoneHosts:
    """The API as ``resolve_route`` sees it in a diagnosis: its ``listHosts id=…`` for the
    VM's hypervisor host is answered from one ``listHosts type=Routing`` per zone and run
    (a fleet of 200 VMs asks once per zone, not once per VM). Anything else goes through."""

    def __init__(self, ctx: CheckContext) -> None:
        self._ctx = ctx

    def __getattr__(self, name: str) -> object:
        return getattr(self._ctx.api, name)

    async def list_hosts(self, **params: object) -> list[object]:
        api, zone = self._ctx.api, self._ctx.vm.zoneid
        wanted = params.get("id")
        if set(params) != {"id"} or not zone or not isinstance(wanted, str):
            return list(await api.list_hosts(**params))

        async def load() -> dict[str | None, object]:
            return {h.id: h for h in await api.list_hosts(zoneid=zone, type="Routing")}

        host = (await self._ctx.cached(f"routing_hosts:{zone}", load)).get(wanted)
        # a host the zone listing did not have (added since): ask for it alone
        return [host] if host is not None else list(await api.list_hosts(id=wanted))


def host_route_of(route: Route) -> Route | None:
    """The route's prefix that ends at the hypervisor host (None when there is no host hop)."""
    hops = tuple(route.hops)
    last = max((i for i, hop in enumerate(hops) if hop.kind == "host"), default=None)
    if last is None:
        return None
    host = hops[last]
    return dataclasses.replace(route, vm_id=None, vm_name=host.host, hops=hops[: last + 1])


@check("ssh", "SSH access to the VM (each hop)", needs=API, probes=("uptime",),
       host_probes=("hostname",))
async def ssh_access(ctx: CheckContext) -> Finding:
    """Resolve the route (host hop, link-local hop) and run a trivial command on each hop."""
    state = ctx.state
    if state.vm_ssh_error:  # set by the runner (--no-ssh)
        state.host_ssh_error = state.host_ssh_error or state.vm_ssh_error
        return ctx.skip(state.vm_ssh_error)
    if ctx.vm.state != "Running":
        state.vm_ssh_error = state.host_ssh_error = f"{ctx.vm.name} is {ctx.vm.state}, not Running"
        return ctx.skip(state.vm_ssh_error)
    from cspctl.ssh import resolve_route

    started = time.monotonic()
    try:
        route = await resolve_route(ctx.vm, _ZoneHosts(ctx), ctx.profile)
    except CspctlError as exc:
        state.vm_ssh_error = state.host_ssh_error = f"no SSH route to {ctx.vm.name}: {exc}"
        ctx.add_evidence("mgmt", "resolve route", str(exc), None, time.monotonic() - started)
        if isinstance(exc, TRANSIENT):
            return ctx.error(state.vm_ssh_error, "The route could not be worked out because "
                             "the API failed; run the diagnosis again.")
        return ctx.fail(state.vm_ssh_error, SSH_ADVICE)
    state.route = route
    state.host_route = host_route_of(route)
    ctx.add_evidence("mgmt", "resolve route", "\n".join(route.describe()), None,
                     time.monotonic() - started)
    if state.host_route is not None:
        try:
            await ctx.host_run("hostname")
        except CspctlError as exc:
            state.host_ssh_error = str(exc)
            state.vm_ssh_error = str(exc)
            if isinstance(exc, TRANSIENT):
                return ctx.error(f"host hop: {exc}")
            return ctx.fail(f"host hop unreachable: {exc}", SSH_ADVICE)
    else:
        state.host_ssh_error = "no hypervisor-host hop on this route"
    try:
        result = await ctx.vm_run("uptime")
    except CspctlError as exc:
        state.vm_ssh_error = str(exc)
        if isinstance(exc, TRANSIENT):
            return ctx.error(f"VM hop: {exc}")
        return ctx.fail(f"VM unreachable: {exc}", SSH_ADVICE)
    if result.exit_status != 0:
        state.vm_ssh_error = f"`uptime` failed in {ctx.vm.name} (exit {result.exit_status})"
        return ctx.fail(state.vm_ssh_error, SSH_ADVICE)
    hops = " → ".join(f"{h.kind} {h.host}:{h.port}" for h in route.hops)
    return ctx.ok(f"reachable ({route.mode}: {hops})")
