"""The world's records as machines: a system VM's or host's OS model (cspctl/lab/vmos) built
from what the world knows about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cspctl.lab.vmos import HostOS, HostSpec, SimOS, SystemVmOS, VmSpec

if TYPE_CHECKING:
    from cspctl.lab.records import LabHost, LabSystemVm


def vm_spec(vm: LabSystemVm) -> VmSpec:
    """Everything the VM's OS model is built from."""
    world = vm.world
    return VmSpec(
        name=vm.name, vm_type=vm.vm_type, era=vm.template.era,
        cloudstack_version=vm.template.version, cmdline=vm.cmdline,
        timezone=vm.timezone, clock_offset=vm.clock_offset,
        mgmt_host=world.mgmt.ip, mgmt_port=8250,
        linklocal_ip=vm.linklocalip, private_ip=vm.privateip,
        public_ip=vm.publicip, netmask=vm.pod.netmask, gateway=vm.gateway,
        private_gateway=vm.pod.gateway, dns1=vm.zone.dns1,
        internal_dns1=vm.zone.internaldns1, vm_id=vm.number,
        zone_id=vm.zone.dbid, pod_id=vm.pod.dbid,
        secondary_storage_url=vm.zone.nfs_url,
        premium=vm.is_cpvm and world.config_value("consoleproxy.sslEnabled") == "true",
        faults=frozenset(vm.faults),
    )


def make_vm_os(vm: LabSystemVm) -> SystemVmOS:
    """A SystemVmOS for ``vm``; not booted yet."""
    machine = SystemVmOS(vm_spec(vm), vm.world.clock)
    machine.lab_faults = vm.world.faults
    return machine


def make_host_os(host: LabHost) -> HostOS:
    """A HostOS for ``host`` that can reach the running VMs on it over link-local."""
    world = host.world
    spec = HostSpec(hostname=host.name, ip=host.ipaddress, timezone=host.timezone,
                    clock_offset=host.clock_offset)

    def vms() -> list[tuple[str, SimOS]]:
        return [(vm.linklocalip, vm.os) for vm in world.system_vms
                if vm.host is host and not vm.removed and vm.state == "Running"]

    machine = HostOS(spec, world.clock, vms)
    machine.lab_faults = world.faults
    return machine
