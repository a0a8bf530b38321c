"""Envelope parsing: every recorded response in tests/fixtures/cloudstack, plus edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cspctl.cloudstack import envelope
from cspctl.cloudstack.errors import ApiError, AuthError, BadResponse, JobFailed
from cspctl.cloudstack.models import (
    Alert,
    AsyncJob,
    Capabilities,
    Configuration,
    Host,
    Model,
    Pod,
    SystemVm,
    Zone,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cloudstack"
LIST_MODELS: dict[str, type[Model]] = {
    "listZones": Zone, "listPods": Pod, "listHosts": Host, "listConfigurations": Configuration,
    "listAlerts": Alert, "listAsyncJobs": AsyncJob, "listSystemVms": SystemVm,
}
SERVER = "mgmt.example:8080"


def decode(command: str, body: bytes, ctype: str = "application/json;charset=UTF-8",
           status: int = 200) -> dict:
    return envelope.decode_body(SERVER, command, status, ctype, body)[1]


def fixture_files() -> list[Path]:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) >= 30, f"fixtures missing at {FIXTURES}"
    return files


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_every_fixture_parses(path: Path) -> None:
    command, case = path.name.split(".")[0], path.name.split(".", 1)[1]
    body = path.read_bytes()
    doc = json.loads(body)
    inner = decode(command, body, "text/javascript;charset=UTF-8")
    err = envelope.error_from_inner(SERVER, command, inner, 200)
    if case.startswith("error"):
        assert isinstance(err, ApiError) and not isinstance(err, AuthError)
        assert err.errorcode == 431 and err.errortext == inner["errortext"]
        assert err.cserrorcode == inner.get("cserrorcode")
        assert err.errortext in str(err) and "\n" not in str(err)
        assert command in str(err) and SERVER in str(err)
        return
    assert err is None
    if case.startswith("async-accepted"):
        assert str(inner["jobid"])
    elif command == "queryAsyncJobResult":
        job = AsyncJob.from_api(inner)
        assert job.jobid is not None and job.raw == inner
        if "failed" in case:
            assert job.jobstatus == 2 and job.jobresultcode == 530 and job.errortext
            failed = JobFailed(job, server=SERVER, command="attachVolume")
            assert failed.errortext == job.errortext and job.errortext in str(failed)
        else:
            assert job.succeeded and job.jobresult
    elif command == "login":
        assert inner["sessionkey"] and inner["username"]
    elif command == "logout":
        assert inner == {"description": "success"}
    elif command == "listCapabilities":
        caps = envelope.parse_single(inner, Capabilities)
        assert caps.cloudstackversion and caps.securitygroupsenabled is not None
    elif command == "updateConfiguration":
        conf = envelope.parse_single(inner, Configuration)
        assert conf.name and conf.value is not None
    elif command.startswith("list"):
        model = LIST_MODELS.get(command, Model)
        rows = envelope.parse_list(inner, model)
        count = envelope.list_count(inner)
        if count is None:
            assert inner == {} or rows
        else:
            assert len(rows) == count
        assert all(isinstance(r, model) for r in rows)
        raw_rows = next((v for v in inner.values() if isinstance(v, list)), [])
        assert [r.raw for r in rows] == raw_rows  # nothing dropped
    else:
        pytest.fail(f"fixture {path.name} is not covered by this test")
    assert any(k.endswith("response") for k in doc)


def test_41_extra_cloudstack_version_key_and_leading_space() -> None:
    body = (FIXTURES / "deployVirtualMachine.async-accepted.cs4.1-snapshot.json").read_bytes()
    assert body.startswith(b" ")
    key, inner = envelope.decode_body(SERVER, "deployVirtualMachine", 200,
                                      "application/json", body)
    assert key == "deployvirtualmachineresponse"
    assert inner["jobid"] == "13330fc9-8b3e-4582-aa3e-90883c041ff0"


def test_22_spaced_hosts_with_systemvm_hosts() -> None:
    body = (FIXTURES / "listHosts.cs2.2.12-xen-routing-secstorage-alert-ssvm-cpvm.json")
    hosts = envelope.parse_list(decode("listHosts", body.read_bytes()), Host)
    assert [h.type for h in hosts] == ["Routing", "SecondaryStorage", "SecondaryStorageVM",
                                       "ConsoleProxy"]
    assert hosts[0].id == "1"  # integer ids become strings
    assert hosts[1].state == "Alert"


def test_missing_fields_are_none_and_extra_fields_are_kept() -> None:
    vm = SystemVm.from_api({"id": "x", "name": "v-1-VM", "futurefield": {"a": 1},
                            "activeviewersessions": "3", "created": "2021-04-29T19:00:02+0000"})
    assert vm.agentstate is None and vm.linklocalip is None and vm.state is None
    assert vm.get("futurefield") == {"a": 1} and vm.raw["futurefield"] == {"a": 1}
    assert vm.activeviewersessions == 3 and vm.created is not None
    assert vm.created.utcoffset().total_seconds() == 0
    zone = Zone.from_api({})
    assert zone.id is None and zone.raw == {}
    host = Host.from_api({"id": 7, "disconnected": "garbage", "lastpinged": None})
    assert host.id == "7" and host.disconnected is None and host.lastpinged is None


def test_empty_list_and_page_past_end() -> None:
    assert envelope.parse_list(decode("listSystemVms", b'{"listsystemvmsresponse":{}}'),
                               SystemVm) == []
    inner = decode("listZones", b'{"listzonesresponse":{"count":5}}')
    assert envelope.parse_list(inner, Zone) == [] and envelope.list_count(inner) == 5


@pytest.mark.parametrize("ctype", ["application/json", "application/json; charset=UTF-8",
                                   "text/javascript", "text/javascript;charset=UTF-8"])
def test_json_content_types_accepted(ctype: str) -> None:
    assert decode("listZones", b'{"listzonesresponse":{}}', ctype) == {}


@pytest.mark.parametrize(("ctype", "body", "hint"), [
    ("text/html", b"<html><title>502 Bad Gateway</title></html>", "/client/api"),
    ("text/xml; charset=UTF-8", b'<?xml version="1.0"?><listzonesresponse/>', "XML"),
    ("application/json", b"{not json", "not valid JSON"),
    ("application/json", b'{"something":"else"}', "response"),
    (None, b"", None),
])
def test_foreign_bodies_are_bad_responses(ctype: str | None, body: bytes,
                                          hint: str | None) -> None:
    with pytest.raises(BadResponse) as info:
        decode("listZones", body, ctype, status=502)  # type: ignore[arg-type]
    text = str(info.value)
    assert "\n" not in text and "HTTP 502" in text and SERVER in text and "listZones" in text
    assert info.value.snippet == " ".join(body.decode()[:200].split())[:120]
    if hint:
        assert hint in text


def test_error_envelopes_map_to_types() -> None:
    e401 = envelope.error_from_inner(SERVER, "listZones", {
        "uuidList": [], "errorcode": 401,
        "errortext": "unable to verify user credentials and/or request signature"}, 401)
    assert isinstance(e401, AuthError) and e401.cserrorcode is None
    e432 = envelope.error_from_inner(SERVER, "x", decode("x", json.dumps({"errorresponse": {
        "uuidList": [], "errorcode": 432, "errortext": "The given command does not exist"}})
        .encode()), 432)
    assert isinstance(e432, AuthError) and e432.http_status == 432
    e530 = envelope.error_from_inner(SERVER, "listZones", {"errorcode": "530",
                                                           "errortext": "boom"}, 530)
    assert type(e530) is ApiError and e530.errorcode == 530
    assert "CloudStack error 530: boom" in str(e530)


def test_text_job_result_of_old_servers() -> None:
    job = AsyncJob.from_api({"jobid": 1, "jobstatus": 2, "jobresulttype": "text",
                             "jobresult": "Failed to reboot"})
    assert job.errortext == "Failed to reboot"
    assert "Failed to reboot" in str(JobFailed(job, server=SERVER, command="rebootSystemVm"))
