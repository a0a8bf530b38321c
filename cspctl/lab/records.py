"""The records of the lab's world: templates, zones, pods, clusters, KVM hosts, system VMs,
settings, events, alerts, the management server; host keys. `World` (world.py) holds them."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncssh

from cspctl.lab import machines
from cspctl.versions import at_least

if TYPE_CHECKING:
    from cspctl.lab.vmos import HostOS, SystemVmOS
    from cspctl.lab.world import World

CPVM = "consoleproxy"
SSVM = "secondarystoragevm"

DERIVED_KEYS_LIMIT = 200
"""Worlds with more hosts use random host keys (deriving costs ~0.3 ms per key)."""

# Agent (host record) states a system VM's agent can be in, as listHosts reports them.
AGENT_UP = "Up"
AGENT_DISCONNECTED = "Disconnected"
AGENT_CONNECTING = "Connecting"
AGENT_ALERT = "Alert"



def new_key() -> asyncssh.SSHKey:
    """A fresh SSH host key (ed25519: ~60 µs to make)."""
    return asyncssh.generate_private_key("ssh-ed25519")


def derived_key(secret: bytes, label: str) -> asyncssh.SSHKey:
    """An ed25519 host key derived from ``secret`` and ``label`` (~0.3 ms): every lab of one
    user gives the same machine the same key, unpredictable without the secret."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hmac.new(secret, label.encode(), hashlib.sha256).digest()
    pem = Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    return asyncssh.import_private_key(pem)


@dataclass
class Template:
    """A system VM template: its agent version and init-system era."""

    id: str
    name: str
    version: str                      # agent / template version, e.g. "4.8.0"

    @property
    def era(self) -> str:
        """``"sysvinit"`` (4.8-4.10, Debian 7) or ``"systemd"`` (4.11+)."""
        return "systemd" if at_least(self.version, "4.11") else "sysvinit"


@dataclass(eq=False)
class LabZone:
    id: str
    name: str
    dbid: int
    networktype: str = "Advanced"
    dns1: str = "8.8.8.8"
    dns2: str | None = None
    internaldns1: str = "10.1.1.2"
    internaldns2: str | None = None
    allocationstate: str = "Enabled"
    zonetoken: str = ""
    nfs_url: str = "nfs://10.1.1.5/export/secondary"
    public_net: str = "203.0.113.0/24"


@dataclass(eq=False)
class LabPod:
    id: str
    name: str
    dbid: int
    zone: LabZone
    gateway: str
    netmask: str
    startip: str
    endip: str
    cidr: str
    allocationstate: str = "Enabled"


@dataclass(eq=False)
class LabCluster:
    id: str
    name: str
    pod: LabPod
    zone: LabZone
    hypervisor: str = "KVM"


@dataclass(eq=False)
class LabHost:
    """A KVM hypervisor host (listHosts type=Routing), reachable by SSH on ``ipaddress``."""

    world: World
    id: str
    name: str
    dbid: int
    ipaddress: str                    # 127.0.x.y: the lab's SSH server listens here
    zone: LabZone
    pod: LabPod
    cluster: LabCluster
    created: float
    hypervisor: str = "KVM"
    hypervisorversion: str = "2.0.0"
    timezone: str = "UTC"
    clock_offset: float = 0.0
    state: str = "Up"
    resourcestate: str = "Enabled"
    _host_key: asyncssh.SSHKey | None = field(default=None, repr=False)
    _os: HostOS | None = field(default=None, repr=False)

    @property
    def host_key(self) -> asyncssh.SSHKey:
        """The host's SSH host key, made on first use."""
        if self._host_key is None:
            self._host_key = self.world.make_key(f"host/{self.id}")
        return self._host_key

    @property
    def host_key_line(self) -> str:
        """OpenSSH public key line of the host key."""
        return self.host_key.export_public_key().decode().strip()

    @property
    def os(self) -> HostOS:
        """The host's OS model (vmos.HostOS), made on first use."""
        if self._os is None:
            self._os = machines.make_host_os(self)
        return self._os

    def vms(self) -> list[LabSystemVm]:
        return [vm for vm in self.world.system_vms if vm.host is self]


@dataclass(eq=False)
class LabSystemVm:
    """A console proxy (``v-N-VM``) or secondary storage VM (``s-N-VM``)."""

    world: World
    id: str
    name: str
    number: int
    vm_type: str                      # CPVM | SSVM
    state: str
    host: LabHost | None
    zone: LabZone
    pod: LabPod
    template: Template
    linklocalip: str
    linklocalmac: str
    privateip: str
    privatemac: str
    publicip: str
    publicmac: str
    gateway: str
    created: float
    agent_host_id: str                # id of its own host record (listHosts type=ConsoleProxy...)
    agent_host_dbid: int
    faults: frozenset[str] = frozenset()
    clock_offset: float = 0.0
    timezone: str = "UTC"
    boot_time: float = 0.0
    last_host: LabHost | None = None
    disconnected_at: float | None = None
    last_pinged: float = 0.0
    job_id: str | None = None         # set while an async job acts on the VM
    agent_version: str | None = None  # set by patchSystemVm (4.17+: agent of the mgmt server)
    viewer_sessions: int = 0          # console sessions open through a CPVM (activeviewersessions)
    removed: bool = False
    _host_key: asyncssh.SSHKey | None = field(default=None, repr=False)
    _os: SystemVmOS | None = field(default=None, repr=False)
    _last_agent: str | None = field(default=None, repr=False)

    @property
    def is_cpvm(self) -> bool:
        return self.vm_type == CPVM

    @property
    def host_type(self) -> str:
        """listHosts ``type`` of the VM's agent record."""
        return "ConsoleProxy" if self.is_cpvm else "SecondaryStorageVM"

    @property
    def version(self) -> str:
        """The agent's version: the template's, or what patchSystemVm brought."""
        return self.agent_version or self.template.version

    @property
    def host_key(self) -> asyncssh.SSHKey:
        """The VM's sshd host key (port 3922), made on first use; a new VM gets a new one.
        ``world.on_vm_key`` hooks run when it is made (the runner records it as trusted)."""
        if self._host_key is None:
            self._host_key = self.world.make_key(f"vm/{self.id}")
            for hook in list(self.world.on_vm_key):
                hook(self)
        return self._host_key

    @property
    def host_key_line(self) -> str:
        return self.host_key.export_public_key().decode().strip()

    @property
    def os_created(self) -> bool:
        return self._os is not None

    @property
    def os(self) -> SystemVmOS:
        """The VM's OS model (vmos.SystemVmOS), made (and booted if running) on first use."""
        if self._os is None:
            machine = self._os = machines.make_vm_os(self)
            if self.state in ("Running", "Stopping", "Migrating"):
                machine.boot(ago=max(0.0, self.world.clock.now() - self.boot_time))
            return machine
        return self._os

    @property
    def cmdline(self) -> str:
        """/var/cache/cloud/cmdline as the management server composes it.

        See docs/cloudstack.md §7.2."""
        w = self.world
        mgmt_cidr = self.pod.cidr
        parts: list[str] = ["template=domP"]
        if self.is_cpvm:
            parts += ["type=consoleproxy", f"host={w.mgmt.ip}", "port=8250",
                      f"name={self.name}"]
            if w.config_value("consoleproxy.sslEnabled") == "true":
                parts.append("premium=true")
            parts += [f"zone={self.zone.dbid}", f"pod={self.pod.dbid}",
                      f"guid=Proxy.{self.number}", f"proxy_vm={self.number}"]
        else:
            parts += ["type=secstorage", f"host={w.mgmt.ip}", "port=8250",
                      f"name={self.name}", f"zone={self.zone.dbid}", f"pod={self.pod.dbid}",
                      f"guid=s-{self.number}-VM", "workers=5",
                      "resource=org.apache.cloudstack.storage.resource.NfsSecondaryStorageResource",
                      "instance=SecStorage",
                      f"sslcopy={w.config_value('secstorage.encrypt.copy') or 'false'}",
                      "role=templateProcessor", "mtu=1500"]
        parts += ["disable_rp_filter=true",
                  f"eth0ip={self.linklocalip}", "eth0mask=255.255.0.0",
                  f"eth1ip={self.privateip}", f"eth1mask={self.pod.netmask}",
                  f"mgmtcidr={mgmt_cidr}", f"localgw={self.pod.gateway}",
                  f"eth2ip={self.publicip}", "eth2mask=255.255.255.0",
                  f"gateway={self.gateway}", f"internaldns1={self.zone.internaldns1}"]
        if self.zone.internaldns2:
            parts.append(f"internaldns2={self.zone.internaldns2}")
        parts.append(f"dns1={self.zone.dns1}")
        if self.zone.dns2:
            parts.append(f"dns2={self.zone.dns2}")
        return " ".join(parts)

    @property
    def agent_connected(self) -> bool:
        """Whether the VM's agent holds its connection to the management server (port 8250)."""
        if self.state != "Running" or self.removed:
            return False
        if self._os is None and not self.faults and self.world.lazy:
            return True  # untouched healthy VM of a large world: no need to build its OS
        return bool(self.os.agent_connected)

    def agent_state(self) -> str:
        """State of the VM's host record: Up / Disconnected / Connecting; tracks timestamps."""
        if self.state == "Starting":
            status = AGENT_CONNECTING
        elif self.agent_connected:
            status = AGENT_UP
        else:
            status = AGENT_DISCONNECTED
        now = self.world.clock.now()
        if status == AGENT_UP:
            self.last_pinged = now
        elif self._last_agent == AGENT_UP:
            self.disconnected_at = now
        self._last_agent = status
        return status


@dataclass
class LabConfig:
    """One global setting (listConfigurations)."""

    name: str
    value: str
    category: str = "Advanced"
    description: str = ""
    isdynamic: bool = False
    defaultvalue: str = ""
    component: str = "ManagementServer"


@dataclass
class LabEvent:
    id: str
    type: str
    level: str
    description: str
    state: str
    created: float
    resource_id: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    parentid: str | None = None


@dataclass
class LabAlert:
    id: str
    type: int
    name: str
    description: str
    sent: float


@dataclass
class LabManagementServer:
    id: str
    msid: int
    name: str
    ip: str
    version: str
    state: str = "Up"
    started: float = 0.0


