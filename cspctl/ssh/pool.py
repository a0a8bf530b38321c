"""The SSH connection pool: one connection per hop chain, reused by every command and shell.

Concurrent first uses of a target share one connection (a lock per key); keepalive runs on
every hop; a dropped connection is noticed and re-opened on the next use; every command is
recorded in the session journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from cspctl.gate import Gate, Refused
from cspctl.signals import received_name as received_signal_name
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
from cspctl.ssh.hostkeys import POLICIES, HostKeyAsk, HostKeyQuestion, HostKeyStore, normalize_key
from cspctl.ssh.mask import mask_secrets
from cspctl.ssh.quote import quote
from cspctl.ssh.route import Hop, Route
from cspctl.ssh.shell import ShellSession

JOURNAL_OUTPUT_LIMIT = 4096
MAX_COMMAND_OUTPUT = 2 * 2**20
"""Characters of a command's stdout (and of its stderr) kept in memory: the first and last
half, with a marker between. Everything is still read (and shown live via ``on_output``)."""
OutputCallback = Callable[[str, str], None]
"""``on_output(stream, text)``: live output of a command ("stdout" or "stderr")."""
_Key = tuple[str | None, tuple[Hop, ...]]


@dataclass(frozen=True)
class CommandResult:
    """What one remote command did."""

    command: str
    exit_status: int
    stdout: str
    stderr: str
    duration: float
    started: float | None = None
    """``time.monotonic()`` when the exchange began (the command ran within ``duration``
    after it): a batched probe's result may be read a while after it arrived."""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def _truncate(text: str, limit: int = JOURNAL_OUTPUT_LIMIT) -> str:
    """Output as journaled: secrets masked, at most ``limit`` characters."""
    text = mask_secrets(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not journaled]"


def store_address(hop: Hop) -> str:
    """Address under which a system VM key is stored: ``169.254.1.23`` or ``[h]:port``."""
    return hop.host if hop.port == 3922 else f"[{hop.host}]:{hop.port}"


class _KeyCheck:
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


class _VmClient(asyncssh.SSHClient):
    def __init__(self, check: _KeyCheck) -> None:
        self._check = check

    def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        line = key.export_public_key("openssh").decode()
        return self._check.validate(line)


ENCRYPTION_ALGS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
                   "chacha20-poly1305@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr")
"""asyncssh's default ciphers, AES-GCM first: one C call per packet, where asyncssh's
chacha20-poly1305 builds two cipher contexts per packet (the largest CPU cost of a fleet
diagnosis). Servers without GCM (OpenSSH < 6.2) negotiate the others, as before."""
_KNOWN_HOSTS: dict[str, tuple[tuple[int, int, int], asyncssh.SSHKnownHosts]] = {}
_KEYPAIRS: dict[tuple[str, ...], tuple[tuple[tuple[int, int, int], ...], list[Any]]] = {}


def _stamp(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def known_hosts_of(path: str) -> asyncssh.SSHKnownHosts:
    """``path`` parsed once per process (asyncssh would re-read and re-parse the file on every
    connection); parsed again only when the file changes (an operator's ssh-keyscan)."""
    stamp = _stamp(path)
    cached = _KNOWN_HOSTS.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, asyncssh.read_known_hosts(path))
        _KNOWN_HOSTS[path] = cached
    return cached[1]


def client_keys_of(paths: tuple[str, ...]) -> list[Any]:
    """The private keys at ``paths``, loaded once per process (until a file changes); the
    paths themselves when a key cannot be loaded here (asyncssh then says why)."""
    try:
        stamps = tuple(_stamp(p) for p in paths)
    except OSError:
        return list(paths)
    cached = _KEYPAIRS.get(paths)
    if cached is None or cached[0] != stamps:
        try:
            cached = (stamps, list(asyncssh.load_keypairs(list(paths))))
        except (asyncssh.Error, OSError, ValueError):
            return list(paths)
        _KEYPAIRS[paths] = cached
    return cached[1]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def map_error(exc: BaseException, hop: Hop, route: Route, timeout: float | None = None) -> SshError:
    """Turn an asyncssh/OS exception at ``hop`` into one operator-readable SshError."""
    where = hop.label()
    vm = route.vm_name or route.vm_id or route.target.host
    if isinstance(exc, SshError):
        return exc
    if isinstance(exc, asyncssh.PermissionDenied):
        return SshAuthError(
            f"authentication failed at {where}: user {hop.user} with key {hop.key_summary()} "
            "was refused; check the key is in that user's authorized_keys",
            hop=hop.kind,
        )
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        kh = hop.known_hosts or "~/.ssh/known_hosts"
        return HostKeyUnknown(
            f"host key of {where} is not trusted by {kh} (unknown or changed): verify it, then "
            f"add it with: ssh-keyscan -p {hop.port} {hop.host} >> {kh}",
            hop=hop.kind,
        )
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, asyncssh.ChannelOpenError) and "refused" in str(exc).lower()
    ):
        return SshPortClosed(
            f"connection refused at {where}: nothing listens on port {hop.port} "
            f"(sshd down or firewalled?) on the way to {vm}",
            hop=hop.kind,
        )
    if isinstance(exc, asyncssh.ChannelOpenError):
        return SshUnreachable(
            f"cannot reach {where} through the previous hop: {_reason(exc)}", hop=hop.kind
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        secs = f" after {timeout:g}s" if timeout else ""
        return SshTimeout(f"timed out{secs} connecting to {where} on the way to {vm}", hop=hop.kind)
    if isinstance(exc, asyncssh.ConnectionLost | asyncssh.DisconnectError | BrokenPipeError):
        return SshConnectionLost(f"connection to {where} was lost: {_reason(exc)}", hop=hop.kind)
    if isinstance(exc, socket.gaierror):
        return SshUnreachable(f"cannot resolve {where}: {_reason(exc)}", hop=hop.kind)
    if isinstance(exc, OSError):
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
            return SshUnreachable(f"{where} is unreachable: {_reason(exc)}", hop=hop.kind)
        return SshUnreachable(f"cannot connect to {where}: {_reason(exc)}", hop=hop.kind)
    if isinstance(exc, asyncssh.KeyImportError):
        return SshAuthError(
            f"cannot load key {hop.key_summary()} for {where}: {_reason(exc)}", hop=hop.kind
        )
    return SshError(f"ssh to {where} failed: {_reason(exc)}", hop=hop.kind)


_DEADLINE: contextvars.ContextVar[asyncio.Timeout | None] = contextvars.ContextVar(
    "cspctl_ssh_deadline", default=None)
"""The running command's whole-exchange deadline (see :meth:`SshPool.run`)."""


async def _off_the_clock(question: Awaitable[bool]) -> bool:
    """Wait for the operator without eating the command's deadline (it moves by the wait)."""
    limit = _DEADLINE.get()
    asked = time.monotonic()
    try:
        return await question
    finally:
        when = limit.when() if limit is not None else None
        if limit is not None and when is not None and not limit.expired():
            limit.reschedule(when + time.monotonic() - asked)


class SshPool:
    """One SSH connection per target (hop chain), shared by every command and shell."""

    def __init__(
        self,
        profile: Any = None,
        *,
        journal: Any = None,
        hostkeys: HostKeyStore | None = None,
        ask: HostKeyAsk | None = None,
        policy: str | None = None,
        accept_new: bool = False,
        accept_changed: bool = False,
        connect_timeout: float = 15.0,
        command_timeout: float | None = 120.0,
        keepalive_interval: float = 15.0,
        keepalive_count_max: int = 3,
        max_sessions: int = 8,
        gate: Gate | None = None,
    ) -> None:
        self.profile = profile
        self.journal = journal
        self.gate = gate or Gate()
        """Read-only mode refuses shells and operators' ad-hoc commands (:meth:`check_shell`)."""
        self.hostkeys = hostkeys or HostKeyStore(getattr(profile, "host_keys", None))
        self.ask = ask
        self.policy = policy or getattr(profile, "host_key_policy", None) or "ask"
        if self.policy not in POLICIES:
            raise SshError(
                f"host_key_policy {self.policy!r} is not one of {', '.join(POLICIES)}"
            )
        self.accept_new = accept_new
        self.accept_changed = accept_changed
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.keepalive_interval = keepalive_interval
        self.keepalive_count_max = keepalive_count_max
        self._conns: dict[_Key, asyncssh.SSHClientConnection] = {}
        self._locks: dict[_Key, asyncio.Lock] = {}
        self._nested_keys: dict[_Key, str] = {}
        # OpenSSH's MaxSessions defaults to 10 channels per connection: stay below it
        self.max_sessions = max_sessions
        self._slots: dict[_Key, asyncio.Semaphore] = {}
        self.connections_opened = 0
        self._closed = False

    # -- journal -------------------------------------------------------------------------
    def _record(self, event: str, **fields: Any) -> None:
        if self.journal is not None:
            self.journal.record(event, **fields)

    # -- read-only ------------------------------------------------------------------------
    def check_shell(self, what: str, route: Route | None = None) -> None:
        """Raise :class:`~cspctl.gate.ReadOnlyRefused` (journaled) when the session is
        read-only: ``what`` (an interactive shell, an operator's command) could change the VM.

        Commands that cspctl itself runs to look (diagnostics' probes) go through :meth:`run`
        and are not asked about; a check that would write asks ``gate.allows_writes()``.
        """
        try:
            self.gate.check_shell(what)
        except Refused as exc:
            self._record("ssh.refused", what=mask_secrets(what),
                         vm=route.vm_name if route else None,
                         vm_id=route.vm_id if route else None, reason=mask_secrets(str(exc)))
            raise

    # -- connections ---------------------------------------------------------------------
    @staticmethod
    def _key(route: Route, index: int) -> _Key:
        hop = route.hops[index]
        return (route.vm_id if hop.kind == "systemvm" else None, route.hops[: index + 1])

    def is_connected(self, route: Route) -> bool:
        conn = self._conns.get(self._key(route, self._last_ssh_index(route)))
        return conn is not None and not conn.is_closed()

    @staticmethod
    def _last_ssh_index(route: Route) -> int:
        """Index of the last hop we hold an SSH connection to (nested: the host)."""
        last = len(route.hops) - 1
        return last - 1 if route.hops[last].remote_key else last

    async def connection(self, route: Route) -> asyncssh.SSHClientConnection:
        """The live connection at the end of ``route`` (opened, or re-opened, on demand)."""
        if self._closed:
            raise SshError("the SSH pool is closed")
        return await self._hop_conn(route, self._last_ssh_index(route))

    async def _hop_conn(self, route: Route, index: int) -> asyncssh.SSHClientConnection:
        key = self._key(route, index)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            conn = self._conns.get(key)
            if conn is not None and not conn.is_closed():
                return conn
            if conn is not None:
                self._conns.pop(key, None)
                self._record(
                    "ssh.reconnect", hop=route.hops[index].label(), vm=route.vm_name,
                    route=route.summary(),
                )
            tunnel = await self._hop_conn(route, index - 1) if index > 0 else None
            hop = route.hops[index]
            started = time.monotonic()
            try:
                conn = await self._open(route, index, tunnel)
            except SshError as exc:
                self._record(
                    "ssh.connect", hop=hop.label(), vm=route.vm_name, vm_id=route.vm_id,
                    outcome=f"error: {exc}", duration=round(time.monotonic() - started, 3),
                )
                raise
            self._conns[key] = conn
            self.connections_opened += 1
            self._record(
                "ssh.connect", hop=hop.label(), vm=route.vm_name, vm_id=route.vm_id,
                outcome="ok", duration=round(time.monotonic() - started, 3),
            )
            return conn

    def _options(self, hop: Hop) -> dict[str, Any]:
        return {
            "host": hop.host,
            "port": hop.port,
            "username": hop.user,
            "keepalive_interval": self.keepalive_interval,
            "keepalive_count_max": self.keepalive_count_max,
            "encryption_algs": ENCRYPTION_ALGS,
        }

    async def _connect(self, hop: Hop, route: Route, **opts: Any) -> asyncssh.SSHClientConnection:
        try:
            return await asyncio.wait_for(asyncssh.connect(**opts), self.connect_timeout)
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise map_error(exc, hop, route, self.connect_timeout) from exc

    async def _open(
        self, route: Route, index: int, tunnel: asyncssh.SSHClientConnection | None
    ) -> asyncssh.SSHClientConnection:
        hop = route.hops[index]
        opts = self._options(hop)
        if tunnel is not None:
            opts["tunnel"] = tunnel
        if hop.kind != "systemvm":
            kh = hop.known_hosts or str(Path("~/.ssh/known_hosts").expanduser())
            # A missing file means "nothing is trusted" (never "check nothing").
            opts["known_hosts"] = known_hosts_of(kh) if os.path.isfile(kh) else ([], [], [])
            opts["client_keys"] = (client_keys_of(tuple(hop.keys)) if hop.keys is not None
                                   else ())
            try:
                return await self._connect(hop, route, **opts)
            except HostKeyUnknown as exc:
                if not os.path.isfile(kh):
                    raise HostKeyUnknown(
                        f"host key of {hop.label()} cannot be checked: {kh} does not exist; "
                        f"verify the key, then: ssh-keyscan -p {hop.port} {hop.host} >> {kh}",
                        hop=hop.kind,
                    ) from exc
                raise
        keys = list(hop.keys or ())
        for k in keys:
            if not os.access(k, os.R_OK):
                raise SshAuthError(
                    f"key {k} for {hop.label()} is not readable here: set ssh_key in the "
                    "profile, or access.<hypervisor> = \"nested\" to use the host's copy "
                    "(/root/.ssh/id_rsa.cloud)",
                    hop=hop.kind,
                )
        # only the management key (no agent: many agent keys would hit MaxAuthTries first),
        # no ~/.ssh/config (its Host * settings are for the operator's own hosts)
        opts.update(known_hosts=([], [], []), client_keys=client_keys_of(tuple(keys)),
                    config=[], agent_path=None)
        approved: str | None = None
        while True:
            check = _KeyCheck(self, route, hop, approved)
            try:
                return await self._connect(
                    hop, route, client_factory=lambda c=check: _VmClient(c), **opts
                )
            except HostKeyUnknown:
                if check.error is not None:
                    raise check.error from None
                if check.question is None:
                    raise
                approved = await self._decide(route, check.question)

    async def _decide(self, route: Route, q: HostKeyQuestion) -> str:
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
        if self.policy == "strict":  # never asks: refuses, and says how to accept
            self._record("ssh.hostkey", action="refused", policy="strict", **fields)
            kind = "changed" if q.reason == "changed" else "unknown"
            raise exc_type(
                f"{q.explain()}; host_key_policy strict refuses {kind} keys without asking "
                f"({advice})",
                hop="systemvm",
            )
        if self.ask is None:
            self._record("ssh.hostkey", action="refused", policy=self.policy, **fields)
            raise exc_type(f"{q.explain()}; not trusted: {advice}", hop="systemvm")
        if not await _off_the_clock(self.ask(q)):
            self._record("ssh.hostkey", action="refused", policy=self.policy, by="operator",
                         **fields)
            raise exc_type(f"{q.explain()}; refused by the operator", hop="systemvm")
        self._record("ssh.hostkey", action="accepted", by="operator", **fields)
        return q.public_key

    async def _channel_failed(
        self, route: Route, conn: asyncssh.SSHClientConnection, exc: BaseException
    ) -> bool:
        """A channel did not open. If the connection is dead, forget it (True: retry on a new
        one); a live connection that refuses a channel (e.g. MaxSessions) is kept, since
        shells may be running on it."""
        if conn.is_closed() or not isinstance(exc, asyncssh.ChannelOpenError):
            await self.drop(route)
            return True
        return False

    @staticmethod
    def _channel_error(exc: BaseException, hop: Hop, route: Route) -> SshError:
        if isinstance(exc, asyncssh.ChannelOpenError):
            return SshError(
                f"{hop.label()} refused a new session: {_reason(exc)} (too many sessions "
                "open on that connection? close a shell and retry)",
                hop=hop.kind,
            )
        return map_error(exc, hop, route)

    async def drop(self, route: Route) -> None:
        """Forget (and close) the connection at the end of ``route``."""
        conn = self._conns.pop(self._key(route, self._last_ssh_index(route)), None)
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()

    # -- commands ------------------------------------------------------------------------
    async def _nested_command(self, route: Route, command: str) -> str:
        """The host-side ``ssh`` wrapper that runs ``command`` on the VM (nested mode)."""
        hop, host_index = route.target, len(route.hops) - 2
        key = self._key(route, len(route.hops) - 1)
        trusted = self._nested_keys.get(key)
        if trusted is None:
            trusted = await self._nested_hostkey(route, host_index)
            self._nested_keys[key] = trusted
        address = hop.host if hop.port == 22 else f"[{hop.host}]:{hop.port}"
        known = f"{address} {trusted}"
        ssh = " ".join(
            [
                "ssh", "-i", quote(hop.remote_key or ""), "-p", str(hop.port),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", 'UserKnownHostsFile="$f"', "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", f"ConnectTimeout={int(self.connect_timeout)}",
                "-o", f"ServerAliveInterval={int(self.keepalive_interval)}",
                "-o", "LogLevel=ERROR",
                quote(f"{hop.user}@{hop.host}"), quote(command),
            ]
        )
        return (
            f'f=$(mktemp) || exit 255; printf "%s\\n" {quote(known)} > "$f"; '
            f'{ssh}; rc=$?; rm -f "$f"; exit $rc'
        )

    async def _nested_hostkey(self, route: Route, host_index: int) -> str:
        """Scan the VM's key from the host, check it against the store; the trusted key."""
        hop = route.target
        conn = await self._hop_conn(route, host_index)
        scan = f"ssh-keyscan -T {int(self.connect_timeout)} -p {hop.port} {quote(hop.host)}"
        res = await conn.run(scan, check=False, stdin=asyncssh.DEVNULL)
        self._record(
            "ssh.command", command=scan, vm=route.vm_name, vm_id=route.vm_id,
            route=route.summary(), exit_status=res.exit_status, outcome="host key scan",
            stdout=_truncate(str(res.stdout or "")), stderr=_truncate(str(res.stderr or "")),
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
            check = _KeyCheck(self, route, hop, approved)
            for line in lines:
                if check.validate(line):
                    return normalize_key(line)
            if check.error is not None:
                raise check.error
            assert check.question is not None
            approved = await self._decide(route, check.question)
            lines = [approved]

    async def run(
        self,
        route: Route,
        command: str,
        *,
        timeout: float | None = None,
        stdin_text: str | None = None,
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        """Run one command at the end of ``route``; journaled; raises SshError on failure.

        ``stdin_text`` is sent to the command's stdin (then EOF; without it stdin is closed at
        once, so nothing waits for input). ``on_output(stream, text)`` sees output as it
        arrives (``stream`` is "stdout" or "stderr"), for live display.
        """
        timeout = self.command_timeout if timeout is None else timeout
        started = time.monotonic()
        base = {
            "command": mask_secrets(command), "vm": route.vm_name, "vm_id": route.vm_id,
            "route": route.summary(),
        }
        slot = self._slots.setdefault(
            self._key(route, self._last_ssh_index(route)), asyncio.Semaphore(self.max_sessions)
        )
        phase = ["waiting for a free session"]
        try:
            # one deadline for the whole exchange: a free channel, every hop's connection,
            # the command and its output (time spent on a host-key question is not counted)
            async with asyncio.timeout(timeout) as limit:
                token = _DEADLINE.set(limit)
                try:
                    async with slot:
                        result = await self._run(route, command, timeout, stdin_text, on_output,
                                                 phase)
                finally:
                    _DEADLINE.reset(token)
        except asyncio.CancelledError:
            stopped_by = received_signal_name()
            if stopped_by is not None:  # SIGTERM/SIGHUP/Ctrl+C: the journal says it stopped
                self._record(
                    "ssh.command", **base, exit_status=None,
                    duration=round(time.monotonic() - started, 3),
                    outcome=f"stopped by {stopped_by}",
                )
            raise
        except TimeoutError:
            if not limit.expired():
                raise
            took = time.monotonic() - started
            exc = SshTimeout(
                f"command {command!r} on {route.target.label()} did not finish within "
                f"{timeout:g}s (stopped after {took:.1f} s, {phase[0]})",
                hop=route.target.kind,
            )
            self._record(
                "ssh.command", **base, exit_status=None, duration=round(took, 3),
                outcome=f"error: {exc}",
            )
            raise exc from None
        except SshError as exc:
            self._record(
                "ssh.command", **base, exit_status=None,
                duration=round(time.monotonic() - started, 3), outcome=f"error: {exc}",
            )
            raise
        self._record(
            "ssh.command", **base, exit_status=result.exit_status,
            duration=round(result.duration, 3), outcome="ok" if result.ok else "failed",
            stdout=_truncate(result.stdout), stderr=_truncate(result.stderr),
        )
        return result

    async def run_operator_command(
        self,
        route: Route,
        command: str,
        *,
        timeout: float | None = None,
        stdin_text: str | None = None,
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        """An operator's own command (``cspctl ssh VM -- CMD``): anything could happen, so it
        is refused in read-only mode before any connection; otherwise :meth:`run`."""
        name = route.vm_name or route.vm_id or route.target.host
        self.check_shell(f"the command {command!r} on {name}", route)
        return await self.run(route, command, timeout=timeout, stdin_text=stdin_text,
                              on_output=on_output)

    async def _run(
        self,
        route: Route,
        command: str,
        timeout: float | None,
        stdin_text: str | None,
        on_output: OutputCallback | None,
        phase: list[str],
    ) -> CommandResult:
        hop = route.target
        for attempt in (0, 1):
            phase[0] = f"connecting on the route {route.summary()}"
            conn = await self.connection(route)
            started = time.monotonic()
            line = await self._nested_command(route, command) if hop.remote_key else command
            phase[0] = "opening a session"
            try:
                proc = await conn.create_process(line, encoding="utf-8", errors="replace")
            except (asyncssh.ChannelOpenError, asyncssh.ConnectionLost,
                    asyncssh.DisconnectError, BrokenPipeError, OSError) as exc:
                # the channel never opened: nothing ran, safe to reconnect and retry once
                if attempt == 0 and await self._channel_failed(route, conn, exc):
                    continue
                raise self._channel_error(exc, hop, route) from exc
            phase[0] = "the command was running"
            try:
                with contextlib.suppress(asyncssh.Error, OSError):
                    if stdin_text:
                        proc.stdin.write(stdin_text)
                    proc.stdin.write_eof()
                stdout, stderr = await _collect(proc, on_output)
            except asyncio.CancelledError:
                proc.close()  # the deadline (or the caller) ended it: stop the remote side
                raise
            except (asyncssh.ConnectionLost, asyncssh.DisconnectError, BrokenPipeError) as exc:
                await self.drop(route)
                raise SshConnectionLost(
                    f"connection to {hop.label()} was lost while running {command!r}; "
                    "it is re-opened on the next command",
                    hop=hop.kind,
                ) from exc
            status = proc.exit_status
            if status is None or status < 0:
                if proc.exit_signal:
                    status = 128 + _signal_number(proc.exit_signal[0])
                else:
                    # the connection died under a running command: never re-run it (it may
                    # have had effects); the next command re-opens the connection
                    await self.drop(route)
                    raise SshConnectionLost(
                        f"connection to {hop.label()} was lost before {command!r} reported "
                        "an exit status; it is re-opened on the next command",
                        hop=hop.kind,
                    )
            return CommandResult(
                command=command,
                exit_status=int(status),
                stdout=stdout,
                stderr=stderr,
                duration=time.monotonic() - started,
                started=started,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def open_shell(
        self, route: Route, *, term: str = "xterm-256color", cols: int = 80, rows: int = 24,
        command: str | None = None, record: bool = True,
    ) -> ShellSession:
        """An interactive PTY session at the end of ``route`` (raw bytes, asciicast-recorded).

        Refused in read-only mode (a root shell can change anything), before connecting."""
        hop = route.target
        self.check_shell(f"an interactive shell on {route.vm_name or route.vm_id or hop.host}",
                         route)
        line = command
        if hop.remote_key:
            line = await self._nested_command(route, command or "exec \"$SHELL\" -l")
            line = line.replace("ssh -i", "ssh -tt -i", 1)
        for attempt in (0, 1):
            conn = await self.connection(route)
            try:
                proc = await conn.create_process(
                    line, term_type=term, term_size=(cols, rows), encoding=None,
                    stderr=asyncssh.STDOUT,
                )
            except (asyncssh.ChannelOpenError, asyncssh.ConnectionLost,
                    asyncssh.DisconnectError, BrokenPipeError, OSError) as exc:
                if attempt == 0 and await self._channel_failed(route, conn, exc):
                    continue
                raise self._channel_error(exc, hop, route) from exc
            return ShellSession(
                proc, route=route, journal=self.journal if record else None,
                term=term, cols=cols, rows=rows, command=command,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Close every connection, last hops first."""
        self._closed = True
        conns = sorted(self._conns.items(), key=lambda kv: -len(kv[0][1]))
        self._conns.clear()
        for _key, conn in conns:
            conn.close()
        for _key, conn in conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)

    async def __aenter__(self) -> SshPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _collect(
    proc: asyncssh.SSHClientProcess,  # type: ignore[type-arg]
    on_output: OutputCallback | None,
) -> tuple[str, str]:
    """Read stdout and stderr to EOF (passing chunks to ``on_output``), wait for the close."""

    async def pump(reader: Any, name: str, buf: _Capped) -> None:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf.add(chunk)
            if on_output is not None:
                on_output(name, chunk)

    out, err = _Capped(MAX_COMMAND_OUTPUT), _Capped(MAX_COMMAND_OUTPUT)
    await asyncio.gather(pump(proc.stdout, "stdout", out), pump(proc.stderr, "stderr", err))
    await proc.wait_closed()
    return out.text(), err.text()


class _Capped:
    """Output kept within ``limit`` characters: its head and its newest tail, and how much
    was dropped between them."""

    def __init__(self, limit: int) -> None:
        self.half = limit // 2
        self.head = ""
        self.tail = ""
        self.dropped = 0

    def add(self, chunk: str) -> None:
        if len(self.head) < self.half:
            room = self.half - len(self.head)
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        if len(self.tail) > self.half:
            cut = len(self.tail) - self.half
            self.dropped += cut
            self.tail = self.tail[cut:]

    def text(self) -> str:
        if not self.dropped:
            return self.head + self.tail
        return f"{self.head}\n…[{self.dropped} characters of output not kept]\n{self.tail}"


def _signal_number(name: str) -> int:
    import signal

    try:
        return int(signal.Signals[f"SIG{name}"])
    except KeyError:
        return 0

