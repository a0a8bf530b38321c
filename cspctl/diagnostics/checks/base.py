"""The check registry: area modules declare their checks with :func:`check`."""

from __future__ import annotations

from collections.abc import Callable

from cspctl.diagnostics.model import AppliesTo, Check, CheckFunc, Need

REGISTRY: list[Check] = []

CPVM = (AppliesTo.CPVM,)
SSVM = (AppliesTo.SSVM,)
ANY = (AppliesTo.SYSTEMVM,)
API = (Need.API,)
VM = (Need.API, Need.VM_SSH)
HOST = (Need.API, Need.VM_SSH, Need.HOST_SSH)


def check(
    id: str,
    title: str,
    *,
    applies_to: tuple[AppliesTo, ...] = ANY,
    needs: tuple[Need, ...] = VM,
    after: tuple[str, ...] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` as a check; its docstring becomes the description."""

    def register(func: CheckFunc) -> CheckFunc:
        if any(c.id == id for c in REGISTRY):
            raise ValueError(f"duplicate check id {id!r}")
        REGISTRY.append(
            Check(
                id=id,
                title=title,
                applies_to=applies_to,
                needs=needs,
                func=func,
                after=after,
                description=(func.__doc__ or "").strip(),
            )
        )
        return func

    return register
