"""A real OpenSSH sshd on a loopback port, for SSH tests (fails, never skips, without sshd).

``SshdServer`` writes its own host key, authorized_keys and config into a temp dir and runs
``/usr/sbin/sshd -D -e -f CONFIG``; ``accepted_count()`` counts "Accepted publickey" lines
(LogLevel VERBOSE), i.e. authenticated connections since start.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

SSHD = os.environ.get("CSPCTL_TEST_SSHD", "/usr/sbin/sshd")


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def random_loopback() -> str:
    """A random 127.x.y.z address, so fixed ports (3922) do not collide between tests."""
    r = random.Random()
    return f"127.{r.randint(100, 250)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """Generate an OpenSSH key pair at ``path`` (and ``path.pub``)."""
    path.unlink(missing_ok=True)
    Path(f"{path}.pub").unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", path.name, "-f", str(path)],
        check=True, timeout=30,
    )
    return path


class SshdServer:
    """One sshd instance; ``restart(new_host_key=True)`` simulates a re-created VM."""

    def __init__(
        self,
        workdir: Path,
        authorized: list[Path],
        port: int | None = None,
        address: str = "127.0.0.1",
        extra_config: str = "",
    ) -> None:
        if not Path(SSHD).is_file() or not shutil.which("ssh-keygen"):
            pytest.fail(
                f"OpenSSH server not found at {SSHD} (install openssh-server): the SSH tests "
                "need a real sshd",
                pytrace=False,
            )
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.address = address
        self.port = port or free_port(address)
        self.host_key = self.dir / "ssh_host_ed25519_key"
        keygen(self.host_key)
        self.authorized_keys = self.dir / "authorized_keys"
        self.authorized_keys.write_text(
            "".join(Path(f"{k}.pub").read_text() for k in authorized)
        )
        self.log = self.dir / "sshd.log"
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\n"
            f"ListenAddress {address}\n"
            f"HostKey {self.host_key}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\n"
            f"PidFile {self.dir / 'sshd.pid'}\n"
            "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nAllowTcpForwarding yes\nLogLevel VERBOSE\n"
            "MaxStartups 100\nMaxSessions 100\nPrintMotd no\nPrintLastLog no\n"
            "ClientAliveInterval 0\n"
            # SHLVL=1: bash run by sshd then skips ~/.bashrc (Debian sources it for ssh
            # sessions); root's may run slow things (pyenv rehash takes a lock that killing a
            # session mid-way leaves stale) that have nothing to do with these tests
            "SetEnv SHLVL=1\n"
        )
        if extra_config:  # sshd uses the first value it reads: prepend overrides
            self.config.write_text(extra_config.rstrip("\n") + "\n" + self.config.read_text())
        self.proc: subprocess.Popen[bytes] | None = None
        self._logfh = None

    @property
    def public_key(self) -> str:
        return Path(f"{self.host_key}.pub").read_text().strip()

    def known_hosts_line(self) -> str:
        kt, b64 = self.public_key.split()[:2]
        host = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{host} {kt} {b64}\n"

    def start(self) -> None:
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation dir
        self._logfh = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config)],
            stdout=self._logfh, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"sshd exited early: {self.log.read_text()[-2000:]}", pytrace=False)
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"sshd did not listen on {self.port}: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the listener and every session child (kills connections too)."""
        self.kill_sessions()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._logfh is not None:
            self._logfh.close()
            self._logfh = None
        self.proc = None

    def session_pids(self) -> list[int]:
        """sshd processes serving connections to this server (children of the listener and
        their descendants)."""
        if self.proc is None:
            return []
        out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True)
        children: dict[int, list[int]] = {}
        for line in out.stdout.splitlines()[1:]:
            pid, ppid = (int(x) for x in line.split())
            children.setdefault(ppid, []).append(pid)
        found: list[int] = []
        todo = list(children.get(self.proc.pid, []))
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def kill_sessions(self) -> int:
        """Kill the per-connection sshd processes: every client connection drops."""
        pids = self.session_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def restart(self, *, new_host_key: bool = False) -> None:
        self.stop()
        if new_host_key:
            keygen(self.host_key)
        self.start()

    def accepted_count(self) -> int:
        return self.log.read_text(errors="replace").count("Accepted publickey")


@pytest.fixture
def client_key(tmp_path: Path) -> Path:
    """The operator's/management server's private key (authorized on every test sshd)."""
    return keygen(tmp_path / "id_mgmt")


@pytest.fixture
def sshd(tmp_path: Path, client_key: Path) -> Iterator[SshdServer]:
    server = SshdServer(tmp_path / "sshd1", [client_key])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sshd2(tmp_path: Path, client_key: Path) -> Iterator[SshdServer]:
    server = SshdServer(tmp_path / "sshd2", [client_key])
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def cloud(tmp_path: Path, sshd: SshdServer, client_key: Path) -> AsyncIterator[dict]:
    """A cloud whose hypervisor host is the real sshd and whose first system VM is a second
    real sshd on port 3922 of another loopback address (reached through the host, as on
    KVM); saved as profile ``t``. Yields the API server, the VM's and the host's sshd."""
    from cspctl.config import Profile, save_profile
    from tests.apiserver import APIKEY, SECRETKEY, ApiServer

    vm = SshdServer(tmp_path / "vm", [client_key], port=3922, address=random_loopback())
    vm.start()
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    try:
        async with ApiServer(n_systemvms=2) as api:
            host = next(h for h in api.hosts if h["id"] == "host-kvm-1")
            host["ipaddress"] = "127.0.0.1"
            api.systemvms[0]["linklocalip"] = vm.address
            save_profile(
                Profile(
                    name="t", source=None, url=api.url, apikey=APIKEY, secretkey=SECRETKEY,
                    ssh_key=client_key, ssh_port=sshd.port, known_hosts=kh,
                    host_key_policy="accept-new",
                )
            )
            yield {"api": api, "vm": vm, "host": sshd}
    finally:
        vm.stop()
