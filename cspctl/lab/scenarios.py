"""Lab scenarios: each builds a World that reproduces one real situation (``--scenario NAME``).

Fault flag names are the ones the OS model (cspctl/lab/vmos/) reads; a VM of the
scenario gets its flags again whenever it is re-created from the template (destroy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cspctl.errors import UsageError
from cspctl.lab.clock import LabClock
from cspctl.lab.faults import Faults
from cspctl.lab.vmos.spec import VmFault
from cspctl.lab.world import CPVM, SSVM, LabPod, World
from cspctl.versions import at_least

DAY = 86400.0


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    build: Callable[[LabClock, Faults], World]


def _settings(world: World, *, upgraded_from_old: bool = False) -> None:
    """Global settings every scenario has; the seed keeps pre-4.3 SSL leftovers."""
    old = not world.at_least("4.11")
    s = world.set_config
    s("host", world.mgmt.ip, "Advanced",
      "The ip address of management server. This can also accept comma separated addresses.")
    s("port", "8250", "Advanced", "Port to listen on for agent connection.")
    s("default.page.size", "500", "Advanced",
      "Default page size for API list* commands", isdynamic=True)
    s("management.network.cidr", "10.1.1.0/24", "Advanced",
      "The cidr of management server network")
    s("control.cidr", "169.254.0.0/16", "Advanced",
      "Changes the cidr for the control network traffic.  Defaults to using link local.")
    s("control.gateway", "169.254.0.1", "Advanced", "gateway for the control network traffic")
    s("json.content.type", "text/javascript" if old else "application/json", "Advanced",
      "Http response content type for .js files (default is text/javascript)")
    s("consoleproxy.url.domain", "*.realhostip.com" if upgraded_from_old else "",
      "Console Proxy", "Console proxy url domain")
    s("consoleproxy.sslEnabled", "false", "Console Proxy",
      "Enable SSL for console proxy", defaultvalue="false")
    s("consoleproxy.session.max", "50", "Console Proxy",
      "The max number of viewer sessions console proxy is configured to serve for")
    s("consoleproxy.disable.rpfilter", "true", "Console Proxy",
      "disable rp_filter on console proxy VM public interface")
    s("secstorage.ssl.cert.domain", "realhostip.com" if upgraded_from_old else "",
      "Secure", "SSL certificate used to encrypt copy traffic between zones")
    s("secstorage.encrypt.copy", "true" if upgraded_from_old else "false", "Advanced",
      "Use SSL method used to encrypt copy traffic between zones", defaultvalue="false")
    s("secstorage.allowed.internal.sites", "10.1.1.0/24", "Advanced",
      "Comma separated list of cidrs internal to the datacenter that can host template "
      "download servers")
    s("system.vm.use.local.storage", "false", "Advanced",
      "Indicates whether to use local storage pools or shared storage pools for system VMs.",
      isdynamic=True)
    s("ping.interval", "60", "Advanced",
      "Interval to send application level pings to make sure the connection is still working")
    s("ping.timeout", "2.5", "Advanced",
      "Multiplier to ping.interval before announcing an agent has timed out")
    if not old:
        s("ca.framework.cert.validity.period", "365", "Advanced",
          "The validity period of a client certificate in days", isdynamic=True)
        s("ca.framework.cert.automatic.renewal", "true", "Advanced",
          "Whether to auto-renew expiring certificate on hosts", isdynamic=True)
        s("ca.framework.cert.expiry.alert.period", "15", "Advanced",
          "The number of days to check and alert expiring certificates", isdynamic=True)
        s("ca.plugin.root.auth.strictness", "true", "Advanced",
          "Setting to enforce two-way SSL authentication and trust validation.", isdynamic=True)
        s("ntp.server.list", "", "Advanced",
          "Comma separated list of NTP servers to configure in Secondary storage VM")


def _small_world(name: str, clock: LabClock, faults: Faults, *, version: str,
                 vm_version: str | None = None, host_tz: str = "UTC",
                 server_tz: str = "UTC", zone_name: str = "zone1",
                 upgraded_from_old: bool = False) -> tuple[World, LabPod]:
    """One zone, one pod, one KVM cluster of two hosts; templates for both system VM types."""
    clock.server_timezone = server_tz
    world = World(scenario=name, version=version, clock=clock, faults=faults)
    zone = world.add_zone(zone_name, dns1="8.8.8.8", internaldns1="10.1.1.2")
    pod = world.add_pod(zone, "pod1", "10.1.1.0/24")
    cluster = world.add_cluster(pod, "kvm-cluster1")
    world.add_host(cluster, "kvm01", "127.0.1.11", timezone=host_tz)
    world.add_host(cluster, "kvm02", "127.0.1.12", timezone=host_tz)
    vv = vm_version or version
    # before 4.11 every release used the 4.6 template
    tpl_name = "systemvm-kvm-4.6" if not at_least(vv, "4.11") \
        else "systemvm-kvm-" + ".".join(vv.split(".")[:3])
    world.add_template(CPVM, tpl_name, vv)
    world.default_template[SSVM] = world.default_template[CPVM]
    _settings(world, upgraded_from_old=upgraded_from_old)
    return world, pod


def _pair(world: World, pod: LabPod, *, cp_faults: frozenset[str] = frozenset(),
          ss_faults: frozenset[str] = frozenset(), age_days: float = 40,
          up_days: float = 2, clock_offset: float = 0.0) -> None:
    """SSVM s-1-VM on the first host and CPVM v-2-VM on the second, both Running."""
    world.vm_faults = {CPVM: cp_faults, SSVM: ss_faults}
    now = world.clock.now()
    hosts = [h for h in world.hosts if h.pod is pod]
    ss = world.new_system_vm(SSVM, pod, hosts[0], number=1, created=now - age_days * DAY,
                             boot_time=now - up_days * DAY)
    cp = world.new_system_vm(CPVM, pod, hosts[1 % len(hosts)], number=2,
                             created=now - age_days * DAY + 300,
                             boot_time=now - up_days * DAY + 40)
    for vm in (ss, cp):
        vm.clock_offset = clock_offset
        world.add_event(f"{world.event_prefix(vm)}.CREATE", f"{vm.name} created",
                        vm=vm, created=vm.created)
        world.add_event(f"{world.event_prefix(vm)}.START", f"Starting {vm.name}",
                        vm=vm, created=vm.boot_time)


def _disconnected_history(world: World) -> None:
    """Alerts/events an operator finds after the agents dropped."""
    for vm in world.live_vms():
        if vm.faults:
            vm.disconnected_at = vm.boot_time + 95
            world.vm_alert(vm, "down").sent = vm.disconnected_at


def build_seed(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("seed", clock, faults, version="4.8.0", host_tz="Asia/Tokyo",
                              server_tz="Asia/Tokyo", zone_name="tokyo-z1",
                              upgraded_from_old=True)
    for host in world.hosts:
        host.hypervisorversion = "2.0.0"   # libvirt/qemu of a CentOS 7 KVM host
    bad = frozenset({VmFault.EARLY_CONFIG_RERUN})
    _pair(world, pod, cp_faults=bad, ss_faults=bad, age_days=45, up_days=1.5)
    _disconnected_history(world)
    cp = world.vm_by_name("v-2-VM")
    assert cp is not None
    now = clock.now()
    world.add_event("PROXY.REBOOT", "rebooting console proxy Vm", vm=cp, created=now - 1.5 * DAY)
    world.add_alert(7, "ALERT.COMPUTE.HOST",
                    "Host is down, name: kvm02 (id:2), availability zone: tokyo-z1, pod: pod1",
                    sent=now - 9 * DAY)
    return world


def build_healthy(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("healthy", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    return world


def build_mgmt_port_blocked(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("mgmt-port-blocked", clock, faults, version="4.18.1.0")
    bad = frozenset({VmFault.MGMT_PORT_BLOCKED})
    _pair(world, pod, cp_faults=bad, ss_faults=bad)
    _disconnected_history(world)
    return world


def build_clock_drift(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("clock-drift", clock, faults, version="4.15.2.0")
    drift = -3 * DAY - 1234
    world.hosts[1].clock_offset = drift
    bad = frozenset({VmFault.CLOCK_DRIFT})
    _pair(world, pod, cp_faults=bad)
    cp = world.vm_by_name("v-2-VM")
    assert cp is not None
    cp.clock_offset = drift
    _disconnected_history(world)
    return world


def build_disk_full(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("disk-full", clock, faults, version="4.15.2.0")
    _pair(world, pod, ss_faults=frozenset({VmFault.DISK_FULL}))
    _disconnected_history(world)
    return world


def build_template_mismatch(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("template-mismatch", clock, faults, version="4.18.1.0",
                              vm_version="4.16.1.0")
    bad = frozenset({VmFault.AGENT_OLD})
    _pair(world, pod, cp_faults=bad, ss_faults=bad)
    _disconnected_history(world)
    return world


def build_cert_expired(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("cert-expired", clock, faults, version="4.15.2.0")
    bad = frozenset({VmFault.CERT_EXPIRED})
    _pair(world, pod, cp_faults=bad, ss_faults=bad, age_days=400, up_days=380)
    _disconnected_history(world)
    return world


def build_ssvm_storage(clock: LabClock, faults: Faults) -> World:
    world, pod = _small_world("ssvm-storage", clock, faults, version="4.18.1.0")
    _pair(world, pod, ss_faults=frozenset({VmFault.SSVM_STORAGE}))
    return world


LARGE_ZONES = 50
LARGE_HOSTS_PER_ZONE = 50
LARGE_VMS_PER_ZONE = 100


def build_large(clock: LabClock, faults: Faults) -> World:
    """50 zones x 50 hosts x 100 system VMs (5,000); a few VMs have 8250 blocked."""
    world = World(scenario="large", version="4.18.1.0", clock=clock, faults=faults, lazy=True)
    tpl = world.add_template(CPVM, "systemvm-kvm-4.18.1", "4.18.1.0")
    world.default_template[SSVM] = tpl
    _settings(world)
    now = clock.now()
    bad = frozenset({VmFault.MGMT_PORT_BLOCKED})
    for z in range(1, LARGE_ZONES + 1):
        zone = world.add_zone(f"zone{z:02d}", public_net=f"198.18.{z}.0/24",
                              internaldns1=f"10.{z}.0.2",
                              nfs_url=f"nfs://10.{z}.0.5/export/secondary")
        pod = world.add_pod(zone, f"pod{z:02d}a", f"10.{z}.0.0/23")
        cluster = world.add_cluster(pod, f"kvm-cluster{z:02d}")
        hosts = [world.add_host(cluster, f"kvm{z:02d}-{h:02d}", f"127.0.{z}.{10 + h}",
                                created=now - 300 * DAY)
                 for h in range(1, LARGE_HOSTS_PER_ZONE + 1)]
        for i in range(LARGE_VMS_PER_ZONE):
            vm_type = CPVM if i % 2 else SSVM
            n = len(world.system_vms)
            world.new_system_vm(vm_type, pod, hosts[i // 2], created=now - 30 * DAY,
                                boot_time=now - 2 * DAY,
                                faults=bad if n % 97 == 13 else frozenset())
    return world


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("seed", "CloudStack 4.8.0/KVM, hosts in JST: CPVM and SSVM Running, agents "
             "Disconnected; the web console does not load", build_seed),
    Scenario("healthy", "CloudStack 4.18.1.0/KVM: everything Up", build_healthy),
    Scenario("mgmt-port-blocked", "4.18.1.0: CPVM and SSVM Running, agents Disconnected "
             "ever since they booted", build_mgmt_port_blocked),
    Scenario("clock-drift", "4.15.2.0: the CPVM's agent is Disconnected, the SSVM's is Up",
             build_clock_drift),
    Scenario("disk-full", "4.15.2.0: the SSVM's agent is Disconnected, the CPVM's is Up",
             build_disk_full),
    Scenario("template-mismatch", "management server 4.18.1.0 just upgraded: CPVM and SSVM "
             "Running, agents Disconnected", build_template_mismatch),
    Scenario("cert-expired", "4.15.2.0: CPVM and SSVM up for a year, agents Disconnected "
             "since this week", build_cert_expired),
    Scenario("ssvm-storage", "4.18.1.0: agents Up, but templates and ISOs never download",
             build_ssvm_storage),
    Scenario("large", "4.18.1.0: 50 zones, 2,500 hosts, 5,000 system VMs (benchmarks; SSH "
             "models built on first use)", build_large),
)}


def scenario_names() -> list[str]:
    return list(SCENARIOS)


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(f"unknown lab scenario {name!r}; choose one of: "
                         + ", ".join(SCENARIOS)) from None


def build_world(name: str, clock: LabClock | None = None,
                faults: Faults | None = None) -> World:
    """Build the world of scenario ``name`` (raises UsageError for an unknown name)."""
    scenario = get_scenario(name)
    return scenario.build(clock or LabClock(), faults or Faults())


# The failures operators keep reporting upstream live in their own module.
from cspctl.lab.field_scenarios import field_scenarios  # noqa: E402

SCENARIOS.update((s.name, s) for s in field_scenarios(Scenario))
