"""Probes that survive a userland without the tool: exit 127 is "not installed", not a fault.

Real templates differ (``nc`` is not on every system VM; ``ssvm-check.sh`` itself uses
``socat``), so every probe names its fallbacks. When none of them exists the check ends as
``error`` ("could not check: nc not installed"), never as a failure of the thing probed.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from cspctl.errors import CspctlError

if TYPE_CHECKING:
    from cspctl.diagnostics.context import CheckContext
    from cspctl.ssh import CommandResult

NOT_FOUND = 127
"""The shell's exit status for a command it cannot find."""

_WRAPPERS = ("timeout", "sudo", "env", "nice")


class ToolMissing(CspctlError):
    """None of a probe's commands is installed where it ran."""

    def __init__(self, tools: list[str], where: str = "VM") -> None:
        self.tools = tools
        self.where = where
        names = " / ".join(dict.fromkeys(tools))
        super().__init__(f"{names} not installed on the {where}")

    @property
    def advice(self) -> str:
        return (f"This is not a fault of the {self.where}: the probe needs "
                f"{' or '.join(dict.fromkeys(self.tools))}, which this template lacks. Run "
                "the equivalent check by hand, or install the tool.")


def tool_of(command: str) -> str:
    """The program a command line starts (``timeout 3 nc …`` -> ``nc``)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    while words and (words[0] in _WRAPPERS or "=" in words[0] or words[0].startswith("-")
                     or words[0].replace(".", "").isdigit()):
        words = words[1:]
    if words and words[0] in ("bash", "sh") and "-c" in words:
        return f"{words[0]} /dev/tcp" if "/dev/tcp" in command else words[0]
    return words[0].rsplit("/", 1)[-1] if words else command


async def vm(ctx: CheckContext, *commands: str, tail_only: bool = False) -> CommandResult:
    """Run the first of ``commands`` whose tool exists in the VM (ToolMissing if none)."""
    missing: list[str] = []
    for command in commands:
        result = await ctx.vm_run(command, tail_only=tail_only)
        if result.exit_status != NOT_FOUND:
            return result
        missing.append(tool_of(command))
    raise ToolMissing(missing, "VM")


async def host(ctx: CheckContext, *commands: str) -> CommandResult:
    """Run the first of ``commands`` whose tool exists on the hypervisor host."""
    missing: list[str] = []
    for command in commands:
        result = await ctx.host_run(command)
        if result.exit_status != NOT_FOUND:
            return result
        missing.append(tool_of(command))
    raise ToolMissing(missing, "host")


def tcp_commands(address: str, port: int | str, wait: int = 3) -> tuple[str, ...]:
    """TCP connect probes, best first: nc, socat (what ssvm-check.sh uses), bash /dev/tcp."""
    a, p = shlex.quote(address), shlex.quote(str(port))
    dev_tcp = shlex.quote(f"exec 3<>/dev/tcp/{address}/{port}")
    return (
        f"nc -z -w {wait} {a} {p}",
        f"socat -u OPEN:/dev/null TCP:{shlex.quote(f'{address}:{port}')},"
        f"connect-timeout={wait}",
        f"timeout {wait} bash -c {dev_tcp}",
    )


async def tcp_open(ctx: CheckContext, address: str, port: int | str, *, on_host: bool = False,
                   wait: int = 3) -> bool:
    """Does ``address:port`` accept a TCP connection from the VM (or its host)?"""
    run = host if on_host else vm
    result = await run(ctx, *tcp_commands(address, port, wait))
    return result.exit_status == 0
