"""What CloudStack says: VM state, agent state, agent version."""

from __future__ import annotations

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts
from cspctl.diagnostics.checks.base import API, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding, Status
from cspctl.playbook_ids import cause_rank

VM_FIELDS = ("state", "agentstate", "version", "hostname", "linklocalip", "privateip",
             "publicip", "templatename")


@check("vm-state", "VM state (listSystemVms)", needs=API)
async def vm_state(ctx: CheckContext) -> Finding:
    """The VM must be Running on a host."""
    vm = ctx.vm
    ctx.api_evidence(f"listSystemVms id={vm.id}", facts.fmt_fields(vm, *VM_FIELDS))
    state = vm.state or "Unknown"
    if state == "Running":
        return ctx.ok(f"Running on {vm.hostname or vm.hostid or '?'}")
    if state in ("Starting", "Stopping", "Migrating"):
        return ctx.warn(
            f"{state}: a lifecycle operation is in progress",
            "Wait for the operation to finish (watch listAsyncJobs / the events) and run "
            "the diagnosis again.",
        )
    if state == "Stopped":
        return ctx.fail(
            "Stopped",
            "CloudStack normally restarts system VMs itself; if it stays Stopped, start it "
            "(startSystemVm) and look at the management-server log for why it stopped.",
        )
    return ctx.fail(
        f"state {state}",
        "A system VM in this state does not come back by itself. Destroy it: CloudStack "
        "re-creates it from the current system VM template.",
        "recreate",
    )


@check("version", "Agent version matches the management server", needs=API, after=("ssh",),
       probes=(facts.RELEASE_PROBE,))
async def version(ctx: CheckContext) -> Finding:
    """listSystemVms/listHosts version (or /etc/cloudstack-release) against listCapabilities."""
    mgmt = await facts.mgmt_version(ctx)
    vm_version = ctx.vm.version
    source = "agent"
    ctx.api_evidence(f"listSystemVms id={ctx.vm.id}", f"version = {vm_version or ''}")
    if ctx.vm_reachable:
        release = await facts.release(ctx)
        if not vm_version and release:
            vm_version, source = release, "template"
    if not mgmt:
        return ctx.skip("the management server's version is unknown")
    if not vm_version:
        return ctx.skip("the VM reports no agent version")
    same = parse.same_release(vm_version, mgmt)
    if same:
        return ctx.ok(f"{source} {vm_version} = management server {mgmt}")
    older = parse.parse_version(vm_version) < parse.parse_version(mgmt)
    return ctx.fail(
        f"{source} version {vm_version} {'is older than' if older else 'differs from'} "
        f"management server {mgmt}",
        "The system VM still runs the template/agent of another release (typical after an "
        "upgrade). Make sure the new system VM template is registered under the exact name the "
        "upgrade expects and is Ready, then destroy the VM so CloudStack re-creates it from the "
        "new template (4.17+: patchSystemVm can live-patch instead).",
        "recreate",
    )


@check("agent-state", "Agent state (listHosts)", needs=API, after=("*",))
async def agent_state(ctx: CheckContext) -> Finding:
    """Agent Up? If not, name the likely cause from the other findings."""
    vm = ctx.vm
    host = await facts.agent_host(ctx)
    agent = vm.agentstate or (host.state if host else None)
    if host is not None:
        ctx.api_evidence(
            f"listHosts type={'ConsoleProxy' if vm.is_cpvm else 'SecondaryStorageVM'} "
            f"name={vm.name}",
            facts.fmt_fields(host, "state", "resourcestate", "version", "lastpinged",
                             "disconnected"),
        )
    else:
        ctx.api_evidence(f"listSystemVms id={vm.id}", f"agentstate = {vm.agentstate or ''}")
    if agent == "Up":
        if host is not None and host.state not in (None, "Up"):
            return ctx.warn(
                f"listSystemVms says Up but the host record says {host.state}",
                "agentstate has had bugs (always Up in 4.14, Up after a forced stop); trust "
                "the host record and the in-VM checks.",
            )
        stale = ctx.finding_of("agent-reconcile")
        if stale is not None and stale.status is Status.FAIL:
            return ctx.warn(
                "the API says Up, but the VM disagrees (see 'Agent state: API, hypervisor, "
                "process and connection agree')",
                "The agent's recorded state is stale; the reconciling step names the fix.",
            )
        return ctx.ok("agent Up")
    if agent is None or agent == "Unknown":
        if vm.state != "Running":
            return ctx.skip(f"{vm.name} is {vm.state}")
        return ctx.warn(
            "agent state unknown (no host record for this VM)",
            "The VM never registered its agent. Look at the in-VM checks (management server "
            "reachable on 8250, java running) and /var/log/cloud.log.",
        )
    summary = f"agent {agent}"
    if vm.state != "Running":
        return ctx.fail(f"{summary} (VM {vm.state})", "Get the VM Running first.")
    others = [f for cid, f in ctx.findings.items() if cid not in ("agent-state", "vm-state")]
    causes = sorted(
        (f for f in others if f.status is Status.FAIL and f.check_id != "ssh"),
        key=lambda f: cause_rank(f.playbook),  # the likeliest cause first
    )
    if causes:
        names = "; ".join(f"{f.title}: {f.summary}" for f in causes)
        return ctx.fail(
            f"{summary}; likely cause: {causes[0].summary.split('; ')[0]}",
            f"The agent is not connected because of what the other checks found ({names}). "
            "Fix those first (see their advice and playbooks); the agent reconnects once the "
            "cause is gone.",
            causes[0].playbook,
        )
    unknown = [f for f in others if f.status is Status.ERROR]
    if unknown:
        n = len(unknown)
        return ctx.fail(
            f"{summary}; cause unknown: {n} check{'s' if n != 1 else ''} could not run "
            f"({unknown[0].title}: {unknown[0].reason or unknown[0].summary})",
            "The checks that would explain it could not run (the API or SSH failed, or they "
            "timed out): run the diagnosis again once those work before choosing a repair.",
        )
    if not ctx.vm_reachable:
        return ctx.fail(
            f"{summary}; could not look inside the VM ({ctx.state.vm_ssh_error})",
            "Without a shell on the VM the only remote fix is a reboot, which re-runs the boot "
            "scripts and restarts the agent. Fix SSH access first if you want to know why.",
            "reboot",
        )
    return ctx.fail(
        f"{summary} while everything else looks fine",
        "Nothing inside the VM explains it: restart the agent (the cloud service) so it "
        "reconnects; if it stays Disconnected, reboot the VM.",
        "restart-cloud",
    )
