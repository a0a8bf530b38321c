"""The lab's management server over real HTTP: envelopes, errors, auth, pagination, jobs.

Requests are signed here with the reference algorithm of docs/cloudstack.md §2.1 (written in this
file, independent of both the lab's verifier and cspctl's client).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cspctl.lab import Faults, Lab
from cspctl.lab.auth import compute_signature

SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")
SCALE = 0.005


def java_enc(v: str) -> str:
    return "".join(chr(b) if b in SAFE else ("%20" if b == 0x20 else f"%{b:02X}")
                   for b in v.encode("utf-8"))


def sign(params: dict[str, str], secret: str) -> str:
    s = "&".join(f"{k}={java_enc(params[k])}" for k in sorted(params) if k != "signature")
    mac = hmac.new(secret.encode(), s.lower().encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def signed(lab: Lab, command: str, *, v3: bool = True, expires: str | None = None,
           **params: Any) -> dict[str, str]:
    p = {"command": command, "response": "json", "apiKey": lab.apikey,
         **{k: str(v) for k, v in params.items()}}
    if v3:
        p["signatureVersion"] = "3"
        p["expires"] = expires or (datetime.now(UTC) + timedelta(minutes=10)).strftime(
            "%Y-%m-%dT%H:%M:%S+0000")
    p["signature"] = sign(p, lab.secretkey)
    return p


async def call(lab: Lab, command: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(lab.url, params=signed(lab, command, **params))


async def ok(lab: Lab, command: str, **params: Any) -> dict[str, Any]:
    resp = await call(lab, command, **params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert list(body) == [command.lower() + "response"]
    return body[command.lower() + "response"]


async def wait_job(lab: Lab, jobid: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = await ok(lab, "queryAsyncJobResult", jobid=jobid)
        if job["jobstatus"] != 0:
            return job
        assert asyncio.get_running_loop().time() < deadline, "job did not finish"
        await asyncio.sleep(0.02)


@pytest.fixture
async def seed() -> Any:
    async with Lab("seed", time_scale=SCALE) as lab:
        yield lab


@pytest.fixture
async def healthy() -> Any:
    async with Lab("healthy", time_scale=SCALE) as lab:
        yield lab


# ----- signatures ---------------------------------------------------------------------------

AK = "Ek4-ZNQ9sBtTd3VaJ0yQ0X6_cspctl-lab-apikey-0001"
SK = "q8VrN2r_Jd7Yt0wPz1sLxK4mC9bH3fA6uE5gT2iO-cspctl-lab-secret-0001"


@pytest.mark.parametrize(("params", "expected"), [
    ([("command", "listSystemVms"), ("systemvmtype", "consoleproxy"), ("response", "json"),
      ("apiKey", AK)], "95kYF6aZOFo6EaVTcmriSs0/qKc="),
    ([("command", "listZones"), ("keyword", "zone 1*"), ("response", "json"),
      ("signatureVersion", "3"), ("expires", "2030-01-01T00:00:00+0000"), ("apiKey", AK)],
     "nHW6GJ9QvfCzplHp8p13x/jV/uQ="),
    ([("command", "listSystemVms"), ("systemvmtype", "consoleproxy"), ("response", "json"),
      ("apiKey", AK), ("keyword", "a~b")], "0CCxsSxgq4HV9YYzSwUle5CPYGM="),
    ([("command", "listZones"), ("keyword", "é ü/+"), ("response", "json"), ("apiKey", AK)],
     "aFlJ/sDkJ7SnCHyFrsb0JixY8bQ="),
])
def test_server_signature_matches_documented_vectors(params: list, expected: str) -> None:
    assert compute_signature(params, SK) == expected


async def test_bad_signature_unknown_key_and_no_auth_get_generic_401(seed: Lab) -> None:
    generic = {"listzonesresponse": {"uuidList": [], "errorcode": 401, "errortext":
               "unable to verify user credentials and/or request signature"}}
    async with httpx.AsyncClient() as client:
        p = signed(seed, "listZones")
        p["signature"] = sign({**p, "command": "listPods"}, seed.secretkey)
        for params in (p, {**signed(seed, "listZones"), "apiKey": "nope"},
                       {"command": "listZones", "response": "json"}):
            resp = await client.get(seed.url, params=params)
            assert resp.status_code == 401
            assert resp.json() == generic
            assert resp.headers["X-Description"] == generic["listzonesresponse"]["errortext"]


async def test_classic_signature_without_v3_is_accepted(seed: Lab) -> None:
    body = await ok(seed, "listZones", v3=False)
    assert body["count"] == 1


async def test_v3_expires_is_checked_against_the_server_clock(seed: Lab) -> None:
    past = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert (await call(seed, "listZones", expires=past)).status_code == 401
    # the lab's management-server clock runs 1 h behind: a request "expired" 30 min ago passes
    seed.clock.offset = -3600
    past30 = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert (await call(seed, "listZones", expires=past30)).status_code == 200
    seed.clock.offset = 0
    assert (await call(seed, "listZones", expires="tomorrow")).status_code == 401
    async with httpx.AsyncClient() as client:  # v3 without expires at all
        p = {"command": "listZones", "response": "json", "apiKey": seed.apikey,
             "signatureVersion": "3"}
        p["signature"] = sign(p, seed.secretkey)
        assert (await client.get(seed.url, params=p)).status_code == 401


async def test_expires_format_4_8_strict_current_lenient(seed: Lab, healthy: Lab) -> None:
    iso = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await call(seed, "listZones", expires=iso)).status_code == 401
    assert (await call(healthy, "listZones", expires=iso)).status_code == 200


async def test_signature_over_post_body(seed: Lab) -> None:
    async with httpx.AsyncClient() as client:
        resp = await client.post(seed.url, data=signed(seed, "listZones"))
    assert resp.status_code == 200
    assert resp.json()["listzonesresponse"]["count"] == 1


# ----- login / session ------------------------------------------------------------------------

async def test_login_get_is_405_plain_text(seed: Lab) -> None:
    async with httpx.AsyncClient() as client:
        resp = await client.get(seed.url, params={"command": "login", "username": "admin",
                                                  "password": seed.password})
    assert resp.status_code == 405
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text == "Please use HTTP POST to authenticate using this API"


async def test_login_session_key_and_logout(seed: Lab) -> None:
    async with httpx.AsyncClient() as client:
        bad = await client.post(seed.url, data={"command": "login", "username": "admin",
                                                "password": "wrong", "response": "json"})
        assert bad.status_code == 531
        assert bad.json() == {"loginresponse": {"uuidList": [], "errorcode": 531, "errortext":
                              "Failed to authenticate user admin in domain 1; please provide "
                              "valid credentials"}}
        resp = await client.post(seed.url, data={"command": "login", "username": "admin",
                                                 "password": seed.password, "domain": "/",
                                                 "response": "json"})
        assert resp.status_code == 200
        login = resp.json()["loginresponse"]
        assert list(login)[:4] == ["username", "userid", "domainid", "timeout"]
        key = login["sessionkey"]
        assert len(key) == 27 and re.fullmatch(r"[A-Za-z0-9_-]+", key)
        cookies = resp.headers.get_list("set-cookie")
        assert any(c.startswith("JSESSIONID=") and "HttpOnly" in c for c in cookies)
        assert any(c.startswith(f"sessionkey={key}") and "HttpOnly" in c for c in cookies)
        listed = await client.get(seed.url, params={"command": "listSystemVms",
                                                    "response": "json", "sessionkey": key})
        assert listed.status_code == 200
        assert listed.json()["listsystemvmsresponse"]["count"] == 2
        wrong = await client.get(seed.url, params={"command": "listZones", "response": "json",
                                                   "sessionkey": "x" * 27})
        assert wrong.status_code == 401
        out = await client.get(seed.url, params={"command": "logout", "response": "json",
                                                 "sessionkey": key})
        assert out.json() == {"logoutresponse": {"description": "success"}}
        after = await client.get(seed.url, params={"command": "listZones", "response": "json",
                                                   "sessionkey": key})
        assert after.status_code == 401
    async with httpx.AsyncClient() as fresh:  # a key without the JSESSIONID cookie is refused
        resp = await fresh.get(seed.url, params={"command": "listZones", "response": "json",
                                                 "sessionkey": key})
        assert resp.status_code == 401


async def test_login_unknown_domain(seed: Lab) -> None:
    async with httpx.AsyncClient() as client:
        resp = await client.post(seed.url, data={"command": "login", "username": "admin",
                                                 "password": seed.password,
                                                 "domain": "/nope", "response": "json"})
    assert resp.status_code == 531
    assert resp.json()["loginresponse"]["errortext"] == \
        "Unable to find the domain from the path /nope/"


# ----- envelopes and era ----------------------------------------------------------------------

async def test_seed_4_8_system_vms_have_no_agentstate_but_hosts_do(seed: Lab) -> None:
    resp = await call(seed, "listSystemVms")
    assert resp.headers["content-type"] == "text/javascript; charset=UTF-8"
    body = resp.json()["listsystemvmsresponse"]
    assert body["count"] == 2
    vms = {vm["name"]: vm for vm in body["systemvm"]}
    assert set(vms) == {"s-1-VM", "v-2-VM"}
    for vm in vms.values():
        assert "agentstate" not in vm and "version" not in vm and "disconnected" not in vm
        assert vm["state"] == "Running"
        assert vm["linklocalip"].startswith("169.254.")
        assert vm["hypervisor"] == "KVM"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0900", vm["created"])
    assert vms["v-2-VM"]["systemvmtype"] == "consoleproxy"
    assert list(vms["v-2-VM"])[:3] == ["id", "systemvmtype", "zoneid"]
    for htype, name in (("ConsoleProxy", "v-2-VM"), ("SecondaryStorageVM", "s-1-VM")):
        hosts = (await ok(seed, "listHosts", type=htype))["host"]
        assert [h["name"] for h in hosts] == [name]
        assert hosts[0]["state"] == "Disconnected"
        assert hosts[0]["type"] == htype
        assert hosts[0]["version"] == "4.8.0"
        assert "disconnected" in hosts[0]
    routing = (await ok(seed, "listHosts", type="Routing"))["host"]
    assert sorted(h["ipaddress"] for h in routing) == ["127.0.1.11", "127.0.1.12"]
    assert {h["hypervisor"] for h in routing} == {"KVM"}


async def test_healthy_4_18_system_vms_carry_agentstate_and_version(healthy: Lab) -> None:
    resp = await call(healthy, "listSystemVms")
    assert resp.headers["content-type"] == "application/json; charset=UTF-8"
    vms = resp.json()["listsystemvmsresponse"]["systemvm"]
    assert {vm["agentstate"] for vm in vms} == {"Up"}
    assert {vm["version"] for vm in vms} == {"4.18.1.0"}
    cap = (await ok(healthy, "listCapabilities"))["capability"]
    assert cap["cloudstackversion"] == "4.18.1.0"


async def test_empty_list_and_page_past_end(seed: Lab) -> None:
    resp = await call(seed, "listSystemVms", name="no-such-vm")
    assert resp.text == '{"listsystemvmsresponse":{}}'
    resp = await call(seed, "listZones", page=3, pagesize=10)
    assert resp.text == '{"listzonesresponse":{"count":1}}'


async def test_unknown_command_4_8_is_432_current_is_401(seed: Lab, healthy: Lab) -> None:
    resp = await call(seed, "listFooBars")
    assert resp.status_code == 432
    assert resp.json() == {"errorresponse": {"uuidList": [], "errorcode": 432,
                           "cserrorcode": 9999, "errortext": "The given command does not "
                           "exist or it is not available for user"}}
    for cmd in ("runDiagnostics", "getDiagnosticsData", "provisionCertificate"):
        assert (await call(seed, cmd)).status_code == 432  # not in 4.8
    resp = await call(healthy, "listFooBars")
    assert resp.status_code == 401
    assert list(resp.json()) == ["errorresponse"]


async def test_missing_and_invalid_parameters_are_431(seed: Lab) -> None:
    resp = await call(seed, "stopSystemVm")
    assert resp.status_code == 431
    assert resp.text == ('{"stopsystemvmresponse":{"uuidList":[],"errorcode":431,'
                         '"cserrorcode":9999,"errortext":"Unable to execute API command '
                         'stopsystemvm due to missing parameter id"}}')
    assert resp.headers["X-Description"].endswith("missing parameter id")
    resp = await call(seed, "rebootSystemVm", id="not-a-uuid")
    assert resp.status_code == 431
    assert "Invalid parameter id value=not-a-uuid" in resp.json()[
        "rebootsystemvmresponse"]["errortext"]
    resp = await call(seed, "listZones", page="abc", pagesize=5)
    assert resp.json()["listzonesresponse"]["errortext"] == \
        "Unable to execute API command listzones due to invalid value abc for parameter page"


async def test_default_response_is_xml(seed: Lab) -> None:
    p = signed(seed, "listZones")
    del p["response"]
    p["signature"] = sign(p, seed.secretkey)
    async with httpx.AsyncClient() as client:
        resp = await client.get(seed.url, params=p)
    assert resp.headers["content-type"] == "text/xml; charset=UTF-8"
    assert resp.text.startswith('<?xml version="1.0" encoding="UTF-8"?><listzonesresponse '
                                'cloud-stack-version="4.8.0"><count>1</count><zone><id>')


async def test_seed_configuration_has_upgrade_leftovers(seed: Lab) -> None:
    body = await ok(seed, "listConfigurations", keyword="consoleproxy")
    values = {c["name"]: c["value"] for c in body["configuration"]}
    assert values["consoleproxy.url.domain"] == "*.realhostip.com"
    assert values["consoleproxy.sslEnabled"] == "false"
    cfgs = (await ok(seed, "listConfigurations", name="secstorage.encrypt.copy"))
    assert cfgs["configuration"][0]["value"] == "true"
    assert list(cfgs["configuration"][0])[:4] == ["category", "name", "value", "description"]
    upd = await ok(seed, "updateConfiguration", name="consoleproxy.url.domain",
                   value="*.console.example.com")
    assert upd["configuration"]["value"] == "*.console.example.com"
    assert seed.world.config_value("consoleproxy.url.domain") == "*.console.example.com"
    resp = await call(seed, "updateConfiguration", name="no.such.setting", value="1")
    assert resp.status_code == 431
    assert resp.json()["updateconfigurationresponse"]["cserrorcode"] == 4350


async def test_management_servers_zones_pods(seed: Lab) -> None:
    ms = (await ok(seed, "listManagementServers"))["managementserver"]
    assert ms[0]["version"] == "4.8.0" and ms[0]["state"] == "Up"
    zones = (await ok(seed, "listZones"))["zone"]
    pods = (await ok(seed, "listPods", zoneid=zones[0]["id"]))["pod"]
    assert pods[0]["zonename"] == zones[0]["name"] == "tokyo-z1"
    assert pods[0]["gateway"] == "10.1.1.1"


# ----- pagination -----------------------------------------------------------------------------

async def test_pagination_rules_on_5000_system_vms() -> None:
    async with Lab("large", time_scale=SCALE, ssh=False) as lab:
        first = await ok(lab, "listSystemVms")
        assert first["count"] == 5000 and len(first["systemvm"]) == 500
        page3 = await ok(lab, "listSystemVms", page=3, pagesize=200)
        assert page3["count"] == 5000 and len(page3["systemvm"]) == 200
        everything = await ok(lab, "listSystemVms", pagesize=-1)
        assert len(everything["systemvm"]) == 5000
        assert len({vm["id"] for vm in everything["systemvm"]}) == 5000
        texts = {
            (("pagesize", 10),): '"page" parameter is required when "pagesize" is specified',
            (("page", 2),): '"pagesize" parameter is required when "page" is specified',
            (("page", 1), ("pagesize", 501)):
                "Page size can't exceed max allowed page size value: 500",
            (("page", 1), ("pagesize", -1)):
                "Can't specify page parameter when pagesize is -1 (Unlimited)",
        }
        for params, text in texts.items():
            resp = await call(lab, "listSystemVms", **dict(params))
            assert resp.status_code == 431
            assert resp.json()["listsystemvmsresponse"]["errortext"] == text
        agent_hosts = await ok(lab, "listHosts", type="ConsoleProxy", page=1, pagesize=500)
        assert agent_hosts["count"] == 2500


# ----- async jobs and lifecycle -----------------------------------------------------------------

async def test_reboot_job_pending_then_success_shapes(seed: Lab) -> None:
    cp = seed.world.vm_by_name("v-2-VM")
    assert cp is not None
    seed.clock.time_scale = 0.05  # ~1.5 s: long enough to see the pending shape
    resp = await call(seed, "rebootSystemVm", id=cp.id)
    body = resp.json()
    assert list(body) == ["rebootsystemvmresponse"]
    assert list(body["rebootsystemvmresponse"]) == ["jobid"]
    jobid = body["rebootsystemvmresponse"]["jobid"]
    pending = await ok(seed, "queryAsyncJobResult", jobid=jobid)
    assert pending["jobstatus"] == 0 and pending["jobresultcode"] == 0
    assert "jobresult" not in pending and "completed" not in pending
    assert pending["cmd"] == \
        "org.apache.cloudstack.api.command.admin.systemvm.RebootSystemVmCmd"
    assert pending["jobinstancetype"] == "SystemVm" and pending["jobinstanceid"] == cp.id
    listed = (await ok(seed, "listSystemVms", id=cp.id))["systemvm"][0]
    assert listed["jobid"] == jobid and listed["jobstatus"] == 0
    done = await wait_job(seed, jobid)
    assert done["jobstatus"] == 1 and done["jobresultcode"] == 0
    assert done["jobresulttype"] == "object"
    assert done["jobresult"]["systemvm"]["name"] == "v-2-VM"
    assert "completed" in done and list(done)[-1] == "jobid"
    events = (await ok(seed, "listEvents", type="PROXY.REBOOT"))["event"]
    assert {e["state"] for e in events} >= {"Scheduled", "Started", "Completed"}
    alerts = (await ok(seed, "listAlerts"))["alert"]
    assert "Console proxy rebooted" in alerts[0]["description"]


async def test_seed_reboot_alone_does_not_fix_the_agent(seed: Lab) -> None:
    cp = seed.world.vm_by_name("v-2-VM")
    assert cp is not None
    job = (await ok(seed, "rebootSystemVm", id=cp.id))["jobid"]
    assert (await wait_job(seed, job))["jobstatus"] == 1
    host = (await ok(seed, "listHosts", type="ConsoleProxy"))["host"][0]
    assert host["name"] == "v-2-VM" and host["state"] == "Disconnected"


async def test_destroy_recreates_with_next_name_new_addresses_and_host_key(seed: Lab) -> None:
    from cspctl.ssh.hostkeys import HostKeyStore

    old = seed.world.vm_by_name("v-2-VM")
    assert old is not None
    old_id, old_ll, old_key = old.id, old.linklocalip, old.host_key_line
    assert HostKeyStore(seed.host_keys_path).lookup(old_id, old_ll) == old_key
    job = (await ok(seed, "destroySystemVm", id=old_id))["jobid"]
    done = await wait_job(seed, job)
    assert done["jobresult"]["systemvm"]["state"] == "Destroyed"
    for _ in range(200):
        vms = (await ok(seed, "listSystemVms", systemvmtype="consoleproxy")).get("systemvm", [])
        if [v["name"] for v in vms] == ["v-3-VM"] and vms[0]["state"] == "Running":
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"no replacement CPVM: {vms}")
    new = vms[0]
    assert new["id"] != old_id and new["linklocalip"] != old_ll
    new_vm = seed.world.vm_by_id(new["id"])
    assert new_vm is not None and new_vm.host_key_line != old_key
    store = HostKeyStore(seed.host_keys_path)
    assert store.lookup(new["id"], new["linklocalip"]) == new_vm.host_key_line
    host = (await ok(seed, "listHosts", type="ConsoleProxy"))["host"]
    assert [h["name"] for h in host] == ["v-3-VM"]
    assert host[0]["state"] == "Disconnected"  # the scenario's fault is in the template
    types = [e["type"] for e in (await ok(seed, "listEvents"))["event"]]
    assert "PROXY.DESTROY" in types and "PROXY.CREATE" in types


async def test_stop_start_and_migrate(healthy: Lab) -> None:
    ss = healthy.world.vm_by_name("s-1-VM")
    assert ss is not None
    job = (await ok(healthy, "stopSystemVm", id=ss.id))["jobid"]
    stopped = (await wait_job(healthy, job))["jobresult"]["systemvm"]
    assert stopped["state"] == "Stopped" and "hostid" not in stopped
    assert stopped["agentstate"] == "Disconnected"
    job = (await ok(healthy, "startSystemVm", id=ss.id))["jobid"]
    started = (await wait_job(healthy, job))["jobresult"]["systemvm"]
    assert started["state"] == "Running" and started["agentstate"] == "Up"
    other = next(h for h in healthy.world.hosts if h.id != started["hostid"])
    job = (await ok(healthy, "migrateSystemVm", virtualmachineid=ss.id, hostid=other.id))
    moved = (await wait_job(healthy, job["jobid"]))["jobresult"]["systemvm"]
    assert moved["hostid"] == other.id and moved["hostname"] == other.name
    same = await call(healthy, "migrateSystemVm", virtualmachineid=ss.id, hostid=other.id)
    assert same.status_code == 431


async def test_job_failure_shape() -> None:
    async with Lab("healthy", time_scale=SCALE, faults=Faults(job_fail=True)) as lab:
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None
        job = (await ok(lab, "rebootSystemVm", id=cp.id))["jobid"]
        failed = await wait_job(lab, job)
        assert failed["jobstatus"] == 2 and failed["jobresultcode"] == 530
        assert failed["jobresulttype"] == "object"
        assert set(failed["jobresult"]) == {"errorcode", "errortext"}
        assert failed["jobresult"]["errorcode"] == 530


async def test_hanging_job_stays_pending_and_api_error_rate() -> None:
    faults = Faults(job_hang=True)
    async with Lab("healthy", time_scale=SCALE, faults=faults) as lab:
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None
        job = (await ok(lab, "rebootSystemVm", id=cp.id))["jobid"]
        await asyncio.sleep(0.3)
        assert (await ok(lab, "queryAsyncJobResult", jobid=job))["jobstatus"] == 0
        faults.api_error_rate = 1.0
        resp = await call(lab, "listZones")
        assert resp.status_code == 530
        assert resp.json()["listzonesresponse"]["errorcode"] == 530


async def test_run_diagnostics_ping(healthy: Lab) -> None:
    cp = healthy.world.vm_by_name("v-2-VM")
    assert cp is not None
    job = (await ok(healthy, "runDiagnostics", targetid=cp.id, ipaddress="10.1.1.10",
                    type="ping"))["jobid"]
    diag = (await wait_job(healthy, job))["jobresult"]["diagnostics"]
    assert diag["exitcode"] == "0"
    assert "5 packets transmitted, 5 received, 0% packet loss" in diag["stdout"]
    job = (await ok(healthy, "runDiagnostics", targetid=cp.id, ipaddress="192.0.2.77",
                    type="ping"))["jobid"]
    diag = (await wait_job(healthy, job))["jobresult"]["diagnostics"]
    assert diag["exitcode"] == "1" and "100% packet loss" in diag["stdout"]
    bad = await call(healthy, "runDiagnostics", targetid=cp.id, ipaddress="10.1.1.10",
                     type="nmap")
    assert bad.status_code == 431


async def test_cert_expired_fixed_by_provision_certificate() -> None:
    async with Lab("cert-expired", time_scale=SCALE) as lab:
        hosts = (await ok(lab, "listHosts", type="ConsoleProxy"))["host"]
        assert hosts[0]["state"] == "Disconnected"
        job = (await ok(lab, "provisionCertificate", hostid=hosts[0]["id"]))["jobid"]
        result = await wait_job(lab, job)
        assert result["jobresult"] == {"success": True}
        vm = (await ok(lab, "listSystemVms", systemvmtype="consoleproxy"))["systemvm"][0]
        assert vm["agentstate"] == "Up"


async def test_events_date_range_and_control_characters(healthy: Lab) -> None:
    await ok(healthy, "updateConfiguration", name="ping.interval", value="60")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    recent = await ok(healthy, "listEvents", startdate=today)
    assert recent["event"][0]["type"] == "CONFIGURATION.VALUE.EDIT"
    everything = await ok(healthy, "listEvents")
    assert 0 < recent["count"] < everything["count"]  # scenario history is older
    assert (await ok(healthy, "listEvents", enddate="2001-01-01")) == {}
    bad = await call(healthy, "listEvents", startdate="yesterday")
    assert bad.status_code == 431
    ctrl = await call(healthy, "listZones", keyword="a\x01b")
    assert ctrl.status_code == 431
    assert list(ctrl.json()) == ["listzonesresponse"]


EXPECTED_AGENTS = {
    "seed": {"s-1-VM": "Disconnected", "v-2-VM": "Disconnected"},
    "healthy": {"s-1-VM": "Up", "v-2-VM": "Up"},
    "mgmt-port-blocked": {"s-1-VM": "Disconnected", "v-2-VM": "Disconnected"},
    "clock-drift": {"s-1-VM": "Up", "v-2-VM": "Disconnected"},
    "disk-full": {"s-1-VM": "Disconnected", "v-2-VM": "Up"},
    "template-mismatch": {"s-1-VM": "Disconnected", "v-2-VM": "Disconnected"},
    "cert-expired": {"s-1-VM": "Disconnected", "v-2-VM": "Disconnected"},
    "ssvm-storage": {"s-1-VM": "Up", "v-2-VM": "Up"},
}


@pytest.mark.parametrize("scenario", list(EXPECTED_AGENTS))
async def test_scenario_agent_states_as_the_api_reports_them(scenario: str) -> None:
    async with Lab(scenario, time_scale=SCALE, ssh=False) as lab:
        states = {}
        for htype in ("ConsoleProxy", "SecondaryStorageVM"):
            for host in (await ok(lab, "listHosts", type=htype))["host"]:
                states[host["name"]] = host["state"]
        assert states == EXPECTED_AGENTS[scenario]
        vms = (await ok(lab, "listSystemVms"))["systemvm"]
        if lab.world.at_least("4.13.1"):
            assert {v["name"]: v["agentstate"] for v in vms} == states
        if scenario == "template-mismatch":
            assert {v["version"] for v in vms} == {"4.16.1.0"}
            cap = (await ok(lab, "listCapabilities"))["capability"]
            assert cap["cloudstackversion"] == "4.18.1.0"


async def test_clock_drift_vm_clock_is_days_behind_and_ping_still_works() -> None:
    async with Lab("clock-drift", time_scale=SCALE, ssh=False) as lab:
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None
        vm_now = int(cp.os.execute("date -u +%s").stdout.strip())
        assert lab.clock.now() - vm_now > 2 * 86400
        job = (await ok(lab, "runDiagnostics", targetid=cp.id, ipaddress=lab.world.mgmt.ip,
                        type="ping"))["jobid"]
        assert (await wait_job(lab, job))["jobresult"]["diagnostics"]["exitcode"] == "0"


async def test_mgmt_port_blocked_ping_works_and_diagnostics_data() -> None:
    async with Lab("mgmt-port-blocked", time_scale=SCALE, ssh=False) as lab:
        ss = lab.world.vm_by_name("s-1-VM")
        assert ss is not None
        job = (await ok(lab, "runDiagnostics", targetid=ss.id, ipaddress=lab.world.mgmt.ip,
                        type="traceroute"))["jobid"]
        diag = (await wait_job(lab, job))["jobresult"]["diagnostics"]
        assert diag["exitcode"] == "0" and f"1  {lab.world.mgmt.ip}" in diag["stdout"]
        nc = ss.os.execute(f"timeout 3 nc -z -w 3 {lab.world.mgmt.ip} 8250")
        assert nc.status != 0
        job = (await ok(lab, "getDiagnosticsData", targetid=ss.id))["jobid"]
        data = (await wait_job(lab, job))["jobresult"]["diagnostics"]
        assert data["url"].startswith(f"http://{ss.publicip}/diagnosticsdata/")


async def test_field_order_matches_recorded_fixtures(fixtures_dir: Any) -> None:
    import json as _json

    def fixture(name: str) -> dict[str, Any]:
        data = _json.loads((fixtures_dir / name).read_text())
        return next(iter(data.values()))

    async with Lab("cert-expired", time_scale=SCALE, ssh=False) as lab:  # a 4.15 server
        upd = await ok(lab, "updateConfiguration", name="ping.interval", value="60")
        assert list(upd["configuration"]) == list(
            fixture("updateConfiguration.cs4.x-isdynamic.json")["configuration"])
        async with httpx.AsyncClient() as client:
            login = (await client.post(lab.url, data={
                "command": "login", "username": "admin", "password": lab.password,
                "response": "json"})).json()["loginresponse"]
        assert list(login) == list(fixture("login.cs4.14-snapshot-simulator.json"))
        pods = (await ok(lab, "listPods"))["pod"]
        assert list(pods[0]) == list(fixture("listPods.cs2.2-two-pods.json")["pod"][0])
        host = lab.world.hosts[0]
        job = (await ok(lab, "provisionCertificate", hostid=host.id))["jobid"]
        done = await wait_job(lab, job)
        recorded = fixture("queryAsyncJobResult.success-uploadCustomCertificate.json")
        assert [k for k in done if k not in ("jobinstancetype", "jobinstanceid")] == \
            list(recorded)
        assert done["jobresult"] == {"success": True}
