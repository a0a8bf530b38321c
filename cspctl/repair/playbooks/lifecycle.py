"""Lifecycle playbooks through the API: reboot, and recreate (destroy, follow the new VM)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cspctl.playbook_ids import PlaybookId
from cspctl.repair.context import RepairContext
from cspctl.repair.model import Playbook, Step, StepFailed, StepResult
from cspctl.repair.playbooks.common import api_preview, wait_agent_step
from cspctl.text import safe_line

BOOT_NOTE = (
    "A reboot runs the boot scripts again, cloud-early-config included: when that script is "
    "what deletes the agent's working directory (java's cwd shows '(deleted)'), a reboot "
    "brings the fault back; protect-assets fixes that case."
)


def _reboot_preview(ctx: RepairContext) -> str:
    return (api_preview("rebootSystemVm", id=ctx.vm.id) + f" ({ctx.name}); follow the job "
            f"(at most {ctx.timeout:g} s)")


async def _reboot(ctx: RepairContext) -> StepResult:
    before = ctx.vm
    job = await ctx.follow_job("rebootSystemVm", id=before.id)
    await ctx.drop_ssh()  # the old connection died with the guest
    return StepResult(f"rebootSystemVm job {job.jobid} done: {ctx.name} rebooted")


REBOOT = Playbook(
    rerun_failed=True,
    id=PlaybookId.REBOOT,
    title="Reboot the system VM through CloudStack",
    summary="rebootSystemVm, follow the job, wait for the agent, re-run the failed checks",
    fixes=("agent-state",),
    steps=(
        Step("reboot", "Reboot the VM (rebootSystemVm)", "change", _reboot_preview, _reboot,
             blast=True),
        wait_agent_step(),
    ),
    verify=("agent-state",),
    notes=(BOOT_NOTE,),
)


# ---- recreate -----------------------------------------------------------------------------
def _destroy_preview(ctx: RepairContext) -> str:
    return (api_preview("destroySystemVm", id=ctx.vm.id) + f" ({ctx.name}, "
            f"{ctx.vm.systemvmtype} in zone {ctx.vm.zonename}); CloudStack re-creates it from "
            "the current system VM template under a new name")


async def _destroy(ctx: RepairContext) -> StepResult:
    old = ctx.vm
    peers = await ctx.api.list_system_vms(zoneid=old.zoneid, systemvmtype=old.systemvmtype)
    ctx.scratch["known_ids"] = {v.id for v in peers}
    ctx.scratch["old"] = old
    job = await ctx.follow_job("destroySystemVm", id=old.id)
    await ctx.drop_ssh()
    return StepResult(f"destroySystemVm job {job.jobid} done: {ctx.name} destroyed")


def _follow_preview(ctx: RepairContext) -> str:
    old = ctx.scratch.get("old") or ctx.vm
    return (f"API listSystemVms zoneid={old.zoneid} systemvmtype={old.systemvmtype} every "
            f"{ctx.poll:g} s until a new VM is Running with its agent Up (at most "
            f"{ctx.timeout:g} s)")


def _trust_new_vm_key(ctx: RepairContext, new_id: str) -> None:
    """A re-created VM has a new SSH host key: accept it for *this* new VM id only (it was
    just made by our destroy); a changed key of a known VM id is still asked or refused."""
    pool = ctx.session.ssh
    previous = pool.ask

    async def ask(question: Any) -> bool:
        if question.vm_id == new_id and question.reason in ("new", "recreated"):
            ctx.session.journal.record(
                "repair.hostkey", vm=question.vm_name, vm_id=new_id, address=question.address,
                fingerprint=question.fingerprint, reason=question.reason, action="accepted",
                why="the VM was re-created by this repair: a new VM has a new host key")
            return True
        return bool(await previous(question)) if previous is not None else False

    pool.ask = ask


async def _follow(ctx: RepairContext) -> StepResult:
    old = ctx.scratch["old"]
    known: set[str | None] = ctx.scratch["known_ids"]
    started = time.monotonic()
    new = None
    while True:
        rows = await ctx.api.list_system_vms(zoneid=old.zoneid, systemvmtype=old.systemvmtype)
        fresh = [v for v in rows if v.id not in known
                 and v.state not in ("Destroyed", "Expunging", "Error")]
        new = fresh[0] if fresh else new
        shown = (f"new VM {new.name}: {new.state}, agent {new.agentstate or 'unknown'}"
                 if new else f"no new {old.systemvmtype} yet")
        ctx.progress(shown, started)
        if new is not None and new.state == "Running" and new.agentstate == "Up":
            break
        left = ctx.timeout - (time.monotonic() - started)
        if left <= 0:
            if new is None:
                raise StepFailed(f"CloudStack did not re-create a {old.systemvmtype} in zone "
                                 f"{old.zonename} within {ctx.timeout:g} s")
            break
        await asyncio.sleep(min(ctx.poll, left))
    ctx.vm = new
    _trust_new_vm_key(ctx, str(new.id))
    lines = [
        f"{safe_line(old.name)} was re-created as {safe_line(new.name)} (id {new.id}), "
        f"{new.state}, agent {new.agentstate or 'unknown'}",
        f"link-local {new.linklocalip} (was {old.linklocalip}), host {new.hostname} "
        f"(was {old.hostname})",
        "it has a new SSH host key (a new VM, a new key): cspctl trusts it for this new VM "
        "id only; a changed key of a known VM would still be refused",
    ]
    late = not (new.state == "Running" and new.agentstate == "Up")
    if late:
        lines.append(f"not Up after {ctx.timeout:g} s; the verification shows why")
    return StepResult(lines[0], "\n".join(lines), attention=late)


RECREATE = Playbook(
    rerun_failed=True,
    id=PlaybookId.RECREATE,
    title="Destroy the system VM so CloudStack re-creates it",
    summary="destroySystemVm (type the VM's name), follow the re-created VM by type and zone "
            "until Running with its agent Up, re-run the checks on it",
    fixes=("vm-state", "boot-params", "version", "agent-state"),
    steps=(
        Step("destroy", "Destroy the VM (destroySystemVm)", "change", _destroy_preview,
             _destroy, confirm="name", blast=True,
             warning="Destroying cannot be undone: the VM, its disk and its immutable flags "
                     "are gone; CloudStack builds a new one."),
        Step("follow", "Follow the re-created VM until Running and agent Up", "wait",
             _follow_preview, _follow),
    ),
    verify=("vm-state", "agent-state"),
    notes=("The new VM has a new name, new addresses and a new SSH host key.", BOOT_NOTE),
)
