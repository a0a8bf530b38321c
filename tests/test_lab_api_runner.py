"""The Lab runner: profile, keys, known_hosts, trusted VM host keys, SSH wiring, and the
seed incident end to end through the API (the agent state comes from the VM model)."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncssh
import httpx
from test_lab_api import ok, signed, wait_job

from cspctl.lab import Lab
from cspctl.ssh.hostkeys import HostKeyStore

SCALE = 0.005


async def test_profile_keys_and_known_hosts() -> None:
    async with Lab("seed", time_scale=SCALE) as lab:
        prof = lab.profile()
        assert prof.name == "lab" and prof.is_lab and prof.url == lab.url
        assert prof.apikey == lab.apikey and prof.secretkey == lab.secretkey
        assert prof.host_key_policy == "ask"
        assert prof.ssh_port == lab.ssh_port > 0 and prof.ssh_user == "root"
        key = Path(prof.ssh_key)
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        asyncssh.read_private_key(str(key))
        lines = Path(prof.known_hosts).read_text().splitlines()
        vms = lab.world.live_vms()
        assert sorted(line.split()[0] for line in lines) == sorted(
            [f"[127.0.1.11]:{lab.ssh_port}", f"[127.0.1.12]:{lab.ssh_port}"]
            + [f"[{vm.linklocalip}]:3922" for vm in vms])
        assert all(line.split()[1] == "ssh-ed25519" for line in lines)
        assert {" ".join(line.split()[1:]) for line in lines} >= {vm.host_key_line for vm in vms}
        assert prof.host_keys == lab.host_keys_path and lab.host_keys_path.parent == lab.state_dir
        store = HostKeyStore(prof.host_keys)
        for vm in lab.world.live_vms():
            assert store.lookup(vm.id, vm.linklocalip) == vm.host_key_line
        assert not HostKeyStore().path.exists()  # the operator's store is never touched
        state = lab.state_dir
    assert not state.exists()  # the lab's own temp dir is removed on stop


async def test_ssh_through_the_host_to_the_system_vm() -> None:
    async with Lab("seed", time_scale=SCALE) as lab:
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None and cp.host is not None
        key = asyncssh.read_private_key(str(lab.ssh_key_path))
        async with asyncssh.connect(cp.host.ipaddress, port=lab.ssh_port, username="root",
                                    client_keys=[key], known_hosts=str(lab.known_hosts_path),
                                    agent_path=None) as host:
            hostname = await host.run("hostname", check=True)
            assert hostname.stdout.strip() == cp.host.name
            trusted = asyncssh.import_known_hosts(
                f"[{cp.linklocalip}]:3922 {cp.host_key_line}\n")
            async with host.connect_ssh(cp.linklocalip, port=3922, username="root",
                                        client_keys=[key], known_hosts=trusted,
                                        agent_path=None) as vm:
                cmdline = await vm.run("cat /var/cache/cloud/cmdline", check=True)
                assert cmdline.stdout.strip() == cp.cmdline
                assert f"host={lab.world.mgmt.ip}" in cmdline.stdout


async def test_large_binds_every_host_in_the_background() -> None:
    async with Lab("large", time_scale=SCALE) as lab:
        await lab.wait_ssh()
        last = lab.world.hosts[-1]
        key = asyncssh.read_private_key(str(lab.ssh_key_path))
        async with asyncssh.connect(last.ipaddress, port=lab.ssh_port, username="root",
                                    client_keys=[key], known_hosts=str(lab.known_hosts_path),
                                    agent_path=None) as conn:
            assert (await conn.run("hostname", check=True)).stdout.strip() == last.name


async def _agent(lab: Lab, name: str) -> str:
    hosts = (await ok(lab, "listHosts", name=name))["host"]
    return hosts[0]["state"]


async def test_seed_workaround_fixes_the_agent_and_survives_reboot() -> None:
    async with Lab("seed", time_scale=SCALE) as lab:
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None
        assert await _agent(lab, "v-2-VM") == "Disconnected"
        shell = cp.os
        for cmd in ("chattr +i /usr/local/cloud/systemvm/images /usr/local/cloud/systemvm/js "
                    "/usr/local/cloud/systemvm/css",
                    "kill $(pgrep java)", "/etc/init.d/cloud start",
                    "/etc/init.d/cloud-early-config start"):
            shell.execute(cmd)
        assert await _agent(lab, "v-2-VM") == "Up"
        job = (await ok(lab, "rebootSystemVm", id=cp.id))["jobid"]
        assert (await wait_job(lab, job))["jobstatus"] == 1
        assert await _agent(lab, "v-2-VM") == "Up"  # immutable dirs survive the reboot
        assert await _agent(lab, "s-1-VM") == "Disconnected"  # untouched SSVM still broken


async def test_management_server_key_is_what_the_hosts_accept() -> None:
    async with Lab("healthy", time_scale=SCALE) as lab:
        stranger = asyncssh.generate_private_key("ssh-ed25519")
        host = lab.world.hosts[0]
        try:
            async with asyncssh.connect(host.ipaddress, port=lab.ssh_port, username="root",
                                        client_keys=[stranger], agent_path=None,
                                        known_hosts=str(lab.known_hosts_path)):
                raise AssertionError("a foreign key was accepted")
        except asyncssh.PermissionDenied:
            pass
        async with httpx.AsyncClient() as client:  # and the API still answers meanwhile
            resp = await client.get(lab.url, params=signed(lab, "listZones"))
        assert resp.status_code == 200


async def test_two_labs_of_one_scenario_agree_on_host_keys() -> None:
    """`lab serve` and `--lab` side by side must not fight over trusted keys."""
    async with Lab("seed", time_scale=SCALE, ssh=False) as one, \
            Lab("seed", time_scale=SCALE, ssh=False) as two:
        keys_one = {vm.name: vm.host_key_line for vm in one.world.live_vms()}
        keys_two = {vm.name: vm.host_key_line for vm in two.world.live_vms()}
        assert keys_one == keys_two
        assert one.world.hosts[0].host_key_line == two.world.hosts[0].host_key_line
        assert one.host_keys_path != two.host_keys_path  # one store per running lab
        for lab in (one, two):
            store = HostKeyStore(lab.host_keys_path)
            for vm in one.world.live_vms():
                assert store.lookup(vm.id, vm.linklocalip) == vm.host_key_line
    async with Lab("healthy", time_scale=SCALE, ssh=False) as other:
        assert other.world.hosts[0].host_key_line != one.world.hosts[0].host_key_line
