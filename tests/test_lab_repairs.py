"""The lab acts like the real thing under repairs: time zone tools, step faults, patching,
viewer sessions, and a state snapshot that sees every change."""

from __future__ import annotations

import pytest

from cspctl.cloudstack.errors import JobFailed
from cspctl.lab import Faults, Lab
from cspctl.lab.snapshot import state
from cspctl.lab.vmos import VmFault
from cspctl.session import Session
from tests.test_lab_vm import cpvm, run


def test_time_zone_tools_on_4_8_and_4_11() -> None:
    old = cpvm()
    assert run(old, "readlink /etc/localtime") == "/usr/share/zoneinfo/Etc/UTC\n"
    assert old.execute("timedatectl").status == 127  # no systemd on Debian 7
    done = old.execute("echo Asia/Tokyo > /etc/timezone && "
                       "dpkg-reconfigure -f noninteractive tzdata")
    assert done.status == 0 and "Current default time zone: 'Asia/Tokyo'" in done.stdout
    assert run(old, "date +%Z") == "JST\n"
    assert run(old, "readlink /etc/localtime") == "/usr/share/zoneinfo/Asia/Tokyo\n"
    new = cpvm(era="systemd", version="4.18.1.0")
    assert new.execute("timedatectl set-timezone Not/AZone").status == 1
    assert new.execute("timedatectl set-timezone Europe/Paris").status == 0
    assert "Time zone: Europe/Paris (CE" in run(new, "timedatectl")
    assert run(new, "cat /etc/timezone") == "Europe/Paris\n"
    new.shutdown()
    new.boot()
    assert run(new, "cat /etc/timezone") == "Europe/Paris\n"  # on disk: survives a reboot


def test_named_step_faults_make_the_commands_fail() -> None:
    vm = cpvm(VmFault.EARLY_CONFIG_RERUN)
    vm.lab_faults = Faults(fail_steps="chattr,cloud-start,early-config")
    res = vm.execute("chattr +i /usr/local/cloud/systemvm/js")
    assert res.status == 1 and "Operation not permitted" in res.stderr
    assert not vm.fs.lookup("/usr/local/cloud/systemvm/js").immutable
    vm.execute("pkill java")
    start = vm.execute("service cloud start")
    assert start.status == 1 and "Failed" in start.stdout and vm.java_proc is None
    assert vm.execute("/etc/init.d/cloud-early-config start").status == 1
    unit = cpvm(era="systemd", version="4.18.1.0")
    unit.lab_faults = Faults(fail_steps="cloud-start")
    assert unit.execute("systemctl restart cloud").status == 1


async def test_patch_viewer_sessions_and_the_snapshot() -> None:
    async with Lab("template-mismatch", time_scale=0.01) as lab:
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None
        cp.viewer_sessions = 3
        async with Session.open(profile=lab.profile()) as session:
            vm = (await session.api.list_system_vms(name="v-2-VM"))[0]
            assert vm.activeviewersessions == 3 and vm.version == "4.16.1.0"
            before = state(lab.world)
            assert state(lab.world) == before  # looking changes nothing
            await session.api.run_job("patchSystemVm", id=vm.id, deadline=10)
            after = state(lab.world)
            vm = (await session.api.list_system_vms(name="v-2-VM"))[0]
            assert vm.version == "4.18.1.0" and vm.agentstate == "Up"
            assert after != before
            assert after["vms"][vm.id]["os"]["procs"] != before["vms"][vm.id]["os"]["procs"]
            with pytest.raises(JobFailed, match="already using the latest scripts"):
                await session.api.run_job("patchSystemVm", id=vm.id, deadline=10)
            await session.api.run_job("patchSystemVm", id=vm.id, forced=True, deadline=10)


async def test_reboot_job_fault_leaves_the_vm_stopped() -> None:
    faults = Faults(fail_steps="reboot-job")
    async with Lab("healthy", time_scale=0.01, faults=faults) as lab, \
            Session.open(profile=lab.profile()) as session:
        vm = (await session.api.list_system_vms(name="v-2-VM"))[0]
        assert vm.id is not None
        with pytest.raises(JobFailed, match="Failed to reboot"):
            await session.api.reboot_system_vm(vm.id, deadline=10)
        vm = (await session.api.list_system_vms(name="v-2-VM"))[0]
        assert vm.state == "Stopped"
