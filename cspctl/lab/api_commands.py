"""The API commands the lab answers: listings, settings, and the system VM lifecycle as async
jobs (docs/cloudstack.md §5). Each handler takes (server, command, params) and returns the
response body; errors are :class:`ApiFailure`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from cspctl.lab import api_storage, responses
from cspctl.lab.api_types import ApiFailure, Command
from cspctl.lab.faults import StepFault, failing
from cspctl.lab.world import CPVM, SSVM

if TYPE_CHECKING:
    from cspctl.lab.api import ApiServer


def _kw(params: dict[str, str]) -> str | None:
    kw = params.get("keyword")
    return kw.lower() if kw else None


# ----- command handlers ---------------------------------------------------------------------

def list_zones(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    zid = s.uuid_param(cmd, p, "id", lambda v: any(z.id == v for z in w.zones))
    rows = [z for z in w.zones
            if (zid is None or z.id == zid)
            and (p.get("name") is None or z.name == p["name"])
            and (p.get("networktype") is None or z.networktype.lower()
                 == p["networktype"].lower())
            and (_kw(p) is None or _kw(p) in z.name.lower())]  # type: ignore[operator]
    s.bool_param(cmd, p, "available")
    s.bool_param(cmd, p, "showcapacities")
    return s.listing(cmd, p, rows, "zone", lambda z: responses.zone(w, z))


def list_pods(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    pid = s.uuid_param(cmd, p, "id", lambda v: any(x.id == v for x in w.pods))
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    rows = [x for x in w.pods
            if (pid is None or x.id == pid) and (zid is None or x.zone.id == zid)
            and (p.get("name") is None or x.name == p["name"])
            and (p.get("allocationstate") is None
                 or x.allocationstate.lower() == p["allocationstate"].lower())
            and (_kw(p) is None or _kw(p) in x.name.lower())]  # type: ignore[operator]
    return s.listing(cmd, p, rows, "pod", lambda x: responses.pod(w, x))


def list_system_vms(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    vid = s.uuid_param(cmd, p, "id", lambda v: w.vm_by_id(v) is not None)
    hid = s.uuid_param(cmd, p, "hostid", lambda v: w.host_by_id(v) is not None)
    pid = s.uuid_param(cmd, p, "podid", lambda v: any(x.id == v for x in w.pods))
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    vtype = p.get("systemvmtype")
    if vtype is not None and vtype.lower() not in (CPVM, SSVM):
        vtype = "--none--"
    state = (p.get("state") or "").lower()
    name = p.get("name")
    kw = _kw(p)
    rows = [vm for vm in w.live_vms()
            if (vid is None or vm.id == vid)
            and (hid is None or (vm.host is not None and vm.host.id == hid))
            and (pid is None or vm.pod.id == pid) and (zid is None or vm.zone.id == zid)
            and (vtype is None or vm.vm_type == vtype.lower())
            and (not state or vm.state.lower() == state)
            and (name is None or vm.name == name)
            and (kw is None or kw in vm.name.lower())]
    return s.listing(cmd, p, rows, "systemvm", lambda vm: responses.system_vm(w, vm))


def list_hosts(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    known_ids = lambda v: w.host_by_id(v) is not None or any(  # noqa: E731
        vm.agent_host_id == v for vm in w.live_vms())
    hid = s.uuid_param(cmd, p, "id", known_ids)
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    pid = s.uuid_param(cmd, p, "podid", lambda v: any(x.id == v for x in w.pods))
    cid = s.uuid_param(cmd, p, "clusterid", lambda v: any(c.id == v for c in w.clusters))
    htype = (p.get("type") or "").lower()
    state = (p.get("state") or "").lower()
    name = p.get("name")
    kw = _kw(p)
    rows: list[tuple[str, Any]] = []
    if htype in ("", "routing"):
        for h in w.hosts:
            if (hid is None or h.id == hid) and (zid is None or h.zone.id == zid) \
                    and (pid is None or h.pod.id == pid) \
                    and (cid is None or h.cluster.id == cid) \
                    and (name is None or h.name == name) \
                    and (kw is None or kw in h.name.lower()) \
                    and (not state or h.state.lower() == state) \
                    and (p.get("hypervisor") is None
                         or h.hypervisor.lower() == p["hypervisor"].lower()) \
                    and (p.get("resourcestate") is None
                         or h.resourcestate.lower() == p["resourcestate"].lower()):
                rows.append(("host", h))
    if htype in ("", "consoleproxy", "secondarystoragevm") and cid is None \
            and p.get("hypervisor") is None:
        for vm in w.live_vms():
            if htype and vm.host_type.lower() != htype:
                continue
            if vm.state in ("Destroyed", "Expunging"):
                continue
            if (hid is None or vm.agent_host_id == hid) and (zid is None or vm.zone.id == zid) \
                    and (pid is None or vm.pod.id == pid) \
                    and (name is None or vm.name == name) \
                    and (kw is None or kw in vm.name.lower()) \
                    and (not state or vm.agent_state().lower() == state):
                rows.append(("vm", vm))

    def render(row: tuple[str, Any]) -> dict[str, Any]:
        kind, obj = row
        return responses.routing_host(w, obj) if kind == "host" \
            else responses.agent_host(w, obj)

    return s.listing(cmd, p, rows, "host", render)


def list_configurations(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    name = (p.get("name") or "").lower()
    category = (p.get("category") or "").lower()
    kw = _kw(p)
    rows = [c for c in w.configs.values()
            if (not name or name in c.name.lower())
            and (not category or c.category.lower() == category)
            and (kw is None or kw in c.name.lower())]
    return s.listing(cmd, p, rows, "configuration", lambda c: responses.configuration(w, c))


def update_configuration(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    name = s.required(cmd, p, "name")
    cfg = w.configs.get(name)
    if cfg is None:
        raise ApiFailure(431, f"Config parameter with name {name} doesn't exist", 4350)
    value = p.get("value", "")
    if name == "default.page.size":
        try:
            if int(value) < -1 or int(value) == 0:
                raise ValueError
        except ValueError:
            raise ApiFailure(431, f"Please enter a valid value for the parameter {name}",
                             4350) from None
    if failing(w.faults, StepFault.UPDATE_CONFIG):
        raise ApiFailure(530, f"Failed to update configuration value of {name}: database "
                              "update failed", 9999)
    cfg.value = value
    w.add_event("CONFIGURATION.VALUE.EDIT", f"Successfully edited configuration value: {name}")
    return {"configuration": responses.configuration(w, cfg)}


def list_capabilities(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    return {"capability": responses.capabilities(s.world)}


def list_management_servers(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    mid = s.uuid_param(cmd, p, "id", lambda v: v == w.mgmt.id)
    rows = [w.mgmt] if (mid in (None, w.mgmt.id)
                        and p.get("name") in (None, w.mgmt.name)) else []
    return s.listing(cmd, p, rows, "managementserver",
                     lambda _m: responses.management_server(w))


def list_alerts(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    aid = s.uuid_param(cmd, p, "id", lambda v: any(a.id == v for a in w.alerts))
    atype = s.int_param(cmd, p, "type")
    kw = _kw(p)
    rows = [a for a in reversed(w.alerts)
            if (aid is None or a.id == aid) and (atype is None or a.type == atype)
            and (p.get("name") is None or a.name == p["name"])
            and (kw is None or kw in a.description.lower())]
    return s.listing(cmd, p, rows, "alert", lambda a: responses.alert(w, a))


def _date_param(s: ApiServer, cmd: str, p: dict[str, str], name: str, *,
                end: bool = False) -> float | None:
    """``yyyy-MM-dd`` or ``yyyy-MM-dd HH:mm:ss`` in the server's zone (listEvents)."""
    value = p.get(name)
    if value is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt).replace(tzinfo=s.world.clock.tz)
        except ValueError:
            continue
        bump = 86400 if end and fmt == "%Y-%m-%d" else 0
        return parsed.timestamp() + bump
    raise s.invalid(cmd, name, value)


def list_events(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    eid = s.uuid_param(cmd, p, "id", lambda v: any(e.id == v for e in w.events))
    etype = p.get("type")
    level = (p.get("level") or "").upper()
    kw = _kw(p)
    s.bool_param(cmd, p, "listall")
    start = _date_param(s, cmd, p, "startdate")
    end = _date_param(s, cmd, p, "enddate", end=True)
    rows = [e for e in reversed(w.events)
            if (eid is None or e.id == eid) and (etype is None or e.type == etype)
            and (not level or e.level == level)
            and (start is None or e.created >= start) and (end is None or e.created < end)
            and (kw is None or kw in e.description.lower() or kw in e.type.lower())]
    return s.listing(cmd, p, rows, "event", lambda e: responses.event(w, e))


def query_async_job_result(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    jobid = s.required(cmd, p, "jobid")
    job = s.jobs.get(jobid)
    if job is None:
        raise s.no_entity(cmd, "jobid", jobid)
    return s.jobs.render(job)


def start_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    return s.async_submit(cmd, lambda: s.actions.start(vm), vm)


def stop_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    s.bool_param(cmd, p, "forced")
    return s.async_submit(cmd, lambda: s.actions.stop(vm), vm)


def reboot_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    forced = s.bool_param(cmd, p, "forced")
    if forced and not s.world.at_least("4.16"):
        pass  # parameter unknown before 4.16: ignored, as CloudStack ignores unknown params
    return s.async_submit(cmd, lambda: s.actions.reboot(vm), vm)


def destroy_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    return s.async_submit(cmd, lambda: s.actions.destroy(vm), vm)


def migrate_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    vm = s.vm_param(cmd, p, "virtualmachineid")
    hid = s.uuid_param(cmd, p, "hostid", lambda v: w.host_by_id(v) is not None)
    if hid is None:
        if not s.bool_param(cmd, p, "autoselect") and not w.at_least("4.16"):
            raise s.missing(cmd, "hostid")
        if vm.host is None:
            raise ApiFailure(431, f"Unable to find suitable destination to migrate VM {vm.name}",
                             4350)
        dest = w.pick_host(vm.pod, avoid=vm.host)
    else:
        dest = w.host_by_id(hid)  # type: ignore[assignment]
        assert dest is not None
    if vm.state != "Running":
        raise ApiFailure(431, f"VM is not Running, unable to migrate the vm {vm.name}", 4350)
    if dest is vm.host:
        raise ApiFailure(431, f"Cannot migrate VM, destination host is same as current host: "
                              f"{dest.name}", 4350)
    return s.async_submit(cmd, lambda: s.actions.migrate(vm, dest), vm)


def run_diagnostics(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "targetid")
    address = s.required(cmd, p, "ipaddress")
    type_ = s.required(cmd, p, "type").lower()
    if type_ not in ("ping", "traceroute", "arping"):
        raise s.invalid(cmd, "type", p["type"])
    extra = p.get("params")
    return s.async_submit(cmd, lambda: s.actions.diagnostics(vm, type_, address, extra), vm)


def get_diagnostics_data(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "targetid")
    return s.async_submit(cmd, lambda: s.actions.diagnostics_data(vm), vm)


def provision_certificate(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    hid = s.uuid_param(cmd, p, "hostid", lambda v: w.host_by_id(v) is not None or any(
        vm.agent_host_id == v for vm in w.live_vms()), required=True)
    vm = next((v for v in w.live_vms() if v.agent_host_id == hid), None)
    if vm is None:  # a hypervisor host: nothing to model beyond a quick success
        async def done() -> dict[str, Any]:
            await w.clock.sleep(2.0)
            return {"success": True}
        return s.async_submit(cmd, done, None, instance_type="Host", instance_id=hid)
    return s.async_submit(cmd, lambda: s.actions.provision_certificate(vm), vm)


def patch_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    forced = bool(s.bool_param(cmd, p, "forced"))
    return s.async_submit(cmd, lambda: s.actions.patch(vm, forced), vm)


COMMANDS: dict[str, Command] = {
    "listZones": Command(list_zones),
    "listPods": Command(list_pods),
    "listSystemVms": Command(list_system_vms),
    "listHosts": Command(list_hosts),
    "listConfigurations": Command(list_configurations),
    "updateConfiguration": Command(update_configuration),
    "listCapabilities": Command(list_capabilities),
    "listManagementServers": Command(list_management_servers),
    "listAlerts": Command(list_alerts),
    "listEvents": Command(list_events),
    "queryAsyncJobResult": Command(query_async_job_result),
    "startSystemVm": Command(start_system_vm, is_async=True),
    "stopSystemVm": Command(stop_system_vm, is_async=True),
    "rebootSystemVm": Command(reboot_system_vm, is_async=True),
    "destroySystemVm": Command(destroy_system_vm, is_async=True),
    "migrateSystemVm": Command(migrate_system_vm, is_async=True),
    "runDiagnostics": Command(run_diagnostics, since="4.12", is_async=True),
    "getDiagnosticsData": Command(get_diagnostics_data, since="4.14", is_async=True),
    "provisionCertificate": Command(provision_certificate, since="4.11", is_async=True),
    "patchSystemVm": Command(patch_system_vm, since="4.17", is_async=True),
    "logout": Command(lambda s, c, p: {}),
    # secondary storage (field scenario no-ssvm-for-store)
    "listImageStores": Command(api_storage.list_image_stores, since="4.2"),
    "listTemplates": Command(api_storage.list_templates),
}
"""The API commands the lab answers, by name (with the version they appeared in)."""
