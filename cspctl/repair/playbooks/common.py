"""Step builders shared by the playbooks: a shell command in the VM, an API job, a wait."""

from __future__ import annotations

from collections.abc import Callable

from cspctl.repair.context import RepairContext
from cspctl.repair.model import Step, StepFailed, StepKind, StepResult
from cspctl.text import safe_block, safe_line

Command = Callable[[RepairContext], str]


def shell_step(step_id: str, title: str, command: Command, *, kind: StepKind = "change",
               undo: Command | None = None, ok_codes: tuple[int, ...] = (0,),
               warning: str | None = None, blast: bool = False,
               after: Callable[[RepairContext], object] | None = None) -> Step:
    """A step that runs one command in the VM; ``after`` may check its effect (async)."""

    def preview(ctx: RepairContext) -> str:
        return f"ssh {ctx.where()}: {command(ctx)}"

    def undo_text(ctx: RepairContext) -> str:
        assert undo is not None
        return f"ssh {ctx.where()}: {undo(ctx)}"

    async def action(ctx: RepairContext) -> StepResult:
        line = command(ctx)
        result = await ctx.vm_run(line, check=False)
        output = (result.stdout + result.stderr).strip()
        if result.exit_status not in ok_codes:
            last = output.splitlines()[-1] if output else ""
            raise StepFailed(f"`{line}` exited with status {result.exit_status}"
                             + (f": {safe_line(last, 200)}" if last else ""), output=output)
        summary = f"exit {result.exit_status}"
        if after is not None:
            summary = str(await after(ctx))  # type: ignore[misc]
        return StepResult(summary, safe_block(output))

    return Step(step_id, title, kind, preview, action, undo_text if undo else None,
                warning=warning, blast=blast)


def wait_agent_step(title: str = "Wait for the agent to be Up in the API") -> Step:
    """Follow the VM until Running with its agent Up (deadline: the run's timeout).

    Not being Up in time is not a failure of the playbook: the verification that follows
    says what is still wrong (and exits 1), so the operator sees why.
    """

    def preview(ctx: RepairContext) -> str:
        return (f"API listSystemVms id={ctx.vm.id} every {ctx.poll:g} s until state Running "
                f"and agent Up (at most {ctx.timeout:g} s)")

    async def action(ctx: RepairContext) -> StepResult:
        try:
            vm = await ctx.wait_agent_up()
        except StepFailed as exc:
            return StepResult(f"{exc}; the verification shows why", attention=True)
        return StepResult(f"{vm.name} Running, agent Up")

    return Step("wait-agent", title, "wait", preview, action)


def api_preview(command: str, **params: object) -> str:
    shown = " ".join(f"{k}={v if v != '' else chr(34) * 2}" for k, v in params.items())
    return f"API {command} {shown}".rstrip()
