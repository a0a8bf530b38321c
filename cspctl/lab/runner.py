"""``Lab``: the whole simulated cloud in one object — world, management server, SSH servers.

    async with Lab("seed", time_scale=0.01) as lab:
        profile = lab.profile()          # ready for Session.open(profile=...)

The lab generates its own management-server SSH key (what CloudStack injects into every
system VM) and a known_hosts file for its hypervisor hosts; the system VMs' host keys are
recorded as trusted in the lab's own HostKeyStore, again whenever destroy re-creates a VM.
Everything the lab trusts lives in its state directory (one per running lab): it never
touches the operator's ``known_systemvms.json`` or ``~/.ssh/known_hosts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import secrets
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import asyncssh

from cspctl.lab.api import ApiServer, Credentials
from cspctl.lab.clock import LabClock
from cspctl.lab.faults import Faults
from cspctl.lab.scenarios import build_world
from cspctl.lab.world import LabSystemVm, World

log = logging.getLogger(__name__)

KEY_NAME = "id_ed25519"
EAGER_SSH_HOSTS = 200
"""Worlds with more hosts (``large``) open every host's listening socket before start()
returns but attach the SSH servers in the background (``await lab.wait_ssh()``): ready in
< 2 s, and an early client just waits in the backlog. Needs ``LabSsh.add_host(host, sock=)``;
without it every server is started before start() returns."""
TRUST_ALL_LIMIT = 200
"""Worlds with more system VMs (``large``) make and trust VM keys lazily (one JSON rewrite
per key), when each VM's SSH server first starts."""


class Lab:
    """A running simulated CloudStack (management server + hypervisor hosts + system VMs)."""

    def __init__(self, scenario: str = "seed", *, time_scale: float = 1.0, api_port: int = 0,
                 ssh_port: int = 0, faults: Faults | None = None,
                 state_dir: Path | None = None, host: str = "127.0.0.1",
                 trust_host_keys: bool = True, ssh: bool = True) -> None:
        self.scenario = scenario
        self.faults = faults or Faults()
        self.clock = LabClock(time_scale)
        self.world: World = build_world(scenario, self.clock, self.faults)
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir) if state_dir else Path(
            tempfile.mkdtemp(prefix="cspctl-lab-"))
        self.api_host = host
        self.api_port = api_port
        self.requested_ssh_port = ssh_port
        self.trust_host_keys = trust_host_keys
        self.ssh_enabled = ssh
        self.username = "admin"
        self.password = secrets.token_urlsafe(12)
        self.domain = "/"
        self.apikey = secrets.token_urlsafe(64)
        self.secretkey = secrets.token_urlsafe(64)
        self.ssh_user = "root"
        self.ssh_port = 0
        self.ssh_key_path = self.state_dir / KEY_NAME
        self.known_hosts_path = self.state_dir / "known_hosts"
        """OpenSSH known_hosts of this lab: its hosts, and its system VMs for plain ssh."""
        self.host_keys_path = self.state_dir / "known_systemvms.json"
        """cspctl's system VM host-key store of this lab (the profile points at it)."""
        self.url = ""
        self.api = ApiServer(self.world, Credentials(self.apikey, self.secretkey,
                                                      self.username, self.password,
                                                      self.domain))
        self.ssh: Any = None
        self._ssh_task: asyncio.Future[None] | None = None
        self._store: Any = None
        self._started = False

    # ----- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Generate keys, start the API and SSH servers, record host keys; ready to use."""
        if self._started:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.world.key_secret = self._key_secret()
        key = self._management_key()
        self.world.mgmt_public_key = key.export_public_key().decode().strip()
        self.url = await self.api.start(self.api_host, self.api_port)
        try:
            await self._start_ssh(key)
            self._write_known_hosts()
            if self.trust_host_keys:
                self.world.on_vm_key.append(self._trust_vm)
                self._trust_vm_keys()
                self.world.on_vm_created.append(self._touch_key)
        except BaseException:
            await self.stop()
            raise
        self._started = True

    async def stop(self) -> None:
        """Stop servers and jobs; remove the temporary state directory if the lab made it."""
        for hooks, hook in ((self.world.on_vm_key, self._trust_vm),
                            (self.world.on_vm_created, self._touch_key)):
            if hook in hooks:
                hooks.remove(hook)
        if self._ssh_task is not None:
            self._ssh_task.cancel()
            with contextlib.suppress(BaseException):
                await self._ssh_task
            self._ssh_task = None
        if self.ssh is not None:
            with contextlib.suppress(Exception):
                await self.ssh.stop()
            self.ssh = None
        await self.api.stop()
        self._started = False
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----- pieces ----------------------------------------------------------------------------
    @staticmethod
    def _key_secret() -> bytes | None:
        """The user's lab secret (cspctl state dir, mode 0600) that host keys derive from, so
        two labs of one scenario (``lab serve`` and ``--lab``) agree on every VM's key."""
        from cspctl.sessionlog import state_dir

        path = state_dir() / "lab-host-key-secret"
        for _attempt in range(2):
            try:
                data = path.read_bytes()
                if len(data) >= 32:
                    return data[:32]
            except FileNotFoundError:
                pass
            except OSError:
                return None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # another lab made it just now (or it is short): read again
            except OSError:
                return None
            data = secrets.token_bytes(32)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return data
        return None

    def _management_key(self) -> asyncssh.SSHKey:
        """The lab's management-server key pair (reused if the state dir already has one)."""
        if self.ssh_key_path.exists():
            with contextlib.suppress(Exception):
                return asyncssh.read_private_key(str(self.ssh_key_path))
        key = asyncssh.generate_private_key("ssh-ed25519", comment="cspctl-lab-management")
        fd = os.open(self.ssh_key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.export_private_key())
        self.ssh_key_path.with_name(KEY_NAME + ".pub").write_bytes(key.export_public_key())
        return key

    async def _start_ssh(self, key: asyncssh.SSHKey) -> None:
        if not self.ssh_enabled:
            return
        try:
            from cspctl.lab.sshd import LabSsh
        except ImportError:  # the SSH servers are not importable: API-only lab
            log.warning("cspctl.lab.sshd not available: the lab runs without SSH")
            return
        mgmt_key = self.world.mgmt_public_key
        assert mgmt_key is not None  # set before SSH starts
        self.ssh = LabSsh(self.world, authorized_keys=[mgmt_key],
                          port=self.requested_ssh_port, faults=self.faults)
        hosts = self.world.hosts
        takes_sock = "sock" in inspect.signature(self.ssh.add_host).parameters \
            if hasattr(self.ssh, "add_host") else False
        if len(hosts) <= EAGER_SSH_HOSTS or not takes_sock:
            await self.ssh.start()
        else:
            # Listening sockets for every host now (a few ms): a client connecting early
            # waits in the kernel backlog until its host's SSH server is attached.
            socks = self._prebind([h.ipaddress for h in hosts], self.requested_ssh_port)
            await self.ssh.add_host(hosts[0], sock=socks[0])
            self._ssh_task = asyncio.ensure_future(self._attach_rest(hosts[1:], socks[1:]))
        self.ssh_port = int(self.ssh.port)

    @staticmethod
    def _prebind(addresses: list[str], port: int) -> list[socket.socket]:
        socks: list[socket.socket] = []
        try:
            for address in addresses:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, port))
                port = port or sock.getsockname()[1]
                sock.listen(128)
                sock.setblocking(False)
        except OSError:
            for sock in socks:
                sock.close()
            raise
        return socks

    async def _attach_rest(self, hosts: list[Any], socks: list[socket.socket]) -> None:
        pending = list(zip(hosts, socks, strict=True))
        try:
            while pending:
                host, sock = pending[0]
                await self.ssh.add_host(host, sock=sock)
                pending.pop(0)
        finally:
            for _host, sock in pending:
                sock.close()

    async def wait_ssh(self) -> None:
        """Wait until every host's SSH server listens (immediate for small worlds)."""
        if self._ssh_task is not None:
            await asyncio.shield(self._ssh_task)

    def _write_known_hosts(self) -> None:
        port = self.ssh_port
        lines = []
        for host in self.world.hosts:
            where = host.ipaddress if port == 22 else f"[{host.ipaddress}]:{port}"
            lines.append(f"{where} {host.host_key_line}\n")
        self.known_hosts_path.write_text("".join(lines), encoding="utf-8")

    def host_key_store(self) -> Any:
        """The lab's own HostKeyStore (in its state directory), or None when cspctl.ssh is
        not there."""
        if self._store is None:
            try:
                from cspctl.ssh.hostkeys import HostKeyStore
            except ImportError:
                return None
            self._store = HostKeyStore(self.host_keys_path)
        return self._store

    def _trust_vm(self, vm: LabSystemVm) -> None:
        """Record a VM's key in the lab's store, and in its known_hosts for plain OpenSSH
        (``ssh -o UserKnownHostsFile=... -J root@HOST:PORT -p 3922 root@169.254.x.x``)."""
        store = self.host_key_store()
        if store is not None:
            store.trust(vm.id, vm.linklocalip, vm.host_key_line, vm.name)
        with contextlib.suppress(OSError), self.known_hosts_path.open("a") as fh:
            fh.write(f"[{vm.linklocalip}]:3922 {vm.host_key_line}\n")

    def _touch_key(self, vm: LabSystemVm) -> None:
        """Make a small world's new VM key now, so it is trusted before anyone connects."""
        if len(self.world.system_vms) <= TRUST_ALL_LIMIT:
            _ = vm.host_key

    def _trust_vm_keys(self) -> None:
        """Small worlds: make and trust every VM key now. Large ones: each key is trusted
        when it is made, i.e. when its VM's SSH server first starts (before any handshake)."""
        for vm in self.world.live_vms():
            if vm.os_created or vm._host_key is not None:
                self._trust_vm(vm)
            elif len(self.world.system_vms) <= TRUST_ALL_LIMIT:
                _ = vm.host_key  # the on_vm_key hook trusts it

    # ----- what clients need --------------------------------------------------------------------
    def profile(self, name: str = "lab") -> Any:
        """A cspctl Profile for this lab (API keys, SSH key, the lab's known_hosts and host-key
        store, policy ask)."""
        from cspctl.config import Profile

        return Profile(
            name=name, source=None, url=self.url, apikey=self.apikey, secretkey=self.secretkey,
            username=self.username, password=self.password, domain=self.domain,
            verify_tls=True, timeout=30.0, signature_version=3, ssh_key=self.ssh_key_path,
            ssh_user=self.ssh_user, ssh_port=self.ssh_port or 22,
            known_hosts=self.known_hosts_path, host_keys=self.host_keys_path,
            host_key_policy="ask",
            access={"kvm": "linklocal"}, is_lab=True,
        )

    def info(self) -> dict[str, Any]:
        """What ``cspctl lab serve --info FILE`` writes for scripts."""
        return {"url": self.url, "apikey": self.apikey, "secretkey": self.secretkey,
                "username": self.username, "password": self.password, "domain": self.domain,
                "ssh_key": str(self.ssh_key_path), "ssh_user": self.ssh_user,
                "ssh_port": self.ssh_port, "scenario": self.scenario,
                "known_hosts": str(self.known_hosts_path),
                "host_keys": str(self.host_keys_path), "state_dir": str(self.state_dir)}

    def write_info(self, path: Path) -> None:
        """Write :meth:`info` as JSON (mode 0600: it holds the lab's keys)."""
        fd, tmp = tempfile.mkstemp(prefix=".lab-info.", dir=str(Path(path).parent or "."))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.info(), fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
