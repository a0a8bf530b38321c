"""The SSH connection pool: one connection per hop chain, reused by every command and shell.

Concurrent first uses of a target share one connection (a lock per key); keepalive runs on
every hop; a dropped connection is noticed and re-opened on the next use; every command is
recorded in the session journal. Connection options and error mapping live in
:mod:`cspctl.ssh.connect`, host-key decisions in :mod:`cspctl.ssh.hostkey_check`, nested mode in
:mod:`cspctl.ssh.nested`, command results and output bounds in :mod:`cspctl.ssh.output`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import asyncssh

from cspctl.gate import Gate, Refused
from cspctl.signals import received_name as received_signal_name
from cspctl.ssh.connect import channel_error, open_hop
from cspctl.ssh.errors import SshConnectionLost, SshError, SshTimeout
from cspctl.ssh.hostkey_check import DEADLINE
from cspctl.ssh.hostkeys import POLICIES, HostKeyAsk, HostKeyStore
from cspctl.ssh.mask import mask_secrets
from cspctl.ssh.nested import nested_command
from cspctl.ssh.output import (
    MAX_COMMAND_OUTPUT,
    CommandResult,
    OutputCallback,
    collect,
    journal_text,
    signal_number,
)
from cspctl.ssh.route import Hop, Route
from cspctl.ssh.shell import ShellSession

__all__ = ["MAX_COMMAND_OUTPUT", "CommandResult", "OutputCallback", "SshPool"]

_Key = tuple[str | None, tuple[Hop, ...]]


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
                conn = await open_hop(self, route, index, tunnel)
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

    async def drop(self, route: Route) -> None:
        """Forget (and close) the connection at the end of ``route``."""
        conn = self._conns.pop(self._key(route, self._last_ssh_index(route)), None)
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()

    # -- commands ------------------------------------------------------------------------

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
                token = DEADLINE.set(limit)
                try:
                    async with slot:
                        result = await self._run(route, command, timeout, stdin_text, on_output,
                                                 phase)
                finally:
                    DEADLINE.reset(token)
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
            stdout=journal_text(result.stdout), stderr=journal_text(result.stderr),
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
            line = await nested_command(self, route, command) if hop.remote_key else command
            phase[0] = "opening a session"
            try:
                proc = await conn.create_process(line, encoding="utf-8", errors="replace")
            except (asyncssh.ChannelOpenError, asyncssh.ConnectionLost,
                    asyncssh.DisconnectError, BrokenPipeError, OSError) as exc:
                # the channel never opened: nothing ran, safe to reconnect and retry once
                if attempt == 0 and await self._channel_failed(route, conn, exc):
                    continue
                raise channel_error(exc, hop, route) from exc
            phase[0] = "the command was running"
            try:
                with contextlib.suppress(asyncssh.Error, OSError):
                    if stdin_text:
                        proc.stdin.write(stdin_text)
                    proc.stdin.write_eof()
                stdout, stderr = await collect(proc, on_output)
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
                    status = 128 + signal_number(proc.exit_signal[0])
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
            line = await nested_command(self, route, command or "exec \"$SHELL\" -l")
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
                raise channel_error(exc, hop, route) from exc
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


