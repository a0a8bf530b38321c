"""Playbooks inside the VM: protect-assets (chattr +i on the console assets), its undo,
restart-cloud."""

from __future__ import annotations

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks.agent import ASSET_DIRS
from cspctl.playbook_ids import PlaybookId
from cspctl.repair.context import RepairContext
from cspctl.repair.model import Playbook, StepFailed
from cspctl.repair.playbooks.common import shell_step, wait_agent_step

DIRS = " ".join(ASSET_DIRS)
UPGRADE_NOTE = (
    "The immutable flag stays on the VM's disk across reboots. Before a system VM template "
    "upgrade or patchSystemVm, remove it (cspctl repair unprotect-assets VM, i.e. chattr -i), "
    "or the upgrade cannot replace these directories; re-apply it afterwards if the fault is "
    "still there."
)


def _flags(want: bool):  # type: ignore[no-untyped-def]
    async def check(ctx: RepairContext) -> str:
        result = await ctx.vm_run(f"lsattr -d {DIRS}", check=False)
        flags = parse.parse_lsattr(result.stdout)
        wrong = [p for p in ASSET_DIRS if parse.immutable(flags.get(p, "")) is not want]
        if wrong:
            raise StepFailed(f"lsattr shows {', '.join(wrong)} "
                             f"{'not ' if want else 'still '}immutable", result.stdout)
        return f"lsattr: images, js, css {'immutable (i)' if want else 'not immutable'}"
    return check


def _start_cloud(ctx: RepairContext) -> str:
    return "systemctl start cloud" if ctx.systemd else "service cloud start"


def _early_config(ctx: RepairContext) -> str:
    return ("systemctl restart cloud-early-config" if ctx.systemd
            else "/etc/init.d/cloud-early-config start")


async def _java_running(ctx: RepairContext) -> str:
    result = await ctx.vm_run("pgrep -f com.cloud.agent.AgentShell", check=False)
    pids = result.stdout.split()
    if not pids:
        raise StepFailed("the agent's java is not running after the start", result.stdout)
    return f"agent java running, pid {', '.join(pids)}"


async def _cwd_intact(ctx: RepairContext) -> str:
    result = await ctx.vm_run("pgrep -f com.cloud.agent.AgentShell", check=False)
    pids = result.stdout.split()
    if not pids:
        raise StepFailed("no agent java after cloud-early-config")
    ls = await ctx.vm_run(f"ls -l /proc/{pids[0]}/cwd", check=False)
    cwd = parse.parse_cwd(ls.stdout)
    if cwd is None or cwd.deleted:
        raise StepFailed("java's working directory was deleted again: the protection did not "
                         "hold", ls.stdout)
    return f"cloud-early-config ran; java (pid {pids[0]}) keeps {cwd.path}"


PROTECT_ASSETS = Playbook(
    id=PlaybookId.PROTECT_ASSETS,
    title="Protect the console asset dirs (chattr +i) and restart the agent",
    summary="chattr +i images, js, css; kill the agent's java; start cloud; re-run "
            "cloud-early-config to prove the directory now survives it",
    fixes=("java-cwd", "static-assets", "agent-state"),
    steps=(
        shell_step("chattr", "Make images, js and css immutable",
                   lambda c: f"chattr +i {DIRS}", undo=lambda c: f"chattr -i {DIRS}",
                   after=_flags(True)),
        shell_step("kill-java", "Stop the agent's java (its working directory is gone)",
                   lambda c: "pkill -f com.cloud.agent.AgentShell", ok_codes=(0, 1)),
        shell_step("start-cloud", "Start the cloud service (a new java in the new directory)",
                   _start_cloud, after=_java_running),
        shell_step("early-config", "Run cloud-early-config again: the directory must survive",
                   _early_config, after=_cwd_intact),
        wait_agent_step(),
    ),
    verify=("java-cwd", "static-assets", "asset-protection", "agent-state"),
    needs_ssh=True,
    notes=(UPGRADE_NOTE,),
)


UNPROTECT_ASSETS = Playbook(
    id=PlaybookId.UNPROTECT_ASSETS,
    title="Remove the immutable flag from the asset dirs (before an upgrade or patch)",
    summary="chattr -i images, js, css, so a new template or patchSystemVm can replace them",
    fixes=("asset-protection",),
    steps=(
        shell_step("chattr", "Remove the immutable flag from images, js and css",
                   lambda c: f"chattr -i {DIRS}", undo=lambda c: f"chattr +i {DIRS}",
                   after=_flags(False)),
    ),
    verify=("asset-protection",),
    needs_ssh=True,
    notes=(UPGRADE_NOTE, "If cloud-early-config still re-creates /usr/local/cloud/systemvm, "
           "its next run deletes the agent's directory again: re-apply protect-assets "
           "after upgrading."),
)


def _restart(ctx: RepairContext) -> str:
    return "systemctl restart cloud" if ctx.systemd else "service cloud restart"


RESTART_CLOUD = Playbook(
    id=PlaybookId.RESTART_CLOUD,
    title="Restart the agent (the cloud service) inside the VM",
    summary="service cloud restart (4.8) or systemctl restart cloud (4.11+), then wait for "
            "the agent to reconnect",
    fixes=("java-process", "cloud-service", "agent-state"),
    steps=(
        shell_step("restart-cloud", "Restart the cloud service", _restart,
                   after=_java_running),
        wait_agent_step(),
    ),
    verify=("java-process", "cloud-service", "agent-state"),
    needs_ssh=True,
)
