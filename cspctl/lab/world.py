"""The lab's world model: zones, pods, clusters, KVM hosts, system VMs, settings, events.

The API server (api.py) reads and changes it; the SSH servers (sshd.py) look hosts and VMs up
in it. Lifecycle changes (stop, start, reboot, destroy, migrate) are split into a *begin* and
a *finish* step so that async jobs can hold a VM in ``Stopping``/``Starting``/``Migrating``
for a simulated while. Each system VM owns a ``SystemVmOS`` (vmos.py), created on first use,
which decides whether its agent is connected.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import ipaddress
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncssh

from cspctl.lab.clock import LabClock
from cspctl.lab.faults import Faults

CPVM = "consoleproxy"
SSVM = "secondarystoragevm"

DERIVED_KEYS_LIMIT = 200
"""Worlds with more hosts use random host keys (deriving costs ~0.3 ms per key)."""

# Agent (host record) states a system VM's agent can be in, as listHosts reports them.
AGENT_UP = "Up"
AGENT_DISCONNECTED = "Disconnected"
AGENT_CONNECTING = "Connecting"
AGENT_ALERT = "Alert"

# Template older than the management server (vmos: FAULT_AGENT_OLD): the management server
# closes the agent's connection after startup.
AGENT_OLD = "agent-old"


@functools.lru_cache(maxsize=256)  # a handful of versions, asked per row of every listing
def version_tuple(version: str) -> tuple[int, ...]:
    """``"4.13.1.0"`` -> ``(4, 13, 1, 0)``; stops at the first non-numeric part."""
    out: list[int] = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


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
        return "systemd" if version_tuple(self.version) >= (4, 11) else "sysvinit"


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
    _os: Any = field(default=None, repr=False)

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
    def os(self) -> Any:
        """The host's OS model (vmos.HostOS), made on first use."""
        if self._os is None:
            self._os = self.world.make_host_os(self)
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
    _os: Any = field(default=None, repr=False)
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
    def os(self) -> Any:
        """The VM's OS model (vmos.SystemVmOS), made (and booted if running) on first use."""
        if self._os is None:
            self._os = self.world.make_vm_os(self)
            if self.state in ("Running", "Stopping", "Migrating"):
                self._os.boot(ago=max(0.0, self.world.clock.now() - self.boot_time))
        return self._os

    @property
    def cmdline(self) -> str:
        """/var/cache/cloud/cmdline, composed like the management server does (§7.2)."""
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


VmHook = Callable[["LabSystemVm"], None]


class World:
    """Everything the simulated cloud knows. Built by a scenario (scenarios.py)."""

    def __init__(self, *, scenario: str, version: str, clock: LabClock,
                 mgmt_ip: str = "10.1.1.10", seed: int | str | None = None,
                 faults: Faults | None = None, lazy: bool = False) -> None:
        self.scenario = scenario
        self.version = version
        self.clock = clock
        self.faults = faults or Faults()
        self.lazy = lazy
        self.rng = random.Random(seed if seed is not None else scenario)
        self.zones: list[LabZone] = []
        self.pods: list[LabPod] = []
        self.clusters: list[LabCluster] = []
        self.hosts: list[LabHost] = []
        self.system_vms: list[LabSystemVm] = []
        self.templates: dict[str, Template] = {}
        self.configs: dict[str, LabConfig] = {}
        self.events: list[LabEvent] = []
        self.alerts: list[LabAlert] = []
        now = clock.now()
        self.mgmt = LabManagementServer(
            id=self.uuid(), msid=self.rng.randrange(10**14, 10**15), name="cs-mgmt01",
            ip=mgmt_ip, version=version, started=now - 3 * 86400)
        self.domain_id = self.uuid()
        self.account_id = self.uuid()
        self.user_id = self.uuid()
        self.mgmt_public_key: str | None = None   # set by the runner before SSH starts
        self.key_secret: bytes | None = None      # set by the runner: host keys derive from it
        self.on_vm_created: list[VmHook] = []
        self.on_vm_removed: list[VmHook] = []
        self.on_vm_key: list[VmHook] = []          # a VM's SSH host key was just made
        self._next_instance = 1
        self._next_host_dbid = 1
        self._used_linklocal: set[str] = set()
        self._ip_counters: dict[str, int] = {}
        self._net_bases: dict[str, int] = {}
        self._by_host_ip: dict[str, LabHost] = {}
        self.default_template: dict[str, Template] = {}
        self.vm_faults: dict[str, frozenset[str]] = {}   # faults a new VM of a type starts with

    # ----- identities -------------------------------------------------------------------
    def make_key(self, label: str) -> asyncssh.SSHKey:
        """A machine's SSH host key: derived from ``key_secret`` (small worlds; stable across
        labs of one user, so their trusted keys agree) or random (no secret, or large)."""
        if self.key_secret is not None and len(self.hosts) <= DERIVED_KEYS_LIMIT:
            return derived_key(self.key_secret, f"{self.scenario}/{label}")
        return new_key()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def mac(self, prefix: str = "1e:00") -> str:
        n = self.rng.getrandbits(32)
        return f"{prefix}:{n >> 24 & 255:02x}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"

    def _net_base(self, cidr: str) -> int:
        base = self._net_bases.get(cidr)
        if base is None:
            base = int(ipaddress.ip_network(cidr).network_address)
            self._net_bases[cidr] = base
        return base

    def _next_ip(self, cidr: str, first: int) -> str:
        """Next free address of ``cidr``, starting at host number ``first``."""
        n = self._ip_counters.get(cidr, first)
        self._ip_counters[cidr] = n + 1
        return _dotted(self._net_base(cidr) + n)

    def _linklocal(self) -> str:
        while True:
            ip = f"169.254.{self.rng.randrange(1, 255)}.{self.rng.randrange(2, 255)}"
            if ip not in self._used_linklocal:
                self._used_linklocal.add(ip)
                return ip

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.version)

    def at_least(self, version: str) -> bool:
        """Whether the management server is this version or newer."""
        return self.version_tuple >= version_tuple(version)

    # ----- building -----------------------------------------------------------------------
    def add_zone(self, name: str, **kw: Any) -> LabZone:
        zone = LabZone(id=self.uuid(), name=name, dbid=len(self.zones) + 1,
                       zonetoken=self.uuid(), **kw)
        self.zones.append(zone)
        return zone

    def add_pod(self, zone: LabZone, name: str, cidr: str) -> LabPod:
        net = ipaddress.ip_network(cidr)
        pod = LabPod(id=self.uuid(), name=name, dbid=len(self.pods) + 1, zone=zone,
                     gateway=str(net.network_address + 1), netmask=str(net.netmask),
                     startip=str(net.network_address + 50),
                     endip=str(net.network_address + 250), cidr=cidr)
        self.pods.append(pod)
        return pod

    def add_cluster(self, pod: LabPod, name: str) -> LabCluster:
        cluster = LabCluster(id=self.uuid(), name=name, pod=pod, zone=pod.zone)
        self.clusters.append(cluster)
        return cluster

    def add_host(self, cluster: LabCluster, name: str, ipaddress_: str, *,
                 timezone: str = "UTC", clock_offset: float = 0.0,
                 created: float | None = None) -> LabHost:
        host = LabHost(world=self, id=self.uuid(), name=name, dbid=self._next_host_dbid,
                       ipaddress=ipaddress_, zone=cluster.zone, pod=cluster.pod,
                       cluster=cluster, created=created or self.clock.now() - 400 * 86400,
                       timezone=timezone, clock_offset=clock_offset)
        self._next_host_dbid += 1
        self.hosts.append(host)
        self._by_host_ip[ipaddress_] = host
        return host

    def add_template(self, vm_type: str, name: str, version: str) -> Template:
        tpl = Template(id=self.uuid(), name=name, version=version)
        self.templates[tpl.id] = tpl
        self.default_template[vm_type] = tpl
        return tpl

    def set_config(self, name: str, value: str, category: str = "Advanced",
                   description: str = "", isdynamic: bool = False,
                   defaultvalue: str | None = None) -> LabConfig:
        cfg = LabConfig(name=name, value=value, category=category, description=description,
                        isdynamic=isdynamic,
                        defaultvalue=value if defaultvalue is None else defaultvalue)
        self.configs[name] = cfg
        return cfg

    def config_value(self, name: str) -> str | None:
        cfg = self.configs.get(name)
        return cfg.value if cfg else None

    def new_system_vm(self, vm_type: str, pod: LabPod, host: LabHost, *,
                      state: str = "Running", created: float | None = None,
                      faults: frozenset[str] | None = None, number: int | None = None,
                      boot_time: float | None = None) -> LabSystemVm:
        """Create a system VM from its type's template with the next instance number."""
        if number is None:
            number = self._next_instance
        self._next_instance = max(self._next_instance, number + 1)
        prefix = "v" if vm_type == CPVM else "s"
        zone = pod.zone
        now = self.clock.now()
        linklocal = self._linklocal()
        ll_octets = linklocal.split(".")
        vm = LabSystemVm(
            world=self, id=self.uuid(), name=f"{prefix}-{number}-VM", number=number,
            vm_type=vm_type, state=state, host=host if state != "Stopped" else None,
            zone=zone, pod=pod, template=self.default_template[vm_type],
            linklocalip=linklocal,
            linklocalmac=f"0e:00:a9:fe:{int(ll_octets[2]):02x}:{int(ll_octets[3]):02x}",
            privateip=self._next_ip(pod.cidr, 50), privatemac=self.mac("1e:00"),
            publicip=self._next_ip(zone.public_net, 20), publicmac=self.mac("1e:00"),
            gateway=_dotted(self._net_base(zone.public_net) + 1),
            created=now if created is None else created,
            agent_host_id=self.uuid(), agent_host_dbid=self._next_host_dbid,
            faults=self.vm_faults.get(vm_type, frozenset()) if faults is None else faults,
            boot_time=(now if created is None else created) if boot_time is None else boot_time,
            last_host=host, last_pinged=now,
        )
        self._next_host_dbid += 1
        self.system_vms.append(vm)
        for hook in list(self.on_vm_created):
            hook(vm)
        return vm

    # ----- OS models (cspctl/lab/vmos) ------------------------------------------------------
    def vm_spec_fields(self, vm: LabSystemVm) -> dict[str, Any]:
        """Everything the VM's OS model (vmos.VmSpec) is built from."""
        return {
            "name": vm.name, "vm_type": vm.vm_type, "era": vm.template.era,
            "cloudstack_version": vm.template.version, "cmdline": vm.cmdline,
            "timezone": vm.timezone, "clock_offset": vm.clock_offset,
            "mgmt_host": self.mgmt.ip, "mgmt_port": 8250,
            "linklocal_ip": vm.linklocalip, "private_ip": vm.privateip,
            "public_ip": vm.publicip, "netmask": vm.pod.netmask, "gateway": vm.gateway,
            "private_gateway": vm.pod.gateway, "dns1": vm.zone.dns1,
            "internal_dns1": vm.zone.internaldns1, "vm_id": vm.number,
            "zone_id": vm.zone.dbid, "pod_id": vm.pod.dbid,
            "secondary_storage_url": vm.zone.nfs_url,
            "premium": vm.is_cpvm and self.config_value("consoleproxy.sslEnabled") == "true",
            "faults": frozenset(vm.faults),
        }

    def make_vm_os(self, vm: LabSystemVm) -> Any:
        """A SystemVmOS (cspctl.lab.vmos) for ``vm``; not booted yet."""
        from cspctl.lab import vmos

        machine = vmos.SystemVmOS(_build(vmos.VmSpec, self.vm_spec_fields(vm)), self.clock)
        machine.lab_faults = self.faults
        return machine

    def make_host_os(self, host: LabHost) -> Any:
        """A HostOS for ``host`` that can reach the running VMs on it over link-local."""
        from cspctl.lab import vmos

        spec = _build(vmos.HostSpec, {"hostname": host.name, "ip": host.ipaddress,
                                      "timezone": host.timezone,
                                      "clock_offset": host.clock_offset})

        def vms() -> list[tuple[str, Any]]:
            return [(vm.linklocalip, vm.os) for vm in self.system_vms
                    if vm.host is host and not vm.removed and vm.state == "Running"]

        machine = vmos.HostOS(spec, self.clock, vms)
        machine.lab_faults = self.faults
        return machine

    # ----- lookups ------------------------------------------------------------------------
    def host_by_ip(self, ip: str) -> LabHost | None:
        return self._by_host_ip.get(ip)

    def host_by_id(self, host_id: str) -> LabHost | None:
        return next((h for h in self.hosts if h.id == host_id), None)

    def vm_by_id(self, vm_id: str) -> LabSystemVm | None:
        return next((v for v in self.system_vms if v.id == vm_id and not v.removed), None)

    def vm_by_name(self, name: str) -> LabSystemVm | None:
        return next((v for v in self.system_vms if v.name == name and not v.removed), None)

    def vm_by_linklocal(self, host: LabHost, ip: str) -> LabSystemVm | None:
        """The running VM on ``host`` whose control NIC has ``ip`` (what the host routes to)."""
        for vm in self.system_vms:
            if vm.host is host and vm.linklocalip == ip and not vm.removed \
                    and vm.state in ("Running", "Starting", "Stopping", "Migrating"):
                return vm
        return None

    def live_vms(self) -> list[LabSystemVm]:
        return [vm for vm in self.system_vms if not vm.removed]

    # ----- events and alerts ------------------------------------------------------------------
    def event_prefix(self, vm: LabSystemVm) -> str:
        return "PROXY" if vm.is_cpvm else "SSVM"

    def add_event(self, type_: str, description: str, *, level: str = "INFO",
                  state: str = "Completed", vm: LabSystemVm | None = None,
                  created: float | None = None, parentid: str | None = None) -> LabEvent:
        ev = LabEvent(id=self.uuid(), type=type_, level=level, description=description,
                      state=state, created=self.clock.now() if created is None else created,
                      resource_id=vm.id if vm else None,
                      resource_type="VirtualMachine" if vm else None,
                      resource_name=vm.name if vm else None, parentid=parentid)
        self.events.append(ev)
        return ev

    def add_alert(self, type_: int, name: str, description: str,
                  sent: float | None = None) -> LabAlert:
        al = LabAlert(id=self.uuid(), type=type_, name=name, description=description,
                      sent=self.clock.now() if sent is None else sent)
        self.alerts.append(al)
        return al

    def vm_alert(self, vm: LabSystemVm, what: str) -> LabAlert:
        """An alert like CloudStack's ConsoleProxy/SSVM alert adapters raise."""
        if vm.is_cpvm:
            text = (f"Console proxy {what} in zone: {vm.zone.name}, proxy: {vm.name}, "
                    f"public IP: {vm.publicip}, private IP: {vm.privateip}")
            return self.add_alert(10, "ALERT.SERVICE.CONSOLEPROXY", text)
        text = (f"Secondary Storage Vm {what} in zone: {vm.zone.name}, secStorageVm: "
                f"{vm.name}, public IP: {vm.publicip}, private IP: {vm.privateip}")
        return self.add_alert(19, "ALERT.SERVICE.SSVM", text)

    # ----- lifecycle steps (driven by jobs.py) ------------------------------------------------
    def begin_stop(self, vm: LabSystemVm) -> None:
        vm.state = "Stopping"

    def finish_stop(self, vm: LabSystemVm) -> None:
        if vm._os is not None:
            vm._os.shutdown()
        vm.state = "Stopped"
        vm.last_host = vm.host or vm.last_host
        vm.host = None
        vm.disconnected_at = self.clock.now()

    def begin_start(self, vm: LabSystemVm, host: LabHost | None = None) -> None:
        vm.host = host or vm.last_host or self.pick_host(vm.pod)
        vm.state = "Starting"

    def finish_start(self, vm: LabSystemVm) -> None:
        vm.state = "Running"
        vm.boot_time = self.clock.now()
        if vm._os is not None:
            vm._os.boot()
        vm.agent_state()

    def begin_reboot(self, vm: LabSystemVm) -> None:
        """Reboot: the guest goes down at once (agent disconnects), comes back at finish."""
        if vm._os is not None:
            vm._os.shutdown()
        vm.disconnected_at = self.clock.now()
        vm._last_agent = AGENT_DISCONNECTED

    def finish_reboot(self, vm: LabSystemVm) -> None:
        vm.boot_time = self.clock.now()
        if vm._os is not None:
            vm._os.boot()
        vm.agent_state()

    def begin_destroy(self, vm: LabSystemVm) -> None:
        vm.state = "Stopping"
        if vm._os is not None:
            vm._os.shutdown()

    def finish_destroy(self, vm: LabSystemVm) -> None:
        vm.state = "Destroyed"
        vm.last_host = vm.host or vm.last_host
        vm.host = None

    def expunge(self, vm: LabSystemVm) -> None:
        vm.state = "Expunging"

    def remove(self, vm: LabSystemVm) -> None:
        vm.removed = True
        if vm in self.system_vms:
            self.system_vms.remove(vm)
        self._used_linklocal.discard(vm.linklocalip)
        for hook in list(self.on_vm_removed):
            hook(vm)

    def recreate(self, old: LabSystemVm) -> LabSystemVm:
        """The replacement CloudStack's manager creates after a system VM is destroyed."""
        host = self.pick_host(old.pod, avoid=None)
        return self.new_system_vm(old.vm_type, old.pod, host, state="Starting")

    def begin_migrate(self, vm: LabSystemVm) -> None:
        vm.state = "Migrating"

    def finish_migrate(self, vm: LabSystemVm, dest: LabHost) -> None:
        vm.host = dest
        vm.last_host = dest
        vm.state = "Running"

    def pick_host(self, pod: LabPod, avoid: LabHost | None = None) -> LabHost:
        """The Up host in ``pod`` running the fewest system VMs."""
        candidates = [h for h in self.hosts if h.pod is pod and h.state == "Up" and h is not avoid]
        if not candidates:
            candidates = [h for h in self.hosts if h.pod is pod] or self.hosts
        load = {id(h): 0 for h in candidates}
        for vm in self.system_vms:
            if vm.host is not None and id(vm.host) in load:
                load[id(vm.host)] += 1
        return min(candidates, key=lambda h: load[id(h)])


def _dotted(n: int) -> str:
    return f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def _build(cls: Any, values: dict[str, Any]) -> Any:
    """Instantiate ``cls`` with the subset of ``values`` its dataclass fields (or init) accept."""
    if isinstance(cls, type) and dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: v for k, v in values.items() if k in names})
    import inspect

    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return cls(**values)
    return cls(**{k: v for k, v in values.items() if k in params})
