"""SSH access to system VMs: routes through hosts, host keys, a connection pool, shells."""

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
