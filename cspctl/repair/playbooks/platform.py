"""Playbooks for certificates, patches and disk: provision-cert, patch, free-disk."""

from __future__ import annotations

import re
from shlex import quote

from cspctl.playbook_ids import PlaybookId
from cspctl.repair.context import RepairContext
from cspctl.repair.model import Playbook, Question, Step, StepFailed, StepResult
from cspctl.repair.playbooks.common import api_preview, wait_agent_step
from cspctl.text import safe_line


# ---- provision-cert (4.11+) ---------------------------------------------------------------
def _host_type(ctx: RepairContext) -> str:
    return "ConsoleProxy" if ctx.vm.is_cpvm else "SecondaryStorageVM"


async def _find_host(ctx: RepairContext) -> StepResult:
    kind = _host_type(ctx)
    hosts = [h for h in await ctx.api.list_hosts(type=kind, name=ctx.vm.name)
             if h.name == ctx.vm.name and h.state != "Removed"]
    if not hosts:
        raise StepFailed(f"no host record (listHosts type={kind}) for {ctx.name}")
    ctx.scratch["hostid"] = hosts[0].id
    return StepResult(f"host record {hosts[0].id} ({hosts[0].state})")


async def _provision(ctx: RepairContext) -> StepResult:
    job = await ctx.follow_job("provisionCertificate", hostid=ctx.scratch["hostid"])
    return StepResult(f"provisionCertificate job {job.jobid} done: new agent certificate")


PROVISION_CERT = Playbook(
    id=PlaybookId.PROVISION_CERT,
    title="Issue a new agent certificate (provisionCertificate)",
    summary="provisionCertificate for the VM's host record, then wait for the agent to "
            "reconnect",
    fixes=("agent-cert", "agent-state"),
    steps=(
        Step("find-host", "Find the VM's host record", "read",
             lambda c: f"API listHosts type={_host_type(c)} name={c.name}", _find_host),
        Step("provision", "Provision a new certificate", "change",
             lambda c: api_preview("provisionCertificate",
                                   hostid=c.scratch.get("hostid", "<host record id>"))
             + f" ({c.name}); follow the job (at most {c.timeout:g} s)", _provision),
        wait_agent_step("Wait for the agent to reconnect"),
    ),
    verify=("agent-cert", "agent-state"),
    min_version=(4, 11),
)


# ---- patch (4.17+) --------------------------------------------------------------------------
def _patch_params(ctx: RepairContext) -> dict[str, object]:
    params: dict[str, object] = {"id": ctx.vm.id}
    if ctx.scratch.get("forced"):
        params["forced"] = "true"
    return params


async def _ask_forced(ctx: RepairContext) -> StepResult:
    ctx.scratch["forced"] = False
    if ctx.gate is None or not ctx.gate.allows_writes() or ctx.asker is None:
        return StepResult("")
    answer = await ctx.asker(Question(
        kind="confirm", playbook="patch", step_id="patch", title="Also use forced=true?",
        vm=ctx.name, preview=api_preview("patchSystemVm", id=ctx.vm.id, forced="true"),
        warning="forced=true patches even a VM that already runs the current scripts "
                "(and restarts its agent again); without it CloudStack refuses such a VM.",
        optional=True))
    ctx.scratch["forced"] = answer.yes
    return StepResult("")


async def _patch(ctx: RepairContext) -> StepResult:
    job = await ctx.follow_job("patchSystemVm", **_patch_params(ctx))
    return StepResult(f"patchSystemVm job {job.jobid} done"
                      + (" (forced)" if ctx.scratch.get("forced") else ""))


PATCH = Playbook(
    id=PlaybookId.PATCH,
    title="Live-patch the system VM (patchSystemVm)",
    summary="patchSystemVm (its forced flag asked separately), then wait for the agent",
    fixes=("version",),
    steps=(
        Step("patch", "Patch the VM's scripts and agent", "change",
             lambda c: api_preview("patchSystemVm", **_patch_params(c))
             + f" ({c.name}); follow the job (at most {c.timeout:g} s)", _patch,
             prepare=_ask_forced),
        wait_agent_step(),
    ),
    verify=("version", "agent-state"),
    min_version=(4, 17),
    notes=("Immutable asset dirs (protect-assets) block the patch: run unprotect-assets "
           "first.",),
)


# ---- free-disk ------------------------------------------------------------------------------
LOG_DIRS = ("/var/log", "/var/log/cloud")
ROTATED = re.compile(r"\.(\d+|gz|old|bak)$")
SAFE_PATH = re.compile(r"^/var/log/[A-Za-z0-9._/-]+$")


async def _list_large(ctx: RepairContext) -> StepResult:
    result = await ctx.vm_run("ls -lS " + " ".join(LOG_DIRS), check=False)
    rows: list[tuple[int, str]] = []
    directory = LOG_DIRS[0]
    for line in result.stdout.splitlines():
        if line.endswith(":") and line.startswith("/"):
            directory = line[:-1]
            continue
        parts = line.split(None, 8)
        if len(parts) == 9 and parts[0].startswith("-") and parts[4].isdigit():
            rows.append((int(parts[4]), f"{directory}/{parts[8]}"))
    rows.sort(reverse=True)
    picks = [p for size, p in rows if ROTATED.search(p) and SAFE_PATH.match(p)
             and ".." not in p]
    ctx.scratch["candidates"] = tuple(picks)
    shown = "\n".join(f"{size / 1048576:10.1f} MiB  {safe_line(p)}" for size, p in rows[:15])
    return StepResult(f"{len(picks)} rotated log(s) can go", shown)


async def _pick(ctx: RepairContext) -> StepResult:
    ctx.scratch.setdefault("picked", ())
    candidates = ctx.scratch.get("candidates", ())
    if not candidates or ctx.gate is None or not ctx.gate.allows_writes() or ctx.asker is None:
        return StepResult("")
    answer = await ctx.asker(Question(
        kind="choose", playbook="free-disk", step_id="delete", title="Which files to delete?",
        vm=ctx.name, preview="rm -f FILES (only the files you pick)", choices=candidates))
    ctx.scratch["picked"] = tuple(p for p in answer.picked if p in candidates)
    return StepResult("")


def _rm(ctx: RepairContext) -> str:
    picked = ctx.scratch.get("picked") or ()
    return "rm -f " + " ".join(quote(p) for p in picked) if picked else "(nothing picked)"


async def _delete(ctx: RepairContext) -> StepResult:
    if not ctx.scratch.get("picked"):
        return StepResult("nothing picked: nothing deleted")
    await ctx.vm_run(_rm(ctx))
    df = await ctx.vm_run("df -P /", check=False)
    return StepResult(f"deleted {len(ctx.scratch['picked'])} file(s)", df.stdout.strip())


FREE_DISK = Playbook(
    id=PlaybookId.FREE_DISK,
    title="Free disk space: show what is large, delete only what you pick",
    summary="ls -lS of the log dirs; rm -f of the rotated logs the operator picks",
    fixes=("disk",),
    steps=(
        Step("list-large", "Show the largest log files", "read",
             lambda c: f"ssh {c.where()}: ls -lS {' '.join(LOG_DIRS)}", _list_large),
        Step("delete", "Delete the files you pick", "change",
             lambda c: f"ssh {c.where()}: {_rm(c)}", _delete, prepare=_pick),
    ),
    verify=("disk",),
    needs_ssh=True,
    notes=("Only rotated logs are offered; restart rsyslog (or the agent) if an open log "
           "was the problem.",),
)
