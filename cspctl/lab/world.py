"""The lab's world model: zones, pods, clusters, KVM hosts, system VMs, settings, events.

The API server (api.py) reads and changes it; the SSH servers (sshd.py) look hosts and VMs up
in it. Lifecycle changes (stop, start, reboot, destroy, migrate) are split into a *begin* and
a *finish* step so that async jobs can hold a VM in ``Stopping``/``Starting``/``Migrating``
for a simulated while. Each system VM owns a ``SystemVmOS`` (vmos.py), created on first use,
which decides whether its agent is connected.
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import Callable
from typing import Any

import asyncssh

from cspctl.lab.clock import LabClock
from cspctl.lab.faults import Faults
from cspctl.lab.records import (
    AGENT_ALERT,
    AGENT_CONNECTING,
    AGENT_DISCONNECTED,
    AGENT_UP,
    CPVM,
    DERIVED_KEYS_LIMIT,
    SSVM,
    LabAlert,
    LabCluster,
    LabConfig,
    LabEvent,
    LabHost,
    LabManagementServer,
    LabPod,
    LabSystemVm,
    LabZone,
    Template,
    derived_key,
    new_key,
)
from cspctl.versions import at_least

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

    def at_least(self, version: str) -> bool:
        """Whether the management server is this version or newer."""
        return at_least(self.version, version)

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


__all__ = [
    "AGENT_ALERT",
    "AGENT_CONNECTING",
    "AGENT_DISCONNECTED",
    "AGENT_UP",
    "CPVM",
    "DERIVED_KEYS_LIMIT",
    "SSVM",
    "LabAlert",
    "LabCluster",
    "LabConfig",
    "LabEvent",
    "LabHost",
    "LabManagementServer",
    "LabPod",
    "LabSystemVm",
    "LabZone",
    "Template",
    "VmHook",
    "World",
    "derived_key",
    "new_key",
]
