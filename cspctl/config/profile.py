"""The Profile: everything cspctl needs to reach one CloudStack and its system VMs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SSH_KEY = Path("/var/lib/cloudstack/management/.ssh/id_rsa")
"""The management server's key, which CloudStack injects into every system VM."""

HOST_KEY_POLICIES = ("ask", "accept-new", "strict")
ACCESS_MODES = ("linklocal", "private", "nested")
SIGNATURE_VERSIONS = (2, 3)
"""2: the classic HMAC-SHA1 signature alone; 3: adds ``signatureVersion=3`` and ``expires``."""

SECRET_FIELDS = ("apikey", "secretkey", "password")


@dataclass
class Profile:
    """One CloudStack endpoint with credentials and the SSH settings cmk has no place for."""

    name: str
    source: Path | None
    """The file the url/credentials came from (None: environment or lab)."""
    url: str
    apikey: str | None = None
    secretkey: str | None = None
    username: str | None = None
    password: str | None = None
    domain: str = "/"
    verify_tls: bool = True
    timeout: float = 30.0
    signature_version: int = 3
    ssh_key: Path | None = None
    """Management-server key for system VMs; None means :data:`DEFAULT_SSH_KEY`."""
    ssh_user: str = "root"
    ssh_port: int = 22
    known_hosts: Path | None = None
    """OpenSSH known_hosts for hypervisor-host hops; None means ~/.ssh/known_hosts."""
    host_key_policy: str = "ask"
    host_keys: Path | None = None
    """cspctl's store of system VM host keys (JSON); None means known_systemvms.json in
    cspctl's config directory. A lab points it at its own state directory."""
    access: dict[str, str] = field(default_factory=dict)
    """Hypervisor (lower case, e.g. ``kvm``) -> ``linklocal`` | ``private`` | ``nested``."""
    bastion: str | None = None
    read_only: bool = False
    refresh_interval: float = 10.0
    is_lab: bool = False
    sources: tuple[Path, ...] = ()
    """Every file that contributed to this profile (cmk/cloudmonkey file, cspctl's TOML)."""

    @property
    def auth_kind(self) -> str:
        """``apikey`` when API keys are set (they win over username/password, as in cmk)."""
        return "apikey" if self.apikey and self.secretkey else "password"

    @property
    def ssh_key_path(self) -> Path:
        return self.ssh_key or DEFAULT_SSH_KEY

    @property
    def known_hosts_path(self) -> Path:
        return self.known_hosts or Path(os.path.expanduser("~/.ssh/known_hosts"))

    def secrets(self) -> list[str]:
        """The values that must never be written anywhere (for ``Journal.add_secret``)."""
        return [v for v in (self.apikey, self.secretkey, self.password) if v]

    def describe(self) -> dict[str, Any]:
        """A secret-free summary for journals, tables and ``--json`` output."""
        return {
            "name": self.name,
            "url": self.url,
            "auth": self.auth_kind,
            "username": self.username if self.auth_kind == "password" else None,
            "domain": self.domain,
            "verify_tls": self.verify_tls,
            "read_only": self.read_only,
            "is_lab": self.is_lab,
            "sources": [str(p) for p in self.sources]
            or ([str(self.source)] if self.source else []),
        }

    def __repr__(self) -> str:  # never show secrets in a repr (tracebacks, debuggers, logs)
        return f"Profile(name={self.name!r}, url={self.url!r}, auth={self.auth_kind!r})"


def parse_bastion(value: str) -> tuple[str | None, str, int]:
    """``[user@]host[:port]`` -> (user, host, port); raises ValueError when malformed."""
    user: str | None = None
    rest = value.strip()
    if "@" in rest:
        user, rest = rest.rsplit("@", 1)
        if not user:
            raise ValueError("empty user before '@'")
    port = 22
    if rest.startswith("["):  # [ipv6]:port
        host, sep, tail = rest[1:].partition("]")
        if not sep:
            raise ValueError("unclosed '[' around an IPv6 address")
        if tail:
            if not tail.startswith(":"):
                raise ValueError("expected ':port' after ']'")
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, port_s = rest.split(":")
        port = int(port_s)
    else:
        host = rest
    if not host or any(c.isspace() for c in host):
        raise ValueError("missing or invalid host")
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return user, host, port
