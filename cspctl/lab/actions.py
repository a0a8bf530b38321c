"""What the lab's async commands do to the world, step by step, over simulated time.

Durations are what a real KVM cloud takes (scaled by the clock's ``time_scale`` and the
``job_slowdown`` fault): stop ~10 s, start ~25 s, reboot ~30 s, destroy ~15 s with the
replacement VM Running ~60 s after the call, migrate ~15 s.
"""

from __future__ import annotations

import zlib
from typing import Any

from cspctl.lab import responses
from cspctl.lab.faults import StepFault, failing
from cspctl.lab.jobs import JobFailure, JobManager
from cspctl.lab.vmos.spec import VmFault
from cspctl.lab.world import LabHost, LabSystemVm, World

STOP_SECONDS = 10.0
START_SECONDS = 25.0
REBOOT_SECONDS = 30.0
DESTROY_SECONDS = 15.0
EXPUNGE_SECONDS = 10.0
RECREATE_SECONDS = 35.0
MIGRATE_SECONDS = 15.0
DIAGNOSTICS_SECONDS = 4.0
DIAGNOSTICS_DATA_SECONDS = 8.0
CERTIFICATE_SECONDS = 6.0
PATCH_SECONDS = 20.0

VERBS = {
    "START": "starting system vm", "STOP": "stopping system vm",
    "REBOOT": "rebooting system vm", "DESTROY": "destroying system vm",
    "PATCH": "patching system vm",
}


async def _wait(world: World, seconds: float) -> None:
    await world.clock.sleep(seconds * world.faults.job_slowdown)


def _events(world: World, vm: LabSystemVm, action: str) -> tuple[str, str]:
    """Record the Scheduled event; return (event type, description) for the later ones."""
    etype = f"{world.event_prefix(vm)}.{action}"
    text = f"{VERBS.get(action, action.lower())}: {vm.id}"
    return etype, text


def _vm_result(world: World, vm: LabSystemVm) -> dict[str, Any]:
    return {"systemvm": responses.system_vm(world, vm)}


class Actions:
    """Job bodies for the lifecycle commands; each is submitted through a JobManager."""

    def __init__(self, world: World, jobs: JobManager) -> None:
        self.world = world
        self.jobs = jobs

    def _scheduled(self, vm: LabSystemVm, action: str) -> tuple[str, str, str]:
        etype, text = _events(self.world, vm, action)
        ev = self.world.add_event(etype, text, state="Scheduled", vm=vm)
        return etype, text, ev.id

    async def stop(self, vm: LabSystemVm) -> dict[str, Any]:
        w = self.world
        etype, text, parent = self._scheduled(vm, "STOP")
        if vm.state == "Stopped":
            return _vm_result(w, vm)
        w.add_event(etype, text, state="Started", vm=vm, parentid=parent)
        w.begin_stop(vm)
        await _wait(w, STOP_SECONDS)
        w.finish_stop(vm)
        w.add_event(etype, f"Successfully completed {text}", vm=vm, parentid=parent)
        return _vm_result(w, vm)

    async def start(self, vm: LabSystemVm) -> dict[str, Any]:
        w = self.world
        etype, text, parent = self._scheduled(vm, "START")
        if vm.state == "Running":
            return _vm_result(w, vm)
        if vm.state != "Stopped":
            raise JobFailure(f"Unable to start {vm.name}: it is in {vm.state} state")
        w.add_event(etype, text, state="Started", vm=vm, parentid=parent)
        w.begin_start(vm)
        await _wait(w, START_SECONDS)
        w.finish_start(vm)
        w.vm_alert(vm, "up")
        w.add_event(etype, f"Successfully completed {text}", vm=vm, parentid=parent)
        return _vm_result(w, vm)

    async def reboot(self, vm: LabSystemVm) -> dict[str, Any]:
        w = self.world
        etype, text, parent = self._scheduled(vm, "REBOOT")
        if vm.state != "Running":
            raise JobFailure(f"Unable to reboot {vm.name}: it is not in Running state "
                             f"(state: {vm.state})")
        w.add_event(etype, text, state="Started", vm=vm, parentid=parent)
        w.begin_reboot(vm)
        await _wait(w, REBOOT_SECONDS)
        # the guest stays down, as a failed reboot leaves it
        if failing(w.faults, StepFault.REBOOT_JOB):
            w.finish_stop(vm)
            w.add_event(etype, f"Error while {text}", level="ERROR", vm=vm, parentid=parent)
            raise JobFailure(f"Failed to reboot system vm {vm.name}: unable to start the VM "
                             "on its host (libvirt: domain did not come up)")
        w.finish_reboot(vm)
        w.vm_alert(vm, "rebooted")
        w.add_event(etype, f"Successfully completed {text}", vm=vm, parentid=parent)
        return _vm_result(w, vm)

    async def destroy(self, vm: LabSystemVm) -> dict[str, Any]:
        """The job ends when the VM is Destroyed; expunge and re-creation follow on their own."""
        w = self.world
        etype, text, parent = self._scheduled(vm, "DESTROY")
        w.add_event(etype, text, state="Started", vm=vm, parentid=parent)
        if failing(w.faults, StepFault.DESTROY_JOB):
            await _wait(w, 2.0)
            raise JobFailure(f"Failed to destroy system vm {vm.name}: unable to stop it on its "
                             "host")
        w.begin_destroy(vm)
        await _wait(w, DESTROY_SECONDS)
        w.finish_destroy(vm)
        w.add_event(etype, f"Successfully completed {text}", vm=vm, parentid=parent)
        result = _vm_result(w, vm)
        self.jobs.spawn(self._expunge_and_recreate(vm))
        return result

    async def _expunge_and_recreate(self, old: LabSystemVm) -> None:
        w = self.world
        await _wait(w, 1.0)
        w.expunge(old)
        await _wait(w, EXPUNGE_SECONDS)
        w.remove(old)
        new = w.recreate(old)
        prefix = w.event_prefix(new)
        w.add_event(f"{prefix}.CREATE", f"{new.name} created", vm=new)
        w.add_event(f"{prefix}.START", f"starting system vm: {new.id}", state="Started",
                    vm=new)
        await _wait(w, RECREATE_SECONDS)
        w.finish_start(new)
        w.vm_alert(new, "up")
        w.add_event(f"{prefix}.START", f"Successfully completed starting system vm: {new.id}",
                    vm=new)

    async def migrate(self, vm: LabSystemVm, dest: LabHost) -> dict[str, Any]:
        w = self.world
        ev = w.add_event("VM.MIGRATE", f"Attempting to migrate VM Id: {vm.id} to host Id: "
                         f"{dest.id}", state="Scheduled", vm=vm)
        if vm.state != "Running":
            raise JobFailure(f"Unable to migrate {vm.name}: it is not Running")
        w.begin_migrate(vm)
        await _wait(w, MIGRATE_SECONDS)
        w.finish_migrate(vm, dest)
        w.add_event("VM.MIGRATE", f"Successfully completed migrating VM Id: {vm.id} to host "
                    f"Id: {dest.id}", vm=vm, parentid=ev.id)
        return _vm_result(w, vm)

    async def diagnostics(self, vm: LabSystemVm, type_: str, address: str,
                          extra: str | None) -> dict[str, Any]:
        w = self.world
        w.add_event(f"{w.event_prefix(vm)}.DIAGNOSTICS", f"running diagnostics on system vm: "
                    f"{vm.id}", state="Scheduled", vm=vm)
        await _wait(w, DIAGNOSTICS_SECONDS)
        if vm.state != "Running":
            raise JobFailure(f"Failed to execute diagnostics command for VM: {vm.name}, "
                             f"VM is not running")
        stdout, stderr, code = run_network_tool(vm, type_, address, extra)
        return {"diagnostics": {"stdout": stdout, "stderr": stderr, "exitcode": str(code)}}

    async def diagnostics_data(self, vm: LabSystemVm) -> dict[str, Any]:
        w = self.world
        await _wait(w, DIAGNOSTICS_DATA_SECONDS)
        if vm.state != "Running":
            raise JobFailure(f"Failed to retrieve diagnostics files from VM: {vm.name}")
        ssvm = next((v for v in w.live_vms() if not v.is_cpvm and v.zone is vm.zone), vm)
        stamp = int(w.clock.now())
        return {"diagnostics": {"url": f"http://{ssvm.publicip}/diagnosticsdata/"
                                       f"{vm.name}_{stamp}.zip"}}

    async def provision_certificate(self, vm: LabSystemVm) -> dict[str, Any]:
        """Issue a fresh agent certificate: clears an expired-certificate fault for good."""
        w = self.world
        await _wait(w, CERTIFICATE_SECONDS)
        if failing(w.faults, StepFault.CERT_JOB):
            raise JobFailure(f"Failed to provision certificate for host {vm.name}: the agent "
                             "did not answer the SetupKeyStoreCommand")
        if vm.state != "Running":
            raise JobFailure(f"Failed to provision certificate for host {vm.name}: "
                             f"the VM is not running")
        vm.faults = vm.faults - {VmFault.CERT_EXPIRED}
        if vm.os_created:
            vm.os.renew_certificate()
        vm.agent_state()
        return {"success": True}


    async def patch(self, vm: LabSystemVm, forced: bool) -> dict[str, Any]:
        """patchSystemVm (4.17+): copy the current scripts and agent, restart the agent."""
        w = self.world
        etype, text, parent = self._scheduled(vm, "PATCH")
        if vm.state != "Running":
            raise JobFailure(f"Unable to patch {vm.name}: it is not Running")
        if vm.version == w.version and not forced and VmFault.AGENT_OLD not in vm.faults:
            raise JobFailure(f"{vm.name} is already using the latest scripts; use forced=true "
                             "to patch it anyway")
        await _wait(w, PATCH_SECONDS)
        if failing(w.faults, StepFault.PATCH_JOB):
            raise JobFailure(f"Failed to patch system VM {vm.name}: scp of the patch files "
                             "failed")
        vm.faults = vm.faults - {VmFault.AGENT_OLD}
        vm.agent_version = w.version
        if vm.os_created:
            vm.os.set_fault(VmFault.AGENT_OLD, False)
            vm.os.cloud_stop()
            vm.os.cloud_start()
        vm.agent_state()
        w.add_event(etype, f"Successfully completed {text}", vm=vm, parentid=parent)
        return {"success": True}


# ----- runDiagnostics tools (iputils ping, traceroute, arping), answered from the world -------

def _reachable(vm: LabSystemVm, address: str) -> bool:
    """Whether ICMP/ARP from the VM reaches ``address``: what the VM model can ping
    (``ping_ok``), and the other running system VMs."""
    others = {v.privateip for v in vm.world.live_vms() if v.state == "Running"}
    return vm.os.ping_ok(address) or address in others


def _rtt(vm: LabSystemVm, i: int) -> float:
    return 0.3 + (zlib.crc32(f"{vm.id}/{i}".encode()) % 400) / 1000.0


def run_network_tool(vm: LabSystemVm, type_: str, address: str,
                     extra: str | None) -> tuple[str, str, int]:
    """Output of ``ping``/``traceroute``/``arping`` run inside the system VM."""
    ok = _reachable(vm, address)
    if type_ == "ping":
        count = 5
        if extra:
            parts = extra.split()
            if "-c" in parts and parts.index("-c") + 1 < len(parts) \
                    and parts[parts.index("-c") + 1].isdigit():
                count = max(1, min(20, int(parts[parts.index("-c") + 1])))
        lines = [f"PING {address} ({address}) 56(84) bytes of data."]
        if ok:
            rtts = [_rtt(vm, i) for i in range(count)]
            lines += [f"64 bytes from {address}: icmp_seq={i + 1} ttl=64 time={r:.3f} ms"
                      for i, r in enumerate(rtts)]
            avg = sum(rtts) / len(rtts)
            mdev = (sum((r - avg) ** 2 for r in rtts) / len(rtts)) ** 0.5
            lines += ["", f"--- {address} ping statistics ---",
                      f"{count} packets transmitted, {count} received, 0% packet loss, "
                      f"time {(count - 1) * 1001}ms",
                      f"rtt min/avg/max/mdev = {min(rtts):.3f}/{avg:.3f}/{max(rtts):.3f}/"
                      f"{mdev:.3f} ms"]
            return "\n".join(lines) + "\n", "", 0
        lines += ["", f"--- {address} ping statistics ---",
                  f"{count} packets transmitted, 0 received, 100% packet loss, "
                  f"time {(count - 1) * 1000 + 99}ms", ""]
        return "\n".join(lines), "", 1
    if type_ == "traceroute":
        head = f"traceroute to {address} ({address}), 30 hops max, 60 byte packets"
        if ok:
            r = [_rtt(vm, i) for i in range(3)]
            return (f"{head}\n 1  {address} ({address})  {r[0]:.3f} ms  {r[1]:.3f} ms  "
                    f"{r[2]:.3f} ms\n", "", 0)
        hops = [f" {n}  * * *" for n in range(1, 31)]
        return head + "\n" + "\n".join(hops) + "\n", "", 0
    # arping: only meaningful on the VM's own L2 segments
    local = address.rsplit(".", 1)[0] in {vm.privateip.rsplit(".", 1)[0],
                                          vm.publicip.rsplit(".", 1)[0],
                                          vm.linklocalip.rsplit(".", 2)[0] + ".0"}
    iface = "eth1" if address.startswith(vm.privateip.rsplit(".", 1)[0]) else "eth2"
    src = vm.privateip if iface == "eth1" else vm.publicip
    lines = [f"ARPING {address} from {src} {iface}"]
    if ok and local:
        octets = [zlib.crc32(f"{address}/{i}".encode()) % 256 for i in range(3)]
        mac = "52:54:00:" + ":".join(f"{o:02X}" for o in octets)
        lines += [f"Unicast reply from {address} [{mac}]  {_rtt(vm, i):.3f}ms"
                  for i in range(5)]
        lines += ["Sent 5 probes (1 broadcast(s))", "Received 5 response(s)"]
        return "\n".join(lines) + "\n", "", 0
    lines += ["Sent 5 probes (5 broadcast(s))", "Received 0 response(s)"]
    return "\n".join(lines) + "\n", "", 1
