"""SSH access to system VMs: routes through hosts, host keys, a connection pool, shells.

Names are loaded on first use, so a light submodule (``cspctl.ssh.quote``, used by every
CLI parser) does not pull in asyncssh.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "HostKeyChanged": "errors",
    "HostKeyError": "errors",
    "HostKeyUnknown": "errors",
    "SshAuthError": "errors",
    "SshConnectionLost": "errors",
    "SshError": "errors",
    "SshPortClosed": "errors",
    "SshTimeout": "errors",
    "SshUnreachable": "errors",
    "HostKeyAsk": "hostkeys",
    "HostKeyQuestion": "hostkeys",
    "HostKeyStore": "hostkeys",
    "fingerprint": "hostkeys",
    "CommandResult": "pool",
    "SshPool": "pool",
    "quote": "quote",
    "validate_ip": "quote",
    "validate_vm_name": "quote",
    "Hop": "route",
    "Route": "route",
    "direct_route": "route",
    "resolve_route": "route",
    "ShellSession": "shell",
}

__all__ = [
    "CommandResult",
    "Hop",
    "HostKeyAsk",
    "HostKeyChanged",
    "HostKeyError",
    "HostKeyQuestion",
    "HostKeyStore",
    "HostKeyUnknown",
    "Route",
    "ShellSession",
    "SshAuthError",
    "SshConnectionLost",
    "SshError",
    "SshPool",
    "SshPortClosed",
    "SshTimeout",
    "SshUnreachable",
    "direct_route",
    "fingerprint",
    "quote",
    "resolve_route",
    "validate_ip",
    "validate_vm_name",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from cspctl.ssh.errors import (
        HostKeyChanged,
        HostKeyError,
        HostKeyUnknown,
        SshAuthError,
        SshConnectionLost,
        SshError,
        SshPortClosed,
        SshTimeout,
        SshUnreachable,
    )
    from cspctl.ssh.hostkeys import HostKeyAsk, HostKeyQuestion, HostKeyStore, fingerprint
    from cspctl.ssh.pool import CommandResult, SshPool
    from cspctl.ssh.quote import quote, validate_ip, validate_vm_name
    from cspctl.ssh.route import Hop, Route, direct_route, resolve_route
    from cspctl.ssh.shell import ShellSession
