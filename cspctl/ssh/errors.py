"""Operator-readable SSH failures: each names the hop (which host/VM, user, key) and the fix."""

from __future__ import annotations

from cspctl.errors import CspctlError


class SshError(CspctlError):
    """Any SSH failure on the way to (or inside) a system VM; ``hop`` names where it happened."""

    exit_code = 255  # like ssh(1): 255 means "ssh itself failed", not the remote command

    def __init__(self, message: str, *, hop: str | None = None) -> None:
        super().__init__(message)
        self.hop = hop


class SshAuthError(SshError):
    """The server refused our key (names key, user and hop)."""


class SshUnreachable(SshError):
    """No route / host down / name unknown at a hop."""


class SshPortClosed(SshUnreachable):
    """Connection refused: nothing listens on that port at that hop."""


class SshTimeout(SshError):
    """Connecting to, or a command on, a hop took longer than allowed."""


class SshConnectionLost(SshError):
    """The connection dropped while a command was running."""


class HostKeyError(SshError):
    """Base for host-key refusals (never silently ignored)."""


class HostKeyChanged(HostKeyError):
    """The key differs from the one trusted for this VM id / host."""


class HostKeyUnknown(HostKeyError):
    """First contact and the policy (or the operator) did not accept the key."""
