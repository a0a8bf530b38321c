"""Host-key decisions for one connection attempt: the store's verdict, the policy, the operator.

asyncssh asks :class:`KeyCheck` synchronously during the handshake; a key the store does not
know (or that changed) becomes a question, which :func:`decide` puts to the policy and, if it
allows, the operator (time spent asking does not count against the command's deadline).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import asyncssh

from cspctl.ssh.errors import HostKeyChanged, HostKeyError, HostKeyUnknown, SshError
from cspctl.ssh.hostkeys import HostKeyQuestion, normalize_key
from cspctl.ssh.route import Hop, Route

if TYPE_CHECKING:
    from cspctl.ssh.pool import SshPool

def store_address(hop: Hop) -> str:
    """Address under which a system VM key is stored: ``169.254.1.23`` or ``[h]:port``."""
    return hop.host if hop.port == 3922 else f"[{hop.host}]:{hop.port}"


class KeyCheck:
    """Synchronous host-key decision for one connection attempt (asyncssh calls it)."""

    def __init__(self, pool: SshPool, route: Route, hop: Hop, approved: str | None) -> None:
        self.pool, self.route, self.hop, self.approved = pool, route, hop, approved
        self.question: HostKeyQuestion | None = None
        self.error: HostKeyError | None = None

    def validate(self, public_key: str) -> bool:
        pool, route = self.pool, self.route
        address = store_address(self.hop)
        try:
            verdict = pool.hostkeys.check(route.vm_id, route.vm_name, address, public_key)
        except HostKeyError as exc:  # broken store: refuse, and say why (raised by _open)
            self.error = exc
            return False
        if verdict.status == "match":
            return True
        q = verdict.question
        assert q is not None
        accept = (
            (self.approved is not None and normalize_key(public_key) == self.approved)
            or (verdict.status != "changed" and (pool.policy == "accept-new" or pool.accept_new))
            or (verdict.status == "changed" and pool.accept_changed)
        )
        if accept:
            pool.hostkeys.trust(route.vm_id or "", address, public_key, route.vm_name)
            pool._record(
                "ssh.hostkey", action="trusted", reason=q.reason, vm=route.vm_name,
                vm_id=route.vm_id, address=address, fingerprint=q.fingerprint,
                previous_fingerprint=q.previous_fingerprint,
            )
            return True
        self.question = q
        return False


class VmClient(asyncssh.SSHClient):
    def __init__(self, check: KeyCheck) -> None:
        self._check = check

    def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        line = key.export_public_key("openssh").decode()
        return self._check.validate(line)


DEADLINE: contextvars.ContextVar[asyncio.Timeout | None] = contextvars.ContextVar(
    "cspctl_ssh_deadline", default=None)
"""The running command's whole-exchange deadline (see :meth:`SshPool.run`)."""


async def off_the_clock(question: Awaitable[bool]) -> bool:
    """Wait for the operator without eating the command's deadline (it moves by the wait)."""
    limit = DEADLINE.get()
    asked = time.monotonic()
    try:
        return await question
    finally:
        when = limit.when() if limit is not None else None
        if limit is not None and when is not None and not limit.expired():
            limit.reschedule(when + time.monotonic() - asked)



async def decide(pool: SshPool, route: Route, q: HostKeyQuestion) -> str:
    """Ask the operator about a key (policy permitting); returns the approved key line."""
    name = route.vm_name or route.vm_id or q.address
    fields = {
        "vm": route.vm_name, "vm_id": route.vm_id, "address": q.address,
        "fingerprint": q.fingerprint, "previous_fingerprint": q.previous_fingerprint,
        "reason": q.reason,
    }
    if q.reason == "changed":
        advice = (
            f"if you know why (VM re-created or rebuilt), accept it with "
            f"`cspctl ssh {name} --accept-changed-hostkey`"
        )
        exc_type: type[SshError] = HostKeyChanged
    else:
        advice = (
            f"to trust it run `cspctl ssh {name} --accept-new-hostkey` or set "
            'host_key_policy = "accept-new" in the profile'
        )
        exc_type = HostKeyUnknown
    if pool.policy == "strict":  # never asks: refuses, and says how to accept
        pool._record("ssh.hostkey", action="refused", policy="strict", **fields)
        kind = "changed" if q.reason == "changed" else "unknown"
        raise exc_type(
            f"{q.explain()}; host_key_policy strict refuses {kind} keys without asking "
            f"({advice})",
            hop="systemvm",
        )
    if pool.ask is None:
        pool._record("ssh.hostkey", action="refused", policy=pool.policy, **fields)
        raise exc_type(f"{q.explain()}; not trusted: {advice}", hop="systemvm")
    if not await off_the_clock(pool.ask(q)):
        pool._record("ssh.hostkey", action="refused", policy=pool.policy, by="operator",
                     **fields)
        raise exc_type(f"{q.explain()}; refused by the operator", hop="systemvm")
    pool._record("ssh.hostkey", action="accepted", by="operator", **fields)
    return q.public_key
