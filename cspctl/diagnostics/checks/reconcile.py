"""Four sources of truth about one agent, and which of them disagree (apache/cloudstack#4972).

The API's agent state is what the management server last concluded; ``virsh domstate`` on
the host is what the hypervisor runs; the java process is the agent itself; an established
TCP connection to the management server's port is the agent actually connected.
"""

from __future__ import annotations

from shlex import quote

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts, probe
from cspctl.diagnostics.checks.base import check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

STALE_ADVICE = (
    "The management server still shows the agent {api}, but inside the VM {why}. The API's "
    "state is stale (apache/cloudstack#4972): the management server has not noticed (it waits "
    "ping.interval x ping.timeout, and some releases never move the record), so nothing "
    "restarts the agent and consoles or copies through this VM fail. Restart the agent (the "
    "cloud service) so it reconnects and the record becomes true; if java keeps dying, read "
    "/var/log/cloud.log (OutOfMemoryError: give the offering more RAM)."
)


async def _hypervisor_state(ctx: CheckContext) -> str:
    """``virsh domstate NAME`` on the host (the instance name), or why it is unknown."""
    if not ctx.host_reachable:
        return "unknown (host not reachable)"
    name = ctx.vm.name or ""
    try:
        result = await probe.host(ctx, f"virsh domstate {quote(name)}")
    except probe.ToolMissing:
        return "unknown (virsh not installed on the host)"
    state = parse.parse_domstate(result.stdout) if result.exit_status == 0 else None
    return state or "not defined on this host"


SOCKETS_PROBE = "ss -tn"


@check("agent-reconcile", "Agent state: API, hypervisor, process and connection agree",
       after=("java-process", "boot-params"), probes=(SOCKETS_PROBE,))
async def agent_reconcile(ctx: CheckContext) -> Finding:
    """listHosts agent state, ``virsh domstate``, ``pgrep java``, ``ss -tn`` to port 8250."""
    vm = ctx.vm
    host = await facts.agent_host(ctx)
    api = vm.agentstate or (host.state if host else None) or "Unknown"
    ctx.api_evidence(f"listSystemVms id={vm.id}", f"state = {vm.state}\nagentstate = {api}")
    hypervisor = await _hypervisor_state(ctx)
    pids = await facts.java_pids(ctx)
    cmd = await facts.cmdline(ctx) or {}
    port = int(cmd["port"]) if cmd.get("port", "").isdigit() else 8250
    sockets = await probe.vm(ctx, SOCKETS_PROBE, "netstat -tn")
    conns = parse.established_to(sockets.stdout, port)
    process = f"java pid {pids[0]}" if pids else "no java process"
    link = (f"connected to {conns[0].peer_host}:{port}" if conns
            else f"no established connection to port {port}")
    summary = f"API {api}; hypervisor {hypervisor}; {process}; {link}"
    if api == "Up" and not (pids and conns):
        why = "java is not running" if not pids else f"the agent holds no connection to {port}"
        return ctx.fail(f"stale: API says Up but {why} ({summary})",
                        STALE_ADVICE.format(api=api, why=why), "restart-cloud")
    if hypervisor not in ("running",) and not hypervisor.startswith("unknown"):
        return ctx.fail(
            f"the hypervisor says {hypervisor} ({summary})",
            "CloudStack says the VM runs on this host, but libvirt does not run it there: the "
            "VM was stopped or migrated behind CloudStack's back. Stop and start it through "
            "CloudStack (or destroy it) so the record and the hypervisor agree.",
            "reboot",
        )
    if api != "Up" and conns:
        return ctx.warn(
            f"the agent is connected but the API says {api} ({summary})",
            "The agent reconnected a moment ago or talks to another management server; run "
            "the diagnosis again in a minute. If it stays so, the management servers disagree "
            "(check listManagementServers and the 'host' setting).",
        )
    return ctx.ok(summary)
