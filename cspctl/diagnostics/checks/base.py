"""The check registry: area modules declare their checks with :func:`check`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from cspctl.diagnostics.checks.probe import ToolMissing
from cspctl.diagnostics.model import AppliesTo, Check, CheckFunc, Finding, Need

if TYPE_CHECKING:
    from cspctl.diagnostics.context import CheckContext

REGISTRY: list[Check] = []

CPVM = (AppliesTo.CPVM,)
SSVM = (AppliesTo.SSVM,)
ANY = (AppliesTo.SYSTEMVM,)
API = (Need.API,)
VM = (Need.API, Need.VM_SSH)
HOST = (Need.API, Need.VM_SSH, Need.HOST_SSH)


def check(
    check_id: str,
    title: str,
    *,
    applies_to: tuple[AppliesTo, ...] = ANY,
    needs: tuple[Need, ...] = VM,
    after: tuple[str, ...] = (),
    probes: tuple[str, ...] = (),
    host_probes: tuple[str, ...] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` as a check; its docstring becomes the description.

    ``probes``/``host_probes``: the read-only commands it always runs in the VM / on its host
    (exactly as passed to ``ctx.vm_run``/``ctx.host_run``), so that a diagnosis sends them
    all in one round trip; a command not declared still runs, alone.

    A probe whose tools are all missing (:class:`probe.ToolMissing`) ends the check as
    ``error`` ("could not check: nc not installed on the VM"), never as a failure.
    """

    def register(func: CheckFunc) -> CheckFunc:
        if any(c.id == check_id for c in REGISTRY):
            raise ValueError(f"duplicate check id {check_id!r}")

        @functools.wraps(func)
        async def guarded(ctx: CheckContext) -> Finding:
            try:
                return await func(ctx)
            except ToolMissing as exc:
                return ctx.error(str(exc), exc.advice)

        REGISTRY.append(
            Check(
                id=check_id,
                title=title,
                applies_to=applies_to,
                needs=needs,
                func=guarded,
                after=after,
                description=(func.__doc__ or "").strip(),
                probes=tuple(probes),
                host_probes=tuple(host_probes),
            )
        )
        return func

    return register
