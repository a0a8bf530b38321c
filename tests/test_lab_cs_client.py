"""Wire compatibility with an independent client: the PyPI ``cs`` package (and plain httpx for
the username/password login cs lacks) against ``cspctl lab serve`` run as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cs
import httpx
import pytest


def start_serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    info = tmp_path / "lab-info.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cspctl", "lab", "serve", "--info", str(info),
         "--time-scale", "0.01", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not info.exists():
        if proc.poll() is not None:
            raise AssertionError(f"lab serve exited {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("lab serve did not become ready")
        time.sleep(0.05)
    return proc, json.loads(info.read_text())


def stop_serve(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str, str]:
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, out, err


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    proc, info = start_serve(tmp_path)
    try:
        yield info
    finally:
        if proc.poll() is None:
            code, _out, err = stop_serve(proc)
            assert code == 0, err


def client(info: dict[str, Any]) -> cs.CloudStack:
    return cs.CloudStack(endpoint=info["url"], key=info["apikey"], secret=info["secretkey"],
                         poll_interval=0.05, job_timeout=60, timeout=10)


def test_info_file_has_every_key(served: dict[str, Any]) -> None:
    for key in ("url", "apikey", "secretkey", "username", "password", "domain", "ssh_key",
                "ssh_user", "ssh_port"):
        assert key in served
    assert served["url"].startswith("http://127.0.0.1:") and served["url"].endswith(
        "/client/api")
    assert Path(served["ssh_key"]).is_file()
    assert served["ssh_user"] == "root"


def test_cs_lists_zones_and_system_vms(served: dict[str, Any]) -> None:
    api = client(served)
    zones = api.listZones(fetch_list=True)
    assert [z["name"] for z in zones] == ["tokyo-z1"]
    vms = api.listSystemVms(fetch_list=True)
    assert sorted(v["name"] for v in vms) == ["s-1-VM", "v-2-VM"]
    assert all("agentstate" not in v for v in vms)  # 4.8: not yet in listSystemVms
    hosts = api.listHosts(type="ConsoleProxy")
    assert hosts["host"][0]["name"] == "v-2-VM"


def test_cs_reboots_a_system_vm_polling_the_job(served: dict[str, Any]) -> None:
    api = client(served)
    cp = api.listSystemVms(systemvmtype="consoleproxy")["systemvm"][0]
    result = api.rebootSystemVm(id=cp["id"], fetch_result=True)
    assert result["systemvm"]["id"] == cp["id"]
    assert result["systemvm"]["state"] == "Running"
    events = api.listEvents(type="PROXY.REBOOT", fetch_list=True)
    assert any(e["state"] == "Completed" for e in events)


def test_cs_errors_are_cloudstack_errors(served: dict[str, Any]) -> None:
    api = client(served)
    with pytest.raises(cs.CloudStackApiException) as exc:
        api.stopSystemVm()
    assert exc.value.error["errorcode"] == 431
    assert exc.value.error["errortext"].endswith("due to missing parameter id")
    with pytest.raises(cs.CloudStackApiException) as exc:
        api.listFooBars()
    assert exc.value.error["errorcode"] == 432
    # cs leaves '~' unencoded: the server (like Java) computes another signature -> 401
    with pytest.raises(cs.CloudStackApiException) as exc:
        api.listZones(keyword="a~b")
    assert exc.value.error["errorcode"] == 401


def test_login_with_username_password_over_plain_http(served: dict[str, Any]) -> None:
    with httpx.Client(timeout=10) as http:
        resp = http.post(served["url"], data={
            "command": "login", "username": served["username"],
            "password": served["password"], "domain": served["domain"], "response": "json"})
        assert resp.status_code == 200
        key = resp.json()["loginresponse"]["sessionkey"]
        assert "JSESSIONID" in http.cookies
        vms = http.get(served["url"], params={"command": "listSystemVms", "response": "json",
                                              "sessionkey": key})
        assert vms.status_code == 200
        assert vms.json()["listsystemvmsresponse"]["count"] == 2
        out = http.post(served["url"], data={"command": "logout", "response": "json",
                                             "sessionkey": key})
        assert out.json() == {"logoutresponse": {"description": "success"}}


def test_large_serves_5000_system_vms(tmp_path: Path) -> None:
    proc, info = start_serve(tmp_path, "--scenario", "large", "--no-save")
    try:
        vms = client(info).listSystemVms(fetch_list=True)
        assert len(vms) == 5000
        assert len({v["name"] for v in vms}) == 5000
    finally:
        code, _out, err = stop_serve(proc, signal.SIGTERM)
        assert code == 0, err
