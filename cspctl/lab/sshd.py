"""The lab's SSH side: one asyncssh server per KVM host, lazily one per system VM.

Each host listens on its own loopback address (127.0.x.y) on one shared port, accepts user root
with the management-server key, runs commands in its HostOS model and allows direct-tcpip to
169.254.x.x:3922 only for the running system VMs it hosts; that tunnel reaches the VM's own
SSH server (started on first use on 127.0.0.1:ephemeral, with the VM's own host key), which
runs commands in the VM's SystemVmOS model. So plain OpenSSH works:
`ssh -J root@127.0.1.2:PORT -p 3922 root@169.254.1.23 pgrep java`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncssh

from cspctl.lab.faults import Faults
from cspctl.lab.ssh_targets import SshHost, SshVm, SshWorld, vm_running
from cspctl.lab.vmos import HostOS, SimOS, SystemVmOS

log = logging.getLogger(__name__)


VM_SSH_PORT = 3922
Prompt = Callable[[str], str]
"""The shell prompt for a working directory."""


def _fault(faults: Faults | None, name: str, default: float = 0.0) -> float:
    return float(getattr(faults, name, default) or 0) if faults is not None else default


class _Auth(asyncssh.SSHServer):
    """root + one of the authorized keys; counts connections; optional connect delay."""

    def __init__(self, lab: LabSsh, target: str) -> None:
        self.lab = lab
        self.target = target
        self.conn: asyncssh.SSHServerConnection | None = None
        self.commands_run = 0

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.lab.connection_counts[self.target] += 1
        self.lab._conns.add(conn)
        conn.set_extra_info(lab_server=self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.lab._conns.discard(self.conn)

    async def begin_auth(self, username: str) -> bool:
        delay = _fault(self.lab.faults, "ssh_connect_delay")
        if delay:
            await asyncio.sleep(delay)
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if username != "root":
            return False
        return key.export_public_key("openssh").decode().split()[1] in self.lab.authorized_blobs


class _HostServer(_Auth):
    """A KVM host: exec/shell in HostOS, direct-tcpip to its VMs' port 3922."""

    def __init__(self, lab: LabSsh, host: SshHost) -> None:
        super().__init__(lab, f"host:{host.ipaddress}")
        self.host = host

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str,
                             orig_port: int) -> Awaitable[_Pipe]:
        vm = self.lab.world.vm_by_linklocal(self.host, dest_host)
        if vm is None or dest_port != VM_SSH_PORT or not vm_running(vm):
            log.debug("lab ssh: %s refuses direct-tcpip to %s:%s", self.target, dest_host,
                      dest_port)
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Connection refused")
        return self.lab.tunnel_to(vm)


def _vm_prompt(name: str) -> Prompt:
    return lambda cwd: f"root@{name}:{cwd}# "


class _VmServer(_Auth):
    def __init__(self, lab: LabSsh, vm: SshVm) -> None:
        super().__init__(lab, f"vm:{vm.name}")
        self.vm = vm


class _Pipe(asyncssh.SSHTCPSession[bytes]):
    """Bridges a direct-tcpip channel to a local TCP connection (the VM's SSH server)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.chan: asyncssh.SSHTCPChannel[bytes] | None = None
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, chan: asyncssh.SSHTCPChannel[bytes]) -> None:
        self.chan = chan
        self.task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                assert self.chan is not None
                self.chan.write(data)
        except (ConnectionError, OSError, asyncssh.Error):
            pass
        finally:
            if self.chan is not None:
                with contextlib.suppress(Exception):
                    self.chan.write_eof()
                    self.chan.close()

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self.writer.write(data)

    def eof_received(self) -> bool:
        with contextlib.suppress(OSError):
            self.writer.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.writer.close()
        if self.task is not None:
            self.task.cancel()


class LabSsh:
    """All SSH servers of a lab world."""

    def __init__(self, world: SshWorld, *, authorized_keys: Iterable[str] | str, port: int = 0,
                 faults: Faults | None = None, command_time_scale: float = 0.0,
                 bind_hosts: bool = True) -> None:
        self.world = world
        keys = [authorized_keys] if isinstance(authorized_keys, str) else list(authorized_keys)
        self.authorized_blobs = {line.split()[1] for line in keys if len(line.split()) >= 2}
        self.port = port
        self.faults = faults
        self.command_time_scale = command_time_scale
        self.connection_counts: Counter[str] = Counter()
        self._servers: list[asyncssh.SSHAcceptor] = []
        self._vm_servers: dict[int, tuple[SshVm, asyncssh.SSHAcceptor, int]] = {}
        self._vm_lock = asyncio.Lock()
        self._conns: set[asyncssh.SSHServerConnection] = set()
        self._bound: set[str] = set()
        self._bind_hosts = bind_hosts

    async def start(self) -> None:
        """Listen on every host's loopback address (one shared port)."""
        for host in self.world.hosts:
            await self.add_host(host)

    async def add_host(self, host: SshHost, sock: socket.socket | None = None) -> None:
        """Start the SSH server of one host (or serve an already listening `sock` for it)."""
        if host.ipaddress in self._bound:
            return
        where: dict[str, Any] = ({"sock": sock} if sock is not None
                                 else {"host": host.ipaddress, "port": self.port})
        acceptor = await asyncssh.listen(
            server_factory=lambda h=host: _HostServer(self, h), **where,
            server_host_keys=[host.host_key], process_factory=self._host_process,
            allow_scp=False, keepalive_interval=0, login_timeout=30,
            encoding="utf-8", line_editor=True)
        if not self.port:
            self.port = acceptor.sockets[0].getsockname()[1]
        self._servers.append(acceptor)
        self._bound.add(host.ipaddress)

    async def stop(self) -> None:
        servers = self._servers + [s for _, s, _ in self._vm_servers.values()]
        self._servers = []
        self._vm_servers = {}
        self._bound = set()
        for srv in servers:
            srv.close()
        for conn in list(self._conns):
            conn.abort()
        self._conns.clear()
        for srv in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(srv.wait_closed(), 2)

    async def __aenter__(self) -> LabSsh:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- VM servers -------------------------------------------------------------------------
    async def vm_port(self, vm: SshVm) -> int:
        """The local port of `vm`'s SSH server, started on first use (new VM → new server)."""
        async with self._vm_lock:
            entry = self._vm_servers.get(id(vm))
            if entry is not None and entry[0] is vm:
                return entry[2]
            acceptor = await asyncssh.create_server(
                lambda v=vm: _VmServer(self, v), host="127.0.0.1", port=0,
                server_host_keys=[vm.host_key], process_factory=self._vm_process,
                allow_scp=False, keepalive_interval=0, encoding="utf-8", line_editor=True)
            port = int(acceptor.sockets[0].getsockname()[1])
            self._vm_servers[id(vm)] = (vm, acceptor, port)
            return port

    async def tunnel_to(self, vm: SshVm) -> _Pipe:
        port = await self.vm_port(vm)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return _Pipe(reader, writer)

    # --- sessions ---------------------------------------------------------------------------
    async def _host_process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        server = process.get_extra_info("lab_server")
        host = server.host
        await self._session(process, server, host.os, self._host_prompt(host))

    async def _vm_process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        server = process.get_extra_info("lab_server")
        vm = server.vm
        name = vm.name
        await self._session(process, server, vm.os, lambda cwd: f"root@{name}:{cwd}# ")

    @staticmethod
    def _host_prompt(host: SshHost) -> Prompt:
        short = host.name.split(".")[0]
        distro = host.os.spec.distro if isinstance(host.os, HostOS) else "centos7"
        if distro.startswith("ubuntu"):
            return lambda cwd: f"root@{short}:{cwd}# "
        return lambda cwd: f"[root@{short} {cwd.rsplit('/', 1)[-1] or '/'}]# "

    async def _session(self, process: asyncssh.SSHServerProcess[str], server: _Auth, os: SimOS,
                       prompt: Prompt) -> None:
        try:
            if process.command is not None:
                status = await self._exec(process, server, os, process.command)
                process.exit(status)
            elif process.get_terminal_type():
                await self._shell(process, server, os, prompt)
            else:
                # no PTY, no command: bash reads commands from stdin
                await self._stdin_shell(process, server, os)
        except (asyncssh.Error, ConnectionError, BrokenPipeError):
            process.close()
        except Exception:  # pragma: no cover - keep the server alive, show the failure
            log.exception("lab ssh session failed on %s", server.target)
            with contextlib.suppress(Exception):
                process.stderr.write("lab: internal error\n")
                process.exit(255)

    async def _delay(self, duration: float) -> None:
        delay = _fault(self.faults, "ssh_command_delay") + duration * self.command_time_scale
        if delay > 0:
            await asyncio.sleep(delay)

    def _count_command(self, server: _Auth) -> bool:
        """Count a command; True when the connection must be dropped afterwards."""
        server.commands_run += 1
        limit = int(_fault(self.faults, "ssh_drop_after_commands"))
        return bool(limit) and server.commands_run >= limit

    def _drop(self, server: _Auth) -> None:
        if server.conn is not None:
            server.conn.abort()

    def _gone(self, server: _Auth, os: SimOS) -> bool:
        """A powered-off machine drops its SSH connections (sshd died with it)."""
        if not os.running:
            self._drop(server)
            return True
        return False

    async def _exec(self, process: asyncssh.SSHServerProcess[str], server: _Auth, os: SimOS,
                    command: str) -> int:
        if self._gone(server, os):
            return 255
        shell = os.new_shell()
        status: int
        chunks, status, duration = shell.run_chunks(command)
        await self._delay(duration)
        if process.get_terminal_type():  # one stream: the chunks in order, in one write
            process.stdout.write("".join(text for _, text in chunks))
        else:  # each stream in one write (a batched script prints hundreds of small chunks)
            out = "".join(text for stream, text in chunks if stream == 1)
            err = "".join(text for stream, text in chunks if stream != 1)
            if out:
                process.stdout.write(out)
            if err:
                process.stderr.write(err)
        drop = self._count_command(server)
        if drop:
            await process.stdout.drain()
            self._drop(server)
        return status

    async def _stdin_shell(self, process: asyncssh.SSHServerProcess[str], server: _Auth,
                           os: SimOS) -> None:
        shell = os.new_shell()
        status = 0
        async for line in process.stdin:
            chunks, status, duration = shell.run_chunks(line.rstrip("\n"))
            await self._delay(duration)
            for stream, text in chunks:
                (process.stdout if stream == 1 else process.stderr).write(text)
            if shell.exit_requested is not None:
                status = shell.exit_requested
                break
        process.exit(status)

    async def _shell(self, process: asyncssh.SSHServerProcess[str], server: _Auth, os: SimOS,
                     prompt: Prompt, nested: bool = False) -> bool:
        """Interactive bash; returns False when the whole session must end."""
        shell = os.new_shell()
        shell.term_cols = (process.term_size or (80, 24))[0] or 80
        if isinstance(os, SystemVmOS):
            os.user_sessions += 1
        home = shell.env.get("HOME", "/root")

        def show_cwd() -> str:
            cwd: str = shell.cwd
            return "~" + cwd[len(home):] if cwd == home or cwd.startswith(home + "/") else cwd

        try:
            process.stdout.write(self._motd(os))
            while True:
                process.stdout.write(prompt(show_cwd()))
                try:
                    line = await process.stdin.readline()
                except asyncssh.BreakReceived:
                    with contextlib.suppress(Exception):
                        process.channel.clear_input()  # type: ignore[attr-defined]
                    process.stdout.write("^C\n")
                    continue
                except asyncssh.TerminalSizeChanged as exc:
                    shell.term_cols = exc.width or shell.term_cols
                    continue
                except asyncssh.SignalReceived:
                    process.stdout.write("\n")
                    continue
                if self._gone(server, os):
                    return False
                if not line:
                    process.stdout.write("logout\n")
                    if not nested:
                        process.exit(shell.last_status)
                    return True
                chunks, _status, duration = shell.run_chunks(line.rstrip("\r\n"))
                await self._delay(duration)
                for _stream, text in chunks:
                    process.stdout.write(text)
                if shell.exit_requested is not None:
                    process.stdout.write("logout\n")
                    if not nested:
                        process.exit(shell.exit_requested)
                    return True
                if self._count_command(server):
                    await process.stdout.drain()
                    self._drop(server)
                    return False
                if shell.nested is not None:
                    name, address, machine = shell.nested
                    shell.nested = None
                    self.connection_counts[f"vm:{name}"] += 1
                    alive = await self._shell(process, server, machine,
                                              _vm_prompt(name), True)
                    if not alive:
                        return False
                    process.stdout.write(f"Connection to {address} closed.\n")
        finally:
            if isinstance(os, SystemVmOS):
                os.user_sessions = max(0, os.user_sessions - 1)

    @staticmethod
    def _motd(os: SimOS) -> str:
        if isinstance(os, SystemVmOS):
            return ("\nThe programs included with the Debian GNU/Linux system are free software;"
                    "\nthe exact distribution terms for each program are described in the\n"
                    "individual files in /usr/share/doc/*/copyright.\n\nDebian GNU/Linux comes "
                    "with ABSOLUTELY NO WARRANTY, to the extent\npermitted by applicable law.\n")
        return ""
