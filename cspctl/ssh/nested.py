"""Nested mode: the host runs ``ssh`` to the VM with its own copy of the key; we scan and check
the VM's host key first, so the host's ssh trusts exactly the key our store trusts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncssh

from cspctl.ssh.errors import SshUnreachable
from cspctl.ssh.hostkey_check import KeyCheck, decide
from cspctl.ssh.hostkeys import normalize_key
from cspctl.ssh.output import journal_text
from cspctl.ssh.quote import quote
from cspctl.ssh.route import Route

if TYPE_CHECKING:
    from cspctl.ssh.pool import SshPool


async def nested_command(pool: SshPool, route: Route, command: str) -> str:
    """The host-side ``ssh`` wrapper that runs ``command`` on the VM (nested mode)."""
    hop, host_index = route.target, len(route.hops) - 2
    key = pool._key(route, len(route.hops) - 1)
    trusted = pool._nested_keys.get(key)
    if trusted is None:
        trusted = await nested_hostkey(pool, route, host_index)
        pool._nested_keys[key] = trusted
    address = hop.host if hop.port == 22 else f"[{hop.host}]:{hop.port}"
    known = f"{address} {trusted}"
    ssh = " ".join(
        [
            "ssh", "-i", quote(hop.remote_key or ""), "-p", str(hop.port),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", 'UserKnownHostsFile="$f"', "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"ConnectTimeout={int(pool.connect_timeout)}",
            "-o", f"ServerAliveInterval={int(pool.keepalive_interval)}",
            "-o", "LogLevel=ERROR",
            quote(f"{hop.user}@{hop.host}"), quote(command),
        ]
    )
    return (
        f'f=$(mktemp) || exit 255; printf "%s\\n" {quote(known)} > "$f"; '
        f'{ssh}; rc=$?; rm -f "$f"; exit $rc'
    )

async def nested_hostkey(pool: SshPool, route: Route, host_index: int) -> str:
    """Scan the VM's key from the host, check it against the store; the trusted key."""
    hop = route.target
    conn = await pool._hop_conn(route, host_index)
    scan = f"ssh-keyscan -T {int(pool.connect_timeout)} -p {hop.port} {quote(hop.host)}"
    res = await conn.run(scan, check=False, stdin=asyncssh.DEVNULL)
    pool._record(
        "ssh.command", command=scan, vm=route.vm_name, vm_id=route.vm_id,
        route=route.summary(), exit_status=res.exit_status, outcome="host key scan",
        stdout=journal_text(str(res.stdout or "")), stderr=journal_text(str(res.stderr or "")),
    )
    lines = [ln.split(None, 1)[1] for ln in str(res.stdout).splitlines()
             if ln.strip() and not ln.startswith("#") and len(ln.split()) >= 3]
    if not lines:
        raise SshUnreachable(
            f"host {route.hops[host_index].name or route.hops[host_index].host} could not "
            f"reach {hop.host}:{hop.port} (ssh-keyscan found no key)",
            hop="systemvm",
        )
    lines.sort(key=lambda ln: 0 if ln.startswith("ssh-ed25519") else 1)
    approved: str | None = None
    while True:
        check = KeyCheck(pool, route, hop, approved)
        for line in lines:
            if check.validate(line):
                return normalize_key(line)
        if check.error is not None:
            raise check.error
        assert check.question is not None
        approved = await decide(pool, route, check.question)
        lines = [approved]
