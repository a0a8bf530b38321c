"""API objects as the management server serialises them: field names, order (the response
class's declaration order) and era differences (docs/cloudstack.md §1.2, §5; fixtures). Null
fields are left out, as Gson does.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from cspctl.lab.world import (
    AGENT_UP,
    LabAlert,
    LabConfig,
    LabEvent,
    LabHost,
    LabPod,
    LabSystemVm,
    LabZone,
    World,
)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def lastpinged(world: World, ts: float) -> str:
    """CloudStack stores ``lastPinged`` as ms >> 10 and prints it as a Date: 1970-01-2x."""
    return world.clock.api_date((int(ts * 1000) >> 10) / 1000.0)


def _msid(world: World) -> Any:
    # Long before 4.14 (a number), the management server's UUID afterwards (fixtures).
    return world.mgmt.id if world.at_least("4.14") else world.mgmt.msid


def zone(world: World, z: LabZone) -> dict[str, Any]:
    d = {
        "id": z.id, "name": z.name, "dns1": z.dns1, "dns2": z.dns2,
        "internaldns1": z.internaldns1, "internaldns2": z.internaldns2,
        "networktype": z.networktype, "securitygroupsenabled": False,
        "allocationstate": z.allocationstate, "zonetoken": z.zonetoken,
        "dhcpprovider": "VirtualRouter", "localstorageenabled": False,
    }
    if world.at_least("4.18"):
        d["type"] = "Core"
    return _clean(d)


def pod(world: World, p: LabPod) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "zoneid": p.zone.id, "zonename": p.zone.name,
            "gateway": p.gateway, "netmask": p.netmask, "startip": p.startip,
            "endip": p.endip, "allocationstate": p.allocationstate}


def system_vm(world: World, vm: LabSystemVm) -> dict[str, Any]:
    """SystemVmResponse; ``agentstate``/``version``/``disconnected`` only on 4.13.1+."""
    host = vm.host
    d: dict[str, Any] = {
        "id": vm.id, "systemvmtype": vm.vm_type,
        "jobid": vm.job_id, "jobstatus": 0 if vm.job_id else None,
        "zoneid": vm.zone.id, "zonename": vm.zone.name,
        "dns1": vm.zone.dns1, "dns2": vm.zone.dns2,
        "gateway": vm.gateway, "name": vm.name,
        "podid": vm.pod.id, "podname": vm.pod.name,
        "hostid": host.id if host else None, "hostname": host.name if host else None,
        "hypervisor": "KVM" if (host or vm.last_host) else None,
        "privateip": vm.privateip, "privatemacaddress": vm.privatemac,
        "privatenetmask": vm.pod.netmask,
        "linklocalip": vm.linklocalip, "linklocalmacaddress": vm.linklocalmac,
        "linklocalnetmask": "255.255.0.0",
        "publicip": vm.publicip, "publicmacaddress": vm.publicmac,
        "publicnetmask": "255.255.255.0",
        "templateid": vm.template.id,
        "templatename": vm.template.name if world.at_least("4.15") else None,
        "created": world.clock.api_date(vm.created), "state": vm.state,
    }
    new = world.at_least("4.13.1")
    if new:
        d["agentstate"] = vm.agent_state() if vm.state not in ("Destroyed", "Expunging") \
            else "Removed"
    if vm.is_cpvm:
        d["activeviewersessions"] = vm.viewer_sessions if vm.state == "Running" else 0
    if new:
        if vm.disconnected_at:
            d["disconnected"] = world.clock.api_date(vm.disconnected_at)
        d["version"] = vm.version
    return _clean(d)


def routing_host(world: World, h: LabHost) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": h.id, "name": h.name, "state": h.state, "type": "Routing",
        "ipaddress": h.ipaddress, "zoneid": h.zone.id, "zonename": h.zone.name,
        "podid": h.pod.id, "podname": h.pod.name, "version": world.version,
        "hypervisor": h.hypervisor, "cpusockets": 2, "cpunumber": 32, "cpuspeed": 2400,
        "cpuallocated": "12.5%", "cpuused": "4.2%", "cpuwithoverprovisioning": "76800",
        "networkkbsread": 1835, "networkkbswrite": 913,
        "memorytotal": 270375899136, "memoryallocated": 4294967296,
        "memoryused": 31457280000, "capabilities": "hvm,snapshot",
        "lastpinged": lastpinged(world, world.clock.now()),
        "managementserverid": _msid(world),
        "clusterid": h.cluster.id, "clustername": h.cluster.name,
        "clustertype": "CloudManaged", "islocalstorageactive": False,
        "created": world.clock.api_date(h.created),
        "events": "PrepareUnmanaged; HypervisorVersionChanged; ManagementServerDown; "
                  "PingTimeout; AgentDisconnected; MaintenanceRequested; HostDown; "
                  "AgentConnected; StartAgentRebalance; ShutdownRequested; Ping",
        "hosttags": "", "hasenoughcapacity": False, "resourcestate": h.resourcestate,
        "hypervisorversion": h.hypervisorversion,
    }
    return d


def agent_host(world: World, vm: LabSystemVm) -> dict[str, Any]:
    """The system VM's own host record (type ConsoleProxy / SecondaryStorageVM)."""
    state = vm.agent_state()
    d: dict[str, Any] = {
        "id": vm.agent_host_id, "name": vm.name, "state": state,
        "disconnected": world.clock.api_date(vm.disconnected_at)
        if vm.disconnected_at else None,
        "type": vm.host_type, "ipaddress": vm.privateip,
        "zoneid": vm.zone.id, "zonename": vm.zone.name,
        "podid": vm.pod.id, "podname": vm.pod.name, "version": vm.version,
        "lastpinged": lastpinged(world, vm.last_pinged),
        "managementserverid": _msid(world) if state == AGENT_UP else None,
        "islocalstorageactive": False,
        "created": world.clock.api_date(vm.created),
        "events": "PrepareUnmanaged; HypervisorVersionChanged; ManagementServerDown; "
                  "PingTimeout; AgentDisconnected; MaintenanceRequested; HostDown; "
                  "AgentConnected; StartAgentRebalance; ShutdownRequested; Ping",
        "hasenoughcapacity": False, "resourcestate": "Enabled",
    }
    return _clean(d)


def configuration(world: World, c: LabConfig) -> dict[str, Any]:
    d: dict[str, Any] = {"category": c.category, "name": c.name, "value": c.value,
                         "description": c.description}
    if world.at_least("4.4"):
        d["isdynamic"] = c.isdynamic
    if world.at_least("4.18"):
        d["component"] = c.component
        d["group"] = "Miscellaneous"
        d["subgroup"] = "Others"
        d["defaultvalue"] = c.defaultvalue
        d["displaytext"] = " ".join(w.capitalize() for w in c.name.split("."))
        d["type"] = "Boolean" if c.value in ("true", "false") else "String"
    return d


def capabilities(world: World) -> dict[str, Any]:
    d: dict[str, Any] = {
        "securitygroupsenabled": False,
        "dynamicrolesenabled": world.at_least("4.9"),
        "cloudstackversion": world.version,
        "userpublictemplateenabled": True, "supportELB": "false",
        "projectinviterequired": False, "allowusercreateprojects": True,
        "customdiskofferingminsize": 1, "customdiskofferingmaxsize": 1024,
        "regionsecondaryenabled": False, "kvmsnapshotenabled": False,
        "allowuserviewdestroyedvm": False, "allowuserexpungerecovervm": False,
    }
    if not world.at_least("4.9"):
        del d["dynamicrolesenabled"]
    if world.at_least("4.15"):
        d["defaultuipagesize"] = 20
    return d


def management_server(world: World) -> dict[str, Any]:
    m = world.mgmt
    d: dict[str, Any] = {"id": m.id, "name": m.name, "state": m.state, "version": m.version}
    if world.at_least("4.17"):
        d.update({"javadistribution": "Ubuntu", "javaversion": "11.0.20.1",
                  "osdistribution": "Ubuntu 22.04.3 LTS", "lastserverstart":
                  world.clock.api_date(m.started), "lastboot": world.clock.api_date(
                      m.started - 60), "kernelversion": "5.15.0-91-generic",
                  "serviceip": m.ip})
    if world.at_least("4.19"):
        d["ipaddress"] = m.ip
    return d


def alert(world: World, a: LabAlert) -> dict[str, Any]:
    d: dict[str, Any] = {"id": a.id, "type": a.type, "name": a.name,
                         "description": a.description, "sent": world.clock.api_date(a.sent)}
    return d


def event(world: World, e: LabEvent) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": e.id, "username": "admin", "type": e.type, "level": e.level,
        "description": e.description, "account": "admin", "domainid": world.domain_id,
        "domain": "ROOT", "created": world.clock.api_date(e.created), "state": e.state,
        "parentid": e.parentid,
    }
    if world.at_least("4.17") and e.resource_id:
        d.update({"resourceid": e.resource_id, "resourcetype": e.resource_type,
                  "resourcename": e.resource_name})
    return _clean(d)


# ----- XML rendering (response != json) -------------------------------------------------------

def _xml_value(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_xml_value(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        return "".join(_xml_value(name, v) for v in value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def to_xml(key: str, body: dict[str, Any], version: str) -> str:
    inner = "".join(_xml_value(k, v) for k, v in body.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?><{key} cloud-stack-version="{version}">'
            f"{inner}</{key}>")
