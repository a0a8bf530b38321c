"""Lab scenarios for the failures operators keep reporting upstream.

Each reproduces one failure through state a repair can change: a host record, a keystore
file, a missing file and the port it controls, a dead process. The summaries describe what an
operator sees, never the cause (the diagnosis has to find it, as in a drill).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cspctl.lab.machines import vm_spec
from cspctl.lab.vmos.field import FieldVmOS
from cspctl.lab.world import LabSystemVm, World

if TYPE_CHECKING:
    from cspctl.lab.clock import LabClock
    from cspctl.lab.faults import Faults
    from cspctl.lab.scenarios import Scenario


def field_os(world: World, vm: LabSystemVm) -> FieldVmOS:
    """Give ``vm`` a FieldVmOS (booted like the world would); a re-created VM gets a plain one."""

    os_ = FieldVmOS(vm_spec(vm), world.clock)
    vm._os = os_
    if vm.state in ("Running", "Stopping", "Migrating"):
        os_.boot(ago=max(0.0, world.clock.now() - vm.boot_time))
    return os_


class StaleAgentVm(LabSystemVm):
    """A VM whose host record stays Up whatever its agent does (apache/cloudstack#4972).

    The management server only notices a dead agent after ping.timeout x ping.interval; a
    record that was never moved to Disconnected keeps saying Up. Destroying the VM ends it.
    """

    @property
    def agent_connected(self) -> bool:
        return self.state == "Running" and not self.removed


def _pair_vms(world: World) -> tuple[LabSystemVm, LabSystemVm]:
    cp, ss = world.vm_by_name("v-2-VM"), world.vm_by_name("s-1-VM")
    assert cp is not None and ss is not None
    return cp, ss


def build_host_agent_down(clock: LabClock, faults: Faults) -> World:
    from cspctl.lab.scenarios import _pair, _small_world

    world, pod = _small_world("host-agent-down", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    cp, _ss = _pair_vms(world)
    assert cp.host is not None
    cp.host.state = "Disconnected"
    world.add_alert(7, "ALERT.COMPUTE.HOST",
                    f"Host disconnected, name: {cp.host.name} (id:{cp.host.dbid}), availability "
                    f"zone: {cp.zone.name}, pod: {cp.pod.name}", sent=clock.now() - 1800)
    return world


def build_stale_agentstate(clock: LabClock, faults: Faults) -> World:
    from cspctl.lab.scenarios import _pair, _small_world

    world, pod = _small_world("stale-agentstate", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    cp, _ss = _pair_vms(world)
    cp.__class__ = StaleAgentVm
    field_os(world, cp).crash_agent()
    return world


def build_agent_tls(clock: LabClock, faults: Faults) -> World:
    from cspctl.lab.scenarios import _pair, _small_world

    world, pod = _small_world("agent-tls", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    for vm in _pair_vms(world):
        field_os(world, vm).break_keystore(ago=3600)
        vm.disconnected_at = clock.now() - 3600
        world.vm_alert(vm, "down").sent = vm.disconnected_at
    return world


def build_novnc_broken(clock: LabClock, faults: Faults) -> World:
    from cspctl.lab.scenarios import _pair, _small_world

    world, pod = _small_world("novnc-broken", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    cp, _ss = _pair_vms(world)
    field_os(world, cp).lose_vncport()
    world.add_event("PROXY.PATCH", f"Patching system VM {cp.name}", vm=cp,
                    created=clock.now() - 3600)
    return world


def build_ssvm_cert_expired(clock: LabClock, faults: Faults) -> World:
    from cspctl.lab.scenarios import DAY, _pair, _small_world

    world, pod = _small_world("ssvm-cert-expired", clock, faults, version="4.18.1.0")
    world.set_config("secstorage.ssl.cert.domain", "*.ssvm.example.com", "Secure",
                     "SSL certificate used to encrypt copy traffic between zones")
    _pair(world, pod)
    _cp, ss = _pair_vms(world)
    spec = field_os(world, ss).spec
    now = clock.now()
    spec.console_cert_subject = "CN=*.ssvm.example.com"
    spec.console_cert_issuer = "C=US; O=Let's Encrypt; CN=R3"
    spec.console_cert_not_before = now - 100 * DAY
    spec.console_cert_not_after = now - 10 * DAY
    return world


def build_no_ssvm_for_store(clock: LabClock, faults: Faults) -> World:
    from cspctl.lab.scenarios import DAY, _pair, _small_world

    world, pod = _small_world("no-ssvm-for-store", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    _cp, ss = _pair_vms(world)
    world.finish_stop(ss)
    ss.disconnected_at = clock.now() - DAY
    world.add_event("SSVM.STOP", f"Stopping {ss.name}", vm=ss, created=clock.now() - DAY)
    world.vm_alert(ss, "down").sent = clock.now() - DAY
    return world


def build_patch_missing(clock: LabClock, faults: Faults) -> World:
    """The CPVM was re-created and stays Starting: its host cannot reach link-local:3922."""
    from cspctl.lab.scenarios import _pair, _small_world

    world, pod = _small_world("patch-missing", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    cp, _ss = _pair_vms(world)
    now = clock.now()
    world.remove(cp)
    new = world.new_system_vm(cp.vm_type, pod, cp.host or world.hosts[1], state="Starting",
                              created=now - 1500, boot_time=now - 1500)
    world.add_event("PROXY.CREATE", f"{new.name} created", vm=new, created=now - 1500)
    world.add_event("PROXY.START", f"Starting {new.name}", vm=new, state="Started",
                    created=now - 1500)
    return world


def build_ssvm_pkix(clock: LabClock, faults: Faults) -> World:
    from cspctl.lab.scenarios import _pair, _small_world

    world, pod = _small_world("ssvm-pkix", clock, faults, version="4.18.1.0")
    _pair(world, pod)
    _cp, ss = _pair_vms(world)
    field_os(world, ss).fail_downloads_pkix(
        "https://download.cloudstack.org/templates/4.18/ubuntu-22.04.qcow2.bz2")
    world.add_event("TEMPLATE.DOWNLOAD.FAILED", "Failed to download template ubuntu-22.04: "
                    "unable to find valid certification path to requested target",
                    level="ERROR", vm=ss, created=clock.now() - 600)
    return world


def build_template_path_mismatch(clock: LabClock, faults: Faults) -> World:
    """After an upgrade the 4.18 template row is Ready, but its file is not where it points."""
    from cspctl.lab.scenarios import _pair, _small_world

    world, pod = _small_world("template-path-mismatch", clock, faults, version="4.18.1.0")
    tpl = world.default_template["consoleproxy"]
    _pair(world, pod)
    cp, ss = _pair_vms(world)
    os_ = field_os(world, ss)
    os_.seed_template(201, "systemvm-kvm-4.16.1", "0f7c4d2a-6a55-4e2b-9a47-2a1c3c7e8a11.qcow2")
    os_.seed_template(202, tpl.name, "5b2e8f0c-1d3a-4c6e-8f9b-7a4d2c1e0b93.qcow2",
                      present=False)
    now = clock.now()
    world.remove(cp)
    world.add_event("PROXY.DESTROY", f"destroying console proxy {cp.name} to upgrade it",
                    vm=cp, created=now - 7200)
    world.add_alert(10, "ALERT.SERVICE.CONSOLEPROXY",
                    f"Console proxy creation failure. zone: {cp.zone.name}, error details: "
                    "Unable to create a deployment for VM", sent=now - 3600)
    return world


def field_scenarios(scenario: type[Scenario]) -> list[Any]:
    """The Scenario entries, most common first (``cspctl lab scenarios`` lists them)."""
    return [
        scenario("host-agent-down", "4.18.1.0: the console of some VMs fails to open "
                 "(\"host info is not found\"); system VMs Running", build_host_agent_down),
        scenario("stale-agentstate", "4.18.1.0: the console proxy shows agent Up, yet consoles "
                 "do not open", build_stale_agentstate),
        scenario("agent-tls", "4.18.1.0: CPVM and SSVM Running, agents Disconnected",
                 build_agent_tls),
        scenario("novnc-broken", "4.18.1.0: after patching, the web console opens blank",
                 build_novnc_broken),
        scenario("ssvm-cert-expired", "4.18.1.0: browser uploads of templates and ISOs fail; "
                 "every agent Up", build_ssvm_cert_expired),
        scenario("no-ssvm-for-store", "4.18.1.0: template and ISO downloads stay at 0%, "
                 "snapshots fail", build_no_ssvm_for_store),
        scenario("patch-missing", "4.18.1.0: a new console proxy has been Starting for "
                 "25 minutes", build_patch_missing),
        scenario("ssvm-pkix", "4.18.1.0: templates registered by HTTPS URL never download; "
                 "every agent Up", build_ssvm_pkix),
        scenario("template-path-mismatch", "4.18.1.0 after an upgrade: the console proxy "
                 "destroyed to pick up the new version never came back",
                 build_template_path_mismatch),
    ]
