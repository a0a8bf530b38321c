"""The check catalogue, in report order (area modules register on import)."""

from __future__ import annotations

from cspctl.diagnostics.checks import (
    access,
    agent,
    certs,
    clock,
    console,
    resources,
    ssvm,
    state,
)
from cspctl.diagnostics.checks.base import REGISTRY
from cspctl.diagnostics.model import Check

AREAS = (state, access, agent, console, clock, resources, ssvm, certs)
"""Report order of the areas; within an area, declaration order."""


def _ordered() -> tuple[Check, ...]:
    rank = {m.__name__: i for i, m in enumerate(AREAS)}
    # agent-state concludes (it reads the other findings): list it last
    return tuple(sorted(REGISTRY, key=lambda c: (c.id == "agent-state",
                                                 rank.get(c.func.__module__, 99))))


CATALOGUE: tuple[Check, ...] = _ordered()


def by_id(check_id: str) -> Check:
    """The catalogue entry with this id (KeyError if none)."""
    for c in CATALOGUE:
        if c.id == check_id:
            return c
    raise KeyError(check_id)


__all__ = ["CATALOGUE", "by_id"]
