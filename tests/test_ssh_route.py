"""Route resolution from real API answers (loopback CloudStack API + the real client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cspctl.cloudstack.client import CloudStackClient
from cspctl.config import Profile
from cspctl.errors import UsageError
from cspctl.ssh import Route, SshError, resolve_route
from tests.apiserver import APIKEY, SECRETKEY, ApiServer


@pytest.fixture
async def api() -> AsyncIterator[tuple[ApiServer, CloudStackClient]]:
    async with ApiServer(n_systemvms=2) as srv, CloudStackClient(
        srv.url, apikey=APIKEY, secretkey=SECRETKEY
    ) as client:
        yield srv, client


def profile(**kw) -> Profile:
    return Profile(name="p", source=None, url="http://x/client/api", **kw)


async def vm_named(client: CloudStackClient, name: str):
    return next(v for v in await client.list_system_vms() if v.name == name)


async def test_kvm_goes_through_the_host_to_link_local(api, tmp_path: Path):
    srv, client = api
    key = tmp_path / "mgmt_key"
    route = await resolve_route(
        await vm_named(client, "v-1-VM"), client,
        profile(ssh_key=key, ssh_user="admin", ssh_port=2222, known_hosts=tmp_path / "kh"),
    )
    assert isinstance(route, Route) and route.mode == "linklocal"
    host, vm = route.hops
    assert (host.kind, host.host, host.port, host.user) == ("host", "10.0.0.11", 2222, "admin")
    assert host.name == "kvm1" and host.hypervisor == "KVM"
    assert host.known_hosts == str(tmp_path / "kh")
    assert (vm.kind, vm.host, vm.port, vm.user) == ("systemvm", "169.254.0.1", 3922, "root")
    assert vm.keys == (str(key),)
    assert route.describe() == [
        "1. host     admin@10.0.0.11:2222 (kvm1, KVM)",
        "2. systemvm root@169.254.0.1:3922 via host (link-local)",
    ]
    assert route.vm_id == srv.systemvms[0]["id"] and route.vm_name == "v-1-VM"
    assert hash(route) == hash(
        await resolve_route(await vm_named(client, "v-1-VM"), client,
                            profile(ssh_key=key, ssh_user="admin", ssh_port=2222,
                                    known_hosts=tmp_path / "kh"))
    ), "routes are stable pool keys"


async def test_default_key_and_known_hosts(api):
    _srv, client = api
    route = await resolve_route(await vm_named(client, "s-2-VM"), client, profile())
    assert route.hops[1].keys == ("/var/lib/cloudstack/management/.ssh/id_rsa",)
    assert route.hops[0].known_hosts == str(Path("~/.ssh/known_hosts").expanduser())
    assert route.hops[0].user == "root" and route.hops[0].port == 22


async def test_vmware_uses_the_private_ip_directly(api):
    srv, client = api
    srv.systemvms[0]["hypervisor"] = "VMware"
    route = await resolve_route(await vm_named(client, "v-1-VM"), client, profile())
    assert route.mode == "private" and len(route.hops) == 1
    assert route.target.host == srv.systemvms[0]["privateip"] and route.target.port == 3922
    ip = srv.systemvms[0]["privateip"]
    assert route.describe() == [f"1. systemvm root@{ip}:3922 (private IP)"]


async def test_hypervisor_from_host_when_vm_lacks_it(api):
    srv, client = api
    del srv.systemvms[0]["hypervisor"]
    route = await resolve_route(await vm_named(client, "v-1-VM"), client, profile())
    assert route.mode == "linklocal" and route.hops[0].hypervisor == "KVM"


async def test_nested_and_bastion_overrides(api):
    _srv, client = api
    route = await resolve_route(
        await vm_named(client, "v-1-VM"), client,
        profile(access={"kvm": "nested"}, bastion="ops@jump.example.org:2200"),
    )
    assert route.mode == "nested"
    bastion, _host, vm = route.hops
    assert (bastion.kind, bastion.user, bastion.host, bastion.port) == (
        "bastion", "ops", "jump.example.org", 2200)
    assert vm.remote_key == "/root/.ssh/id_rsa.cloud" and vm.keys is None
    lines = route.describe()
    assert lines[0] == "1. bastion  ops@jump.example.org:2200"
    assert lines[1] == "2. host     root@10.0.0.11:22 via bastion (kvm1, KVM)"
    assert lines[2].startswith("3. systemvm root@169.254.0.1:3922 via host (nested ssh on the host")


async def test_stopped_vm_without_host_is_explained(api):
    srv, client = api
    srv.systemvms[0].update(state="Stopped", hostid=None, linklocalip=None)
    del srv.systemvms[0]["hostid"]
    with pytest.raises(SshError, match="v-1-VM runs on no known host \\(state Stopped"):
        await resolve_route(await vm_named(client, "v-1-VM"), client, profile())


async def test_hostile_values_from_the_api_are_refused(api):
    srv, client = api
    srv.systemvms[0]["linklocalip"] = "169.254.0.1; reboot"
    with pytest.raises(UsageError, match="link-local IP of v-1-VM"):
        await resolve_route(await vm_named(client, "v-1-VM"), client, profile())
    srv.systemvms[0]["linklocalip"] = "169.254.0.1"
    next(h for h in srv.hosts if h["id"] == "host-kvm-1")["ipaddress"] = "$(id)"
    with pytest.raises(UsageError, match="address of host kvm1"):
        await resolve_route(await vm_named(client, "v-1-VM"), client, profile())
    srv.systemvms[1]["name"] = "s-2-VM;id"
    vm = next(v for v in await client.list_system_vms() if v.name == "s-2-VM;id")
    with pytest.raises(UsageError, match="invalid system VM name"):
        await resolve_route(vm, client, profile())


async def test_bad_access_mode_is_a_usage_error(api):
    _srv, client = api
    with pytest.raises(UsageError, match="not one of"):
        await resolve_route(await vm_named(client, "v-1-VM"), client,
                            profile(access={"KVM": "teleport"}))
