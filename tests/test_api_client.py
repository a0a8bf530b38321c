"""The CloudStack client against a real loopback HTTP server (tests/apiserver.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cspctl.cloudstack import (
    ApiConnectError,
    ApiError,
    ApiTimeout,
    AuthError,
    BadResponse,
    CloudStackClient,
    JobFailed,
    JobTimeout,
    PollPolicy,
    SystemVm,
)
from cspctl.errors import CspctlError
from cspctl.sessionlog import Journal
from tests.apiserver import APIKEY, SECRETKEY, ApiServer, Fault, JobPlan

FAST_POLL = PollPolicy(initial=0.01, factor=1.5, maximum=0.05)


def client_for(srv: ApiServer, journal: Journal | None = None, **kw) -> CloudStackClient:
    opts = {"apikey": APIKEY, "secretkey": SECRETKEY, "journal": journal, "poll": FAST_POLL,
            "timeout": 2.0, "retry_backoff": 0.01, "profile_name": "lab"}
    opts.update(kw)
    return CloudStackClient(srv.url, **opts)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text
    return text


@pytest.fixture
async def srv():
    async with ApiServer() as server:
        yield server


# -- pagination ------------------------------------------------------------------------------

async def test_5000_system_vms_over_10_pages_complete_and_in_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    async with ApiServer(n_systemvms=5000) as srv:
        async with client_for(srv, journal, page_concurrency=4) as api:
            vms = await api.list_system_vms()
        assert [vm.id for vm in vms] == [v["id"] for v in srv.systemvms]
        assert len(vms) == 5000 and len({vm.id for vm in vms}) == 5000
        seen = [r for r in srv.requests if r.command == "listSystemVms"]
        assert len(seen) == 10
        assert sorted(int(r.params["page"]) for r in seen) == list(range(1, 11))
        assert {r.params["pagesize"] for r in seen} == {"500"}
        assert {r.method for r in seen} == {"GET"}
        assert seen[0].params["page"] == "1"  # page 1 first: it reveals count
        assert srv.commands().count("listHosts") == 0  # agentstate present: no join
    assert len(list(journal.events())) == 10


async def test_page_size_cap_of_the_server_is_learned() -> None:
    async with ApiServer(n_systemvms=250, max_page_size=100) as srv:
        async with client_for(srv) as api:
            vms = await api.list_system_vms()
        assert [vm.name for vm in vms] == [v["name"] for v in srv.systemvms]
        assert api.page_size == 100


async def test_empty_list_and_exact_single_page() -> None:
    async with ApiServer(n_systemvms=0) as srv, client_for(srv) as api:
        assert await api.list_system_vms() == []
    async with ApiServer(n_systemvms=500) as srv:
        async with client_for(srv) as api:
            assert len(await api.list_system_vms()) == 500
        assert srv.commands() == ["listSystemVms"]


async def test_explicit_page_fetches_only_that_page(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        vms = await api.list_rows("listSystemVms", SystemVm, page=2, pagesize=2)
    assert [vm.name for vm in vms] == ["v-3-VM", "s-4-VM"]


# -- pre-4.13.1 agent state join --------------------------------------------------------------

async def test_legacy_server_agentstate_joined_from_hosts() -> None:
    async with ApiServer(legacy=True) as srv:
        async with client_for(srv) as api:
            vms = await api.list_system_vms(zoneid="zone-1")
        assert all("agentstate" not in vm.raw for vm in vms)
        states = {vm.name: vm.agentstate for vm in vms}
        assert states == {"v-1-VM": "Disconnected", "s-2-VM": "Up", "v-3-VM": "Up",
                          "s-4-VM": "Up"}
        assert all(vm.version == "4.8.0" for vm in vms)
        assert vms[0].disconnected is not None
        assert not vms[0].healthy and vms[1].healthy
        host_calls = [r.params for r in srv.requests if r.command == "listHosts"]
        assert sorted(p["type"] for p in host_calls) == ["ConsoleProxy", "SecondaryStorageVM"]
        assert all(p["zoneid"] == "zone-1" for p in host_calls)


async def test_legacy_join_failure_keeps_the_vms() -> None:
    async with ApiServer(legacy=True) as srv:
        srv.faults["listHosts"] = Fault(status=432, errortext="not available for user")
        async with client_for(srv) as api:
            vms = await api.list_system_vms()
        assert len(vms) == 4 and all(vm.agentstate is None for vm in vms)


# -- async jobs -------------------------------------------------------------------------------

async def test_async_job_succeeds_with_progress(srv: ApiServer) -> None:
    srv.job_plans["rebootSystemVm"] = JobPlan("succeed", polls=3)
    seen = []
    async with client_for(srv) as api:
        vm = await api.reboot_system_vm(srv.systemvms[0]["id"], on_progress=seen.append)
    assert vm.id == srv.systemvms[0]["id"] and vm.state == "Running"
    assert [j.jobstatus for j in seen] == [0, 0, 0, 1]
    assert srv.commands() == ["rebootSystemVm"] + ["queryAsyncJobResult"] * 4


async def test_async_job_fails_with_cloudstack_errortext(srv: ApiServer) -> None:
    srv.job_plans["stopSystemVm"] = JobPlan("fail", polls=1, errortext="Unable to stop v-1-VM")
    async with client_for(srv) as api:
        with pytest.raises(JobFailed) as info:
            await api.stop_system_vm(srv.systemvms[0]["id"], forced=True)
    assert info.value.errortext == "Unable to stop v-1-VM"
    text = one_line(info.value)
    assert f"127.0.0.1:{srv.port} stopSystemVm" in text and "Unable to stop v-1-VM" in text
    assert "530" in text
    assert srv.requests[0].params["forced"] == "true"


async def test_async_job_never_finishes_times_out_at_deadline(srv: ApiServer) -> None:
    srv.job_plans["startSystemVm"] = JobPlan("never")
    async with client_for(srv) as api:
        t0 = datetime.now(UTC)
        with pytest.raises(JobTimeout) as info:
            await api.start_system_vm(srv.systemvms[1]["id"], deadline=0.3)
        elapsed = (datetime.now(UTC) - t0).total_seconds()
    assert 0.3 <= info.value.waited < 1.5 and elapsed < 2.0
    assert info.value.jobid == "job-0001"
    assert "still pending" in one_line(info.value)
    polls = srv.commands().count("queryAsyncJobResult")
    assert polls >= 3  # backoff from 10 ms up to 50 ms within 0.3 s


async def test_other_job_calls(srv: ApiServer) -> None:
    vm_id = srv.systemvms[0]["id"]
    async with client_for(srv) as api:
        diag = await api.run_diagnostics(vm_id, "8.8.8.8", "ping")
        assert diag == {"stdout": "PING ok", "stderr": "", "exitcode": "0"}
        assert await api.get_diagnostics_data(vm_id, files=["a", "b"]) == \
            "http://192.0.2.1/diag.zip"
        await api.provision_certificate("h-" + vm_id)
        assert (await api.destroy_system_vm(vm_id)).state == "Destroyed"
        assert (await api.start_system_vm(vm_id)).state == "Running"
        migrated = await api.migrate_system_vm(vm_id, "host-kvm-1")
        assert migrated.id == vm_id
        jobid = await api.submit("rebootSystemVm", id=vm_id)
        assert (await api.wait_job(jobid)).succeeded
    by_cmd = {r.command: r.params for r in srv.requests}
    assert by_cmd["getDiagnosticsData"]["files"] == "a,b"
    assert by_cmd["migrateSystemVm"] == {**by_cmd["migrateSystemVm"],
                                         "virtualmachineid": vm_id, "hostid": "host-kvm-1"}


# -- errors -----------------------------------------------------------------------------------

async def test_401_bad_keys_gives_auth_error_with_hint(srv: ApiServer) -> None:
    async with client_for(srv, secretkey="wrong-secret-value") as api:
        with pytest.raises(AuthError) as info:
            await api.list_zones()
    text = one_line(info.value)
    assert info.value.http_status == 401
    assert f"127.0.0.1:{srv.port} listZones" in text
    assert "unable to verify user credentials" in text
    assert "API key/secret of profile lab" in text and "clock" in text
    assert "wrong-secret-value" not in text and SECRETKEY not in text
    assert srv.commands() == ["listZones"]  # never retried
    assert isinstance(info.value, CspctlError)


async def test_v3_expiry_checked_by_the_server(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        await api.list_zones()
        sent = srv.requests[-1].params
        assert sent["signatureVersion"] == "3"
        expires = datetime.strptime(sent["expires"], "%Y-%m-%dT%H:%M:%S%z")
        ahead = expires - datetime.now(UTC)
        assert timedelta(minutes=9) < ahead <= timedelta(minutes=10, seconds=1)
        assert sent["expires"].endswith("+0000")
        srv.clock_offset = 3600  # the management server's clock runs an hour ahead
        with pytest.raises(AuthError, match="server clock"):
            await api.list_zones()


async def test_classic_signature_without_expires(srv: ApiServer) -> None:
    async with client_for(srv, signature_version=2) as api:
        assert [z.name for z in await api.list_zones()] == ["zone1"]
    assert "expires" not in srv.requests[-1].params
    assert "signatureVersion" not in srv.requests[-1].params


async def test_awkward_values_are_signed_so_the_server_agrees(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        for kw in ("a~b", "zone 1*", "é ü/+", "x=y&z", "日本語 ~*+/"):
            await api.list_zones(keyword=kw)
            assert srv.requests[-1].params["keyword"] == kw
    raw = srv.requests[-1].query_string
    assert "signature=" in raw and "+" not in raw.split("signature=")[1]


async def test_530_gives_api_error(srv: ApiServer) -> None:
    srv.faults["listZones"] = Fault(status=530, errortext="NullPointerException in listZones")
    async with client_for(srv) as api:
        with pytest.raises(ApiError) as info:
            await api.list_zones()
    err = info.value
    assert not isinstance(err, AuthError)
    assert (err.http_status, err.errorcode, err.cserrorcode) == (530, 530, 4250)
    assert err.errortext == "NullPointerException in listZones"
    text = one_line(err)
    assert "listZones" in text and "NullPointerException" in text
    assert "management-server.log" in text
    assert srv.commands() == ["listZones"]  # 530 is not retried


async def test_431_bad_parameter_is_not_retried_and_starts_no_job(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        with pytest.raises(ApiError) as info:
            await api.reboot_system_vm("no-such-vm")
    err = info.value
    assert not isinstance(err, AuthError)
    assert (err.http_status, err.cserrorcode) == (431, 4350)
    assert "invalid value no-such-vm for parameter id" in one_line(err)
    assert srv.commands() == ["rebootSystemVm"]


async def test_432_unknown_command(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        with pytest.raises(AuthError) as info:
            await api.call("patchSystemVm", id="x")
    assert info.value.http_status == 432 and "does not exist" in str(info.value)


async def test_timeout_read_retried_but_action_never(srv: ApiServer) -> None:
    srv.faults["listZones"] = Fault(delay=1.0)
    srv.faults["stopSystemVm"] = Fault(delay=1.0)
    async with client_for(srv, timeout=0.2, retries=1) as api:
        with pytest.raises(ApiTimeout) as info:
            await api.list_zones()
        assert "no answer within 0.2 s" in one_line(info.value)
        assert srv.commands() == ["listZones", "listZones"]
        with pytest.raises(ApiTimeout):
            await api.stop_system_vm(srv.systemvms[0]["id"])
        assert srv.commands().count("stopSystemVm") == 1


async def test_html_instead_of_json_is_bad_response(srv: ApiServer) -> None:
    srv.faults["listZones"] = Fault(status=502, content_type="text/html",
                                    body="<html><head><title>502 Bad Gateway</title></head>")
    async with client_for(srv, retries=0) as api:
        with pytest.raises(BadResponse) as info:
            await api.list_zones()
    err = info.value
    assert err.status == 502 and err.content_type == "text/html"
    text = one_line(err)
    assert "HTTP 502" in text and "502 Bad Gateway" in text and "listZones" in text


async def test_x_description_header_used_when_body_is_not_json(srv: ApiServer) -> None:
    srv.faults["listPods"] = Fault(status=530, content_type="text/xml", body="<x/>",
                                   headers={"X-Description": "Unable to list pods: DB down"})
    srv.faults["listZones"] = Fault(status=302, content_type="text/html", body="",
                                    headers={"Location": "https://mgmt.example/client/api"})
    async with client_for(srv) as api:
        with pytest.raises(ApiError, match="530: Unable to list pods: DB down"):
            await api.list_pods()
        with pytest.raises(BadResponse, match=r"redirects to https://mgmt\.example/client/api"):
            await api.list_zones()


async def test_ui_url_without_api_is_bad_response(srv: ApiServer) -> None:
    async with CloudStackClient(srv.url.removesuffix("api"), apikey=APIKEY,
                                secretkey=SECRETKEY, retries=0) as api:
        with pytest.raises(BadResponse, match="/client/api"):
            await api.list_zones()


async def test_text_javascript_content_type_is_accepted() -> None:
    async with (ApiServer(content_type="text/javascript;charset=UTF-8") as srv,
                client_for(srv) as api):
        assert (await api.list_capabilities()).cloudstackversion == "4.8.0"
        assert await api.version() == "4.8.0"


async def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/client/api"
    async with CloudStackClient(url, apikey=APIKEY, secretkey=SECRETKEY, retries=1,
                                retry_backoff=0.01) as api:
        with pytest.raises(ApiConnectError) as info:
            await api.list_zones()
    text = one_line(info.value)
    assert f"127.0.0.1:{port} listZones: connection refused" in text


# -- session login ----------------------------------------------------------------------------

async def test_login_sessionkey_logout_flow(srv: ApiServer) -> None:
    async with CloudStackClient(srv.url, username="admin", password="pa ss+w/rd~",
                                poll=FAST_POLL) as api:
        zones = await api.list_zones()
        assert [z.id for z in zones] == ["zone-1"]
        login, listing = srv.requests[0], srv.requests[1]
        assert login.method == "POST" and login.command == "login"
        assert "password" not in login.query_string and login.params["domain"] == "/"
        assert login.params["password"] == "pa ss+w/rd~"
        assert "signature" not in listing.params and "apiKey" not in listing.params
        assert listing.params["sessionkey"] == api.sessionkey
        assert listing.cookies["JSESSIONID"] == srv.sessions[api.sessionkey]
        key = api.sessionkey
        await api.logout()
        assert key not in srv.sessions and api.sessionkey is None
        # the next call logs in again on its own
        await api.list_pods()
        assert srv.commands()[-2:] == ["login", "listPods"]
        # a session that expired on the server: re-login once and carry on
        srv.sessions.clear()
        assert len(await api.list_zones()) == 1
        assert srv.commands()[-3:] == ["listZones", "login", "listZones"]
    assert srv.commands()[-1] == "logout"  # aclose logs out
    assert srv.sessions == {}


async def test_bad_password_is_auth_error(srv: ApiServer) -> None:
    async with CloudStackClient(srv.url, username="admin", password="nope-nope",
                                profile_name="prod") as api:
        with pytest.raises(AuthError) as info:
            await api.list_zones()
    text = one_line(info.value)
    assert info.value.http_status == 531 and "Failed to authenticate user admin" in text
    assert "username, password and domain of profile prod" in text
    assert "nope-nope" not in text


# -- journal ----------------------------------------------------------------------------------

async def test_journal_one_redacted_line_per_call(tmp_path: Path, srv: ApiServer) -> None:
    journal = Journal(tmp_path / "session.jsonl")
    srv.faults["listAlerts"] = Fault(status=530)
    srv.job_plans["rebootSystemVm"] = JobPlan("succeed", polls=1)
    async with client_for(srv, journal) as api:
        await api.list_zones(keyword="a~b")
        await api.update_configuration("consoleproxy.sslEnabled", "true")
        await api.update_configuration("ca.plugin.root.private.key", "PRIVATE-PEM-DATA")
        await api.reboot_system_vm(srv.systemvms[0]["id"])
        with pytest.raises(ApiError):
            await api.list_alerts()
    async with CloudStackClient(srv.url, username="admin", password="pa ss+w/rd~",
                                journal=journal) as api:
        await api.list_pods()
        session_key = api.sessionkey
        # the client registered every credential with the journal's scrubber
        journal.record("note", text=f"{APIKEY} {SECRETKEY} {session_key} pa ss+w/rd~")
    text = (tmp_path / "session.jsonl").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    notes = [e for e in lines if e["event"] == "note"]
    assert len(notes) == 1 and notes[0]["text"].count("***") == 4
    lines.remove(notes[0])
    assert len(lines) == len(srv.requests)
    assert [e["command"] for e in lines] == srv.commands()
    for event in lines:
        assert event["event"] == "api"
        assert {"ts", "command", "params", "method", "status", "duration_ms", "outcome",
                "server"} <= event.keys()
    assert lines[0]["params"] == {"keyword": "a~b", "page": "1", "pagesize": "500"}
    assert lines[0]["outcome"] == "ok"
    assert lines[0]["method"] == "GET" and lines[0]["status"] == 200
    update = next(e for e in lines if e["command"] == "updateConfiguration")
    assert update["method"] == "POST" and update["params"]["value"] == "true"
    secret_conf = [e for e in lines if e["params"].get("name") == "ca.plugin.root.private.key"]
    assert secret_conf[0]["params"]["value"] == "***"
    failed = next(e for e in lines if e["command"] == "listAlerts")
    assert failed["status"] == 530 and "530" in failed["outcome"]
    login = next(e for e in lines if e["command"] == "login")
    assert login["params"]["password"] == "***"
    signatures = [r.params["signature"] for r in srv.requests if "signature" in r.params]
    assert signatures
    forbidden = [APIKEY, SECRETKEY, "pa ss+w/rd~", session_key, "JSESSIONID", "PRIVATE-PEM",
                 *signatures, *srv.sessions.values()]
    for secret in forbidden:
        assert secret and secret not in text, secret


async def test_update_configuration_by_post_and_get_configuration(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        conf = await api.update_configuration("consoleproxy.url.domain", "*.example.org")
        assert conf.value == "*.example.org"
        got = await api.get_configuration("consoleproxy.url.domain")
        assert got is not None and got.value == "*.example.org"
        assert await api.get_configuration("no.such.setting") is None
    post = srv.requests[0]
    assert post.method == "POST" and "example.org" not in post.query_string


async def test_long_parameters_go_by_post(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        await api.list_zones(keyword="x" * 5000)
        await api.list_zones(keyword="short")
    assert [r.method for r in srv.requests] == ["POST", "GET"]
    assert srv.requests[0].params["keyword"] == "x" * 5000


async def test_other_lists(srv: ApiServer) -> None:
    async with client_for(srv) as api:
        assert [p.name for p in await api.list_pods()] == ["pod1"]
        assert [m.version for m in await api.list_management_servers()] == ["4.8.0"]
        alerts = await api.list_alerts()
        assert alerts[0].type == 10 and alerts[0].sent is not None
        assert await api.list_events() == []
        hosts = await api.list_hosts(type="Routing")
        assert [h.name for h in hosts] == ["kvm1"]
        raw = await api.call("listZones", available=True)
        assert raw["count"] == 1 and srv.requests[-1].params["available"] == "true"


async def test_from_profile_duck_typed(srv: ApiServer) -> None:
    profile = types.SimpleNamespace(
        name="lab", source=None, url=srv.url, apikey=APIKEY, secretkey=SECRETKEY,
        username=None, password=None, domain="/", verify_tls=True, timeout=5.0,
        signature_version=3)
    journal = Journal()
    async with CloudStackClient.from_profile(profile, journal) as api:
        assert api.profile_name == "lab" and api.timeout == 5.0
        assert len(await api.list_zones()) == 1
    assert journal.path.exists()
    assert SECRETKEY not in journal.path.read_text()


async def test_cancelled_call_still_journaled(tmp_path: Path, srv: ApiServer) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    srv.faults["listZones"] = Fault(delay=5.0)
    async with client_for(srv, journal) as api:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(api.list_zones(), 0.2)
    (event,) = journal.events()
    assert event["command"] == "listZones" and event["outcome"] == "cancelled"


async def test_logout_of_an_expired_session_does_not_log_in_again(srv: ApiServer) -> None:
    async with CloudStackClient(srv.url, username="admin", password="pa ss+w/rd~") as api:
        await api.list_zones()
        srv.sessions.clear()
        with pytest.raises(AuthError):
            await api.logout()
        assert api.sessionkey is None
    assert srv.commands() == ["login", "listZones", "logout"]


async def test_a_listing_seen_before_sends_its_pages_without_waiting_for_page_1() -> None:
    # the first listing learns the size (page 1 alone, then the rest); the second one sends
    # every page at once, and is still complete, in order, and checked against count
    async with ApiServer(n_systemvms=1800, latency=0.05) as srv:
        async with client_for(srv, page_concurrency=8) as api:
            events: list[tuple[str, str]] = []
            real = api._request

            async def traced(command: str, params: dict[str, str], **kw: Any) -> Any:
                events.append(("sent", params.get("page", "")))
                try:
                    return await real(command, params, **kw)
                finally:
                    events.append(("answered", params.get("page", "")))

            api._request = traced  # type: ignore[method-assign]
            first = await api.list_system_vms()
            assert events[:2] == [("sent", "1"), ("answered", "1")]  # size unknown yet
            events.clear()
            n_first = len(srv.requests)
            second = await api.list_system_vms()
        assert [vm.id for vm in second] == [v["id"] for v in srv.systemvms] == [
            vm.id for vm in first]
        again = srv.requests[n_first:]
        assert sorted(int(r.params["page"]) for r in again) == [1, 2, 3, 4]
        # every page was sent before any answer came back: one round trip, not two
        assert [e for e, _ in events[:4]] == ["sent"] * 4
        # fewer VMs than predicted: the extra pages come back empty and are ignored
        del srv.systemvms[700:]
        async with client_for(srv, page_concurrency=8) as api2:
            api2._list_sizes.update(api._list_sizes)  # as if it had listed 1,800 before
            third = await api2.list_system_vms()
        assert [vm.id for vm in third] == [v["id"] for v in srv.systemvms]
        assert len(third) == 700


async def test_a_new_client_remembers_the_last_run_s_listing_size(tmp_path: Path) -> None:
    # a CLI run starts with the size the previous run saw (list-sizes.json): every page at once
    sizes = tmp_path / "list-sizes.json"
    async with ApiServer(n_systemvms=1200) as srv:
        async with client_for(srv, sizes_file=sizes) as api:
            await api.list_system_vms()
        assert [r.params["page"] for r in srv.requests][:1] == ["1"]
        assert "listSystemVms" in sizes.read_text() and "1200" in sizes.read_text()
        srv.requests.clear()
        async with client_for(srv, sizes_file=sizes) as api2:
            events: list[str] = []
            real = api2._request

            async def traced(command: str, params: dict[str, str], **kw: Any) -> Any:
                events.append("sent")
                try:
                    return await real(command, params, **kw)
                finally:
                    events.append("answered")

            api2._request = traced  # type: ignore[method-assign]
            vms = await api2.list_system_vms()
        assert [vm.id for vm in vms] == [v["id"] for v in srv.systemvms]
        assert events[:3] == ["sent"] * 3  # pages 1-3 before any answer
        # a broken file is ignored (a hint only)
        sizes.write_text("{not json")
        async with client_for(srv, sizes_file=sizes) as api3:
            assert len(await api3.list_system_vms()) == 1200
