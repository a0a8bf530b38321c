"""How to reach a system VM: the hops, computed from API data and the profile.

KVM/XenServer (and LXC, Simulator) system VMs listen on their link-local address, reachable only
from the hypervisor host that runs them: management host -> host:22 -> 169.254.x.x:3922.
VMware/Hyper-V system VMs are reached on their private IP directly. A profile may put a bastion
in front of the hosts, or choose ``nested`` access (run ``ssh`` on the host with its own copy
of the key, /root/.ssh/id_rsa.cloud) when the management key is not available locally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cspctl.errors import UsageError
from cspctl.ssh.errors import SshError
from cspctl.ssh.quote import (
    validate_host,
    validate_ip,
    validate_port,
    validate_user,
    validate_vm_name,
)

SYSTEMVM_PORT = 3922
SYSTEMVM_USER = "root"
DEFAULT_MANAGEMENT_KEY = Path("/var/lib/cloudstack/management/.ssh/id_rsa")
NESTED_HOST_KEY = "/root/.ssh/id_rsa.cloud"
MODES = ("linklocal", "private", "nested", "direct")
_DEFAULT_MODE = {
    "kvm": "linklocal",
    "xenserver": "linklocal",
    "lxc": "linklocal",
    "simulator": "linklocal",
    "vmware": "private",
    "hyperv": "private",
}


@dataclass(frozen=True)
class Hop:
    """One SSH hop. ``keys`` None means asyncssh's defaults (ssh-agent, ~/.ssh/config, id_*)."""

    kind: str  # "bastion" | "host" | "systemvm"
    host: str
    port: int
    user: str
    name: str | None = None  # host name (kvm-01) or VM name (v-2-VM)
    hypervisor: str | None = None
    keys: tuple[str, ...] | None = None
    known_hosts: str | None = None  # bastion/host hops: OpenSSH known_hosts file
    remote_key: str | None = None  # nested mode: key path on the previous hop

    @property
    def target(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def label(self) -> str:
        """``host kvm-01 (root@127.0.1.2:22)`` for error messages."""
        name = f" {self.name}" if self.name else ""
        return f"{self.kind}{name} ({self.target})"

    def key_summary(self) -> str:
        if self.remote_key:
            return f"{self.remote_key} on the host"
        if self.keys is None:
            return "ssh-agent / ~/.ssh keys"
        return ", ".join(self.keys) or "no key"


@dataclass(frozen=True)
class Route:
    """The hops to one system VM (or a direct target); hashable, used as the pool key."""

    vm_id: str | None
    vm_name: str | None
    mode: str  # "linklocal" | "private" | "nested" | "direct"
    hops: tuple[Hop, ...]

    @property
    def target(self) -> Hop:
        return self.hops[-1]

    def summary(self) -> str:
        """One line: ``root@127.0.1.2:22 -> root@169.254.1.23:3922 (linklocal)``."""
        return " -> ".join(h.target for h in self.hops) + f" ({self.mode})"

    def details(self) -> list[str]:
        """Per hop: the key it authenticates with and how its host key is checked."""
        lines = []
        for i, hop in enumerate(self.hops, 1):
            if hop.kind == "systemvm":
                check = "cspctl's system VM key store (by VM id)"
            else:
                check = hop.known_hosts or "~/.ssh/known_hosts"
            lines.append(f"{i}. key {hop.key_summary()}; host key checked against {check}")
        return lines

    def describe(self) -> list[str]:
        """One line per hop, for ``--print-route`` and the UI."""
        lines = []
        for i, hop in enumerate(self.hops, 1):
            prev = self.hops[i - 2].kind if i > 1 else None
            extra: list[str] = []
            if hop.kind == "systemvm":
                how = {
                    "linklocal": "link-local",
                    "private": "private IP",
                    "nested": f"nested ssh on the host, key {hop.remote_key}",
                    "direct": "direct",
                }[self.mode]
                via = f" via {prev}" if prev else ""
                lines.append(f"{i}. {hop.kind:<8} {hop.target}{via} ({how})")
                continue
            if hop.name:
                extra.append(hop.name)
            if hop.hypervisor:
                extra.append(hop.hypervisor)
            via = f" via {prev}" if prev else ""
            tail = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"{i}. {hop.kind:<8} {hop.target}{via}{tail}")
        return lines


def _pget(profile: Any, name: str, default: Any = None) -> Any:
    value = getattr(profile, name, default)
    return default if value is None else value


def management_key(profile: Any) -> Path:
    """The key for the system VM hop: profile.ssh_key or the management server's default."""
    return Path(_pget(profile, "ssh_key", DEFAULT_MANAGEMENT_KEY)).expanduser()


def known_hosts_path(profile: Any) -> str:
    """known_hosts for host/bastion hops: profile.known_hosts or ~/.ssh/known_hosts."""
    path = _pget(profile, "known_hosts", None)
    return str(Path(path).expanduser() if path else Path("~/.ssh/known_hosts").expanduser())


def host_client_keys(profile: Any) -> tuple[str, ...] | None:
    """Keys for host/bastion hops.

    ``profile.host_ssh_key`` if set; else asyncssh's defaults (ssh-agent, ~/.ssh/config
    IdentityFile, ~/.ssh/id_*) when the operator has any of those; else the management key.
    """
    explicit = getattr(profile, "host_ssh_key", None)
    if explicit:
        return (str(Path(explicit).expanduser()),)
    ssh_dir = Path("~/.ssh").expanduser()
    has_defaults = (
        bool(os.environ.get("SSH_AUTH_SOCK"))
        or any((ssh_dir / f"id_{t}").is_file() for t in ("ed25519", "ecdsa", "rsa", "dsa"))
        or _config_has_identity(ssh_dir / "config")
    )
    if has_defaults:
        return None
    key = management_key(profile)
    return (str(key),) if key.is_file() else None


def _config_has_identity(path: Path) -> bool:
    """Does the operator's ~/.ssh/config name keys (IdentityFile)? Then asyncssh uses them."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(
        line.strip().lower().startswith("identityfile") for line in text.splitlines()
    )


def parse_bastion(spec: str, profile: Any) -> Hop:
    """``user@host:port`` / ``host:port`` / ``host`` -> a bastion hop."""
    user = _pget(profile, "ssh_user", "root")
    rest = spec.strip()
    if "@" in rest:
        user, rest = rest.rsplit("@", 1)
    port: object = 22
    if rest.startswith("["):  # [v6]:port
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = tail[1:]
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host = rest
    return Hop(
        kind="bastion",
        host=validate_host(host, "bastion host"),
        port=validate_port(port, "bastion port"),
        user=validate_user(user, "bastion user"),
        keys=host_client_keys(profile),
        known_hosts=known_hosts_path(profile),
    )


def access_mode(profile: Any, hypervisor: str | None) -> str:
    """linklocal/private/nested for this hypervisor (profile ``access`` overrides)."""
    hv = (hypervisor or "").lower().replace("-", "")
    access = _pget(profile, "access", {}) or {}
    for key, value in access.items():
        if str(key).lower().replace("-", "") == hv:
            if value not in MODES:
                raise UsageError(
                    f"profile access for {hypervisor}: {value!r} is not one of "
                    "linklocal, private, nested"
                )
            return str(value)
    return _DEFAULT_MODE.get(hv, "linklocal")


def _vm_hop(profile: Any, address: str, name: str | None, *, nested: bool = False) -> Hop:
    if nested:
        remote = str(_pget(profile, "nested_key", NESTED_HOST_KEY))
        return Hop("systemvm", address, SYSTEMVM_PORT, SYSTEMVM_USER, name=name, remote_key=remote)
    return Hop(
        "systemvm",
        address,
        SYSTEMVM_PORT,
        SYSTEMVM_USER,
        name=name,
        keys=(str(management_key(profile)),),
    )


async def resolve_route(vm: Any, api: Any, profile: Any) -> Route:
    """Build the route to a system VM from its API record (and its host's, via listHosts)."""
    name = validate_vm_name(vm.name) if vm.name else None
    label = name or vm.id or "system VM"
    bastion = _pget(profile, "bastion", None)
    front = (parse_bastion(bastion, profile),) if bastion else ()
    hypervisor = vm.hypervisor
    host = None
    if vm.hostid:
        hosts = await api.list_hosts(id=vm.hostid)
        host = hosts[0] if hosts else None
        if host is not None and not hypervisor:
            hypervisor = host.hypervisor
    mode = access_mode(profile, hypervisor)
    if mode == "private":
        if not vm.privateip:
            raise SshError(
                f"{label} has no private IP in the API (state {vm.state}): start it first"
            )
        address = validate_ip(vm.privateip, f"private IP of {label}")
        return Route(vm.id, name, "private", (*front, _vm_hop(profile, address, name)))
    if host is None:
        raise SshError(
            f"{label} runs on no known host (state {vm.state}, hostid {vm.hostid}): "
            "it must be Running on a host to be reached over its link-local address"
        )
    if not vm.linklocalip:
        raise SshError(
            f"{label} has no link-local IP in the API (state {vm.state}): start it first"
        )
    host_hop = Hop(
        "host",
        validate_ip(host.ipaddress, f"address of host {host.name}"),
        validate_port(_pget(profile, "ssh_port", 22), "ssh_port"),
        validate_user(_pget(profile, "ssh_user", "root"), "ssh_user"),
        name=host.name,
        hypervisor=hypervisor,
        keys=host_client_keys(profile),
        known_hosts=known_hosts_path(profile),
    )
    address = validate_ip(vm.linklocalip, f"link-local IP of {label}")
    vm_hop = _vm_hop(profile, address, name, nested=mode == "nested")
    return Route(vm.id, name, mode, (*front, host_hop, vm_hop))


def direct_route(
    host: str,
    port: int = 22,
    user: str = "root",
    *,
    keys: tuple[str, ...] | None = None,
    kind: str = "systemvm",
    vm_id: str | None = None,
    name: str | None = None,
    known_hosts: str | None = None,
    via: tuple[Hop, ...] = (),
) -> Route:
    """A hand-made route (tests, ad-hoc targets): ``via`` hops then one target."""
    hop = Hop(
        kind,
        validate_host(host),
        validate_port(port),
        validate_user(user),
        name=name,
        keys=keys,
        known_hosts=known_hosts,
    )
    return Route(vm_id, name, "direct", (*via, hop))
