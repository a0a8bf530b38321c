"""The one table of commands the simulated machines know (docs/lab-commands.md lists them).

Every command module registers its handlers with :func:`command`; a machine gets the commands
whose ``needs`` its :attr:`SimOS.traits` satisfy (``vm``/``host``, ``systemd``/``sysvinit``).
Nothing else adds commands: a name missing here is ``command not found`` on every machine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .shell import Ctx

Handler = Callable[["Ctx", list[str]], int]
"""``handler(ctx, argv) -> exit status``; argv[0] is the name it was called by."""

VM = "vm"
HOST = "host"
SYSTEMD = "systemd"
SYSVINIT = "sysvinit"


@dataclass(frozen=True)
class CommandSpec:
    """One command: its handler, where ``which`` finds it, and which machines have it."""

    name: str
    handler: Handler
    directory: str
    needs: frozenset[str]

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.name}"


REGISTRY: dict[str, CommandSpec] = {}


def command(*names: str, directory: str = "/bin", needs: Iterable[str] = ()
            ) -> Callable[[Handler], Handler]:
    """Register a handler under ``names`` (installed in ``directory`` on machines with
    every trait in ``needs``)."""
    required = frozenset(needs)

    def deco(fn: Handler) -> Handler:
        for name in names:
            if name in REGISTRY:
                raise ValueError(f"command {name!r} registered twice")
            REGISTRY[name] = CommandSpec(name, fn, directory, required)
        return fn
    return deco


@functools.cache
def commands_for(traits: frozenset[str]) -> dict[str, CommandSpec]:
    """The commands a machine with these traits has, by name."""
    _load()
    return {name: spec for name, spec in REGISTRY.items() if spec.needs <= traits}


def all_commands() -> dict[str, CommandSpec]:
    """Every registered command (for the documentation test)."""
    _load()
    return dict(REGISTRY)


def _load() -> None:
    """Import every command module once (each registers itself on import)."""
    from . import (  # noqa: F401
        coreutils,
        disk,
        files,
        hostcmds,
        net,
        procps,
        services,
        sysinfo,
        tools,
        tz,
        webclients,
    )
