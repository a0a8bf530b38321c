"""The lab's SSH servers: hosts on loopback, system VMs behind them (asyncssh and OpenSSH)."""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from cspctl.lab.sshd import LabSsh
from cspctl.lab.vmos import (
    SECONDARYSTORAGEVM,
    HostOS,
    HostSpec,
    SystemVmOS,
    VmFault,
    VmSpec,
)


class Clock:
    def now(self) -> float:
        return time.time()


@dataclass(eq=False)
class FakeHost:
    name: str
    ipaddress: str
    host_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key(
        "ssh-ed25519"))
    os: Any = None


@dataclass(eq=False)
class FakeVm:
    id: str
    name: str
    linklocalip: str
    host: FakeHost
    os: SystemVmOS
    state: str = "Running"
    host_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key(
        "ssh-ed25519"))


class FakeWorld:
    """Just what LabSsh needs from the lab's World."""

    def __init__(self) -> None:
        clock = Clock()
        self.hosts = [FakeHost("kvm01", "127.0.1.41"), FakeHost("kvm02", "127.0.1.42")]
        self.system_vms: list[FakeVm] = []
        cp = SystemVmOS(VmSpec("v-2-VM", linklocal_ip="169.254.3.93",
                               faults=frozenset({VmFault.EARLY_CONFIG_RERUN})), clock)
        ss = SystemVmOS(VmSpec("s-1-VM", vm_type=SECONDARYSTORAGEVM, vm_id=1,
                               linklocal_ip="169.254.7.7"), clock)
        for vm in (cp, ss):
            vm.boot(ago=3600)
        self.system_vms.append(FakeVm("uuid-2", "v-2-VM", "169.254.3.93", self.hosts[0], cp))
        self.system_vms.append(FakeVm("uuid-1", "s-1-VM", "169.254.7.7", self.hosts[1], ss))
        for host in self.hosts:
            host.os = HostOS(HostSpec(host.name, host.ipaddress), clock,
                             lambda h=host: [(v.linklocalip, v.os) for v in self.system_vms
                                             if v.host is h and v.state == "Running"])

    def host_by_ip(self, ip: str) -> FakeHost | None:
        return next((h for h in self.hosts if h.ipaddress == ip), None)

    def vm_by_linklocal(self, host: FakeHost, ip: str) -> FakeVm | None:
        return next((v for v in self.system_vms if v.host is host and v.linklocalip == ip),
                    None)


@pytest.fixture
def client_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
async def lab_ssh(client_key: asyncssh.SSHKey) -> Any:
    world = FakeWorld()
    public = client_key.export_public_key().decode().strip()
    ssh = LabSsh(world, authorized_keys=[public])
    await ssh.start()
    try:
        yield ssh
    finally:
        await ssh.stop()


def _connect(ssh: LabSsh, host: FakeHost, key: asyncssh.SSHKey, **kw: Any) -> Any:
    return asyncssh.connect(host.ipaddress, ssh.port, username="root", client_keys=[key],
                            known_hosts=None, **kw)


async def test_host_exec_and_tunnel_to_its_vm(lab_ssh: LabSsh, client_key: asyncssh.SSHKey
                                              ) -> None:
    world = lab_ssh.world
    host, vm = world.hosts[0], world.system_vms[0]
    async with _connect(lab_ssh, host, client_key) as conn:
        assert conn.get_server_host_key().export_public_key() == \
            host.host_key.export_public_key()
        res = await conn.run("hostname; date +%Z")
        assert res.stdout == "kvm01\nJST\n" and res.exit_status == 0
        res = await conn.run("ssh -i /root/.ssh/id_rsa.cloud -p 3922 root@169.254.3.93 pgrep java")
        assert res.stdout == "2345\n"
        async with conn.connect_ssh("169.254.3.93", 3922, username="root",
                                    client_keys=[client_key], known_hosts=None) as inner:
            assert inner.get_server_host_key().export_public_key() == \
                vm.host_key.export_public_key()
            res = await inner.run("ls -l /proc/2345 | grep cwd")
            assert res.stdout.endswith("cwd -> /usr/local/cloud/systemvm (deleted)\n")
            res = await inner.run("nosuchtool")
            assert (res.exit_status, res.stderr) == (127, "bash: nosuchtool: command not found\n")
            res = await inner.run("false")
            assert res.exit_status == 1


async def test_direct_tcpip_only_to_the_hosts_own_vms(lab_ssh: LabSsh,
                                                      client_key: asyncssh.SSHKey) -> None:
    world = lab_ssh.world
    async with _connect(lab_ssh, world.hosts[0], client_key) as conn:
        for ip, port in (("169.254.7.7", 3922), ("169.254.3.93", 22), ("10.1.1.10", 8250)):
            with pytest.raises(asyncssh.ChannelOpenError, match="Connection refused"):
                await conn.open_connection(ip, port)


async def test_fifty_commands_use_one_vm_connection(lab_ssh: LabSsh,
                                                    client_key: asyncssh.SSHKey) -> None:
    world = lab_ssh.world
    async with _connect(lab_ssh, world.hosts[1], client_key) as conn, \
            conn.connect_ssh("169.254.7.7", 3922, username="root", client_keys=[client_key],
                             known_hosts=None) as vm:
        results = [await vm.run(f"echo {i}") for i in range(50)]
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(50)]
    assert lab_ssh.connection_counts["vm:s-1-VM"] == 1
    assert lab_ssh.connection_counts["host:127.0.1.42"] == 1


async def test_vm_power_off_drops_its_connections(lab_ssh: LabSsh,
                                                  client_key: asyncssh.SSHKey) -> None:
    world = lab_ssh.world
    vm = world.system_vms[0]
    async with _connect(lab_ssh, vm.host, client_key) as conn:
        inner = await conn.connect_ssh(vm.linklocalip, 3922, username="root",
                                       client_keys=[client_key], known_hosts=None)
        assert (await inner.run("true")).exit_status == 0
        vm.os.shutdown()
        try:
            res = await asyncio.wait_for(inner.run("true"), 5)
            assert res.exit_status != 0  # None: the connection went away
        except (asyncssh.Error, ConnectionError, OSError):
            pass
        await asyncio.wait_for(inner.wait_closed(), 5)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection(vm.linklocalip, 3922)
        vm.os.boot()
        async with conn.connect_ssh(vm.linklocalip, 3922, username="root",
                                    client_keys=[client_key], known_hosts=None) as again:
            # booted again: a new agent process id, as on a real VM
            assert (await again.run("pgrep java")).stdout == "3345\n"


async def test_add_host_on_a_prebound_socket(client_key: asyncssh.SSHKey) -> None:
    import socket

    world = FakeWorld()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.1.41", 0))
    sock.listen(16)
    sock.setblocking(False)
    ssh = LabSsh(world, authorized_keys=[client_key.export_public_key().decode()],
                 port=sock.getsockname()[1])
    await ssh.add_host(world.hosts[0], sock=sock)
    try:
        async with _connect(ssh, world.hosts[0], client_key) as conn:
            assert (await conn.run("hostname")).stdout == "kvm01\n"
    finally:
        await ssh.stop()


async def test_wrong_key_or_user_is_refused(lab_ssh: LabSsh) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with _connect(lab_ssh, lab_ssh.world.hosts[0], other):
            pass


async def test_recreated_vm_answers_with_its_new_host_key(lab_ssh: LabSsh,
                                                          client_key: asyncssh.SSHKey) -> None:
    world = lab_ssh.world
    old = world.system_vms[0]
    old_key = old.host_key.export_public_key()
    new = FakeVm("uuid-3", "v-3-VM", old.linklocalip, old.host,
                 SystemVmOS(VmSpec("v-3-VM", vm_id=3), Clock()))
    new.os.boot()
    async with _connect(lab_ssh, old.host, client_key) as conn:
        async with conn.connect_ssh(old.linklocalip, 3922, username="root",
                                    client_keys=[client_key], known_hosts=None) as inner:
            assert (await inner.run("hostname")).stdout == "v-2-VM\n"
        old.state = "Destroyed"
        world.system_vms[0] = new
        async with conn.connect_ssh(old.linklocalip, 3922, username="root",
                                    client_keys=[client_key], known_hosts=None) as inner:
            assert inner.get_server_host_key().export_public_key() != old_key
            assert (await inner.run("hostname")).stdout == "v-3-VM\n"


async def test_pty_shell_prompt_editing_and_exit(lab_ssh: LabSsh,
                                                 client_key: asyncssh.SSHKey) -> None:
    world = lab_ssh.world
    async with _connect(lab_ssh, world.hosts[0], client_key) as conn, \
            conn.connect_ssh("169.254.3.93", 3922, username="root", client_keys=[client_key],
                             known_hosts=None) as vm:
        proc = await vm.create_process(term_type="xterm", term_size=(100, 30), encoding=None)

        async def until(marker: bytes) -> bytes:
            buf = b""
            while marker not in buf:
                buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
            return buf

        assert (await until(b"root@v-2-VM:~# ")).endswith(b"root@v-2-VM:~# ")
        proc.stdin.write(b"cd /proc/2345\r")
        assert b"root@v-2-VM:/proc/2345# " in await until(b"/proc/2345# ")
        proc.change_terminal_size(120, 40)
        proc.stdin.write(b"pwdX\x7f\r")  # backspace removes the X
        out = await until(b"# ")
        assert b"/proc/2345\r\n" in out
        proc.stdin.write(b"sleep 100\x03")  # ctrl-c abandons the line
        out = await until(b"# ")
        assert b"^C" in out
        proc.stdin.write(b"ls -l cwd\r")
        out = await until(b"# ")
        assert b"cwd -> /usr/local/cloud/systemvm (deleted)\r\n" in out
        proc.stdin.write(b"ls /\r")
        out = await until(b"# ")
        assert out.count(b"\r\n") < 8  # columns on a terminal, not one name per line
        proc.stdin.write(b"exit\r")
        await asyncio.wait_for(proc.wait_closed(), 5)
        assert proc.exit_status == 0


async def test_host_pty_shell(lab_ssh: LabSsh, client_key: asyncssh.SSHKey) -> None:
    async with _connect(lab_ssh, lab_ssh.world.hosts[0], client_key) as conn:
        proc = await conn.create_process(term_type="xterm", encoding=None)
        buf = b""
        while b"[root@kvm01 ~]# " not in buf:
            buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
        proc.stdin.write(b"date +%Z\r")
        buf = b""
        while b"JST\r\n[root@kvm01 ~]# " not in buf:
            buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
        proc.stdin.write(b"ssh -i /root/.ssh/id_rsa.cloud -p 3922 root@169.254.3.93\r")
        buf = b""
        while b"root@v-2-VM:~# " not in buf:
            buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
        proc.stdin.write(b"pgrep java\r")
        buf = b""
        while b"2345\r\nroot@v-2-VM:~# " not in buf:
            buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
        proc.stdin.write(b"exit\r")
        buf = b""
        while b"Connection to 169.254.3.93 closed.\r\n[root@kvm01 ~]# " not in buf:
            buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
        proc.stdin.write(b"\x04")  # ctrl-d on an empty line logs out
        buf = b""
        while b"logout" not in buf:
            buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
        await asyncio.wait_for(proc.wait_closed(), 5)


async def test_fault_hooks(client_key: asyncssh.SSHKey) -> None:
    @dataclass
    class Faults:
        ssh_connect_delay: float = 0.2
        ssh_command_delay: float = 0.1
        ssh_drop_after_commands: int = 2

    world = FakeWorld()
    ssh = LabSsh(world, authorized_keys=client_key.export_public_key().decode(),
                 faults=Faults())
    await ssh.start()
    try:
        start = time.monotonic()
        async with _connect(ssh, world.hosts[0], client_key) as conn:
            assert time.monotonic() - start >= 0.2
            t = time.monotonic()
            assert (await conn.run("echo 1")).stdout == "1\n"
            assert time.monotonic() - t >= 0.1
            await conn.run("echo 2")
            with pytest.raises((asyncssh.Error, ConnectionError, OSError)):
                await asyncio.wait_for(conn.run("echo 3"), 5)
    finally:
        await ssh.stop()


# --- plain OpenSSH ----------------------------------------------------------------------------
def _openssh_config(tmp: Path, key_path: Path) -> Path:
    cfg = tmp / "ssh_config"
    cfg.write_text(
        "Host *\n"
        f"  IdentityFile {key_path}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {tmp / 'known_hosts'}\n  StrictHostKeyChecking accept-new\n"
        "  BatchMode yes\n  LogLevel ERROR\n  ConnectTimeout 10\n", encoding="utf-8")
    return cfg


async def _ssh(cfg: Path, jump: str, target: str, command: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "ssh", "-F", str(cfg), "-J", jump, "-p", "3922", target, command,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="OpenSSH client not installed")
async def test_openssh_proxyjump_through_the_lab(tmp_path: Path) -> None:
    """End to end through the lab's Lab: plain `ssh -J host -p 3922 root@169.254.x.x`."""
    from cspctl.lab.runner import Lab

    async with Lab("seed", time_scale=0.0, state_dir=tmp_path / "lab") as lab:
        cpvm = next(v for v in lab.world.system_vms if v.name.startswith("v-"))
        cfg = _openssh_config(tmp_path, lab.ssh_key_path)
        jump = f"root@{cpvm.host.ipaddress}:{lab.ssh_port}"
        target = f"root@{cpvm.linklocalip}"
        status, out, err = await _ssh(cfg, jump, target, "pgrep java")
        assert (status, out) == (0, "2345\n"), err
        status, out, _ = await _ssh(cfg, jump, target, "ls -l /proc/2345/cwd")
        assert status == 0
        stamp = out.split(" root root 0 ")[1][:12]
        assert out == (f"lrwxrwxrwx 1 root root 0 {stamp} /proc/2345/cwd -> "
                       "/usr/local/cloud/systemvm (deleted)\n")
        status, out, _ = await _ssh(cfg, jump, target, "ls -l /proc/2345 | grep cwd")
        assert out == (f"lrwxrwxrwx 1 root root 0 {stamp} cwd -> "
                       "/usr/local/cloud/systemvm (deleted)\n")
        status, out, _ = await _ssh(cfg, jump, target, "nosuch; echo $?")
        assert out == "127\n"
        other = next(v for v in lab.world.system_vms if v.host is not cpvm.host)
        status, _, err = await _ssh(cfg, jump, f"root@{other.linklocalip}", "true")
        assert status == 255
