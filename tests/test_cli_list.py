"""``cspctl list``: the real command in a subprocess against a loopback CloudStack (the test API
server and the lab)."""

from __future__ import annotations

import asyncio
import json
import re

from cspctl.config import save_profile
from cspctl.lab.runner import Lab
from cspctl.sessionlog import state_dir
from tests.apiserver import ApiServer
from tests.cli_helpers import assert_one_clean_error_line, run_cli


def env_for(srv: ApiServer) -> dict[str, str]:
    return {"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey, "CSPCTL_SECRETKEY": srv.secretkey}


def rows(table: str) -> dict[str, str]:
    """Table line by the NAME column (second column)."""
    out = {}
    for line in table.splitlines()[1:]:
        name = line[3:].split()[0]
        out[name] = line
    return out


async def test_list_systemvms_table_marks_unhealthy_rows() -> None:
    async with ApiServer(n_systemvms=4) as srv:
        res = await run_cli("list", "systemvms", env=env_for(srv))
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    lines = res.stdout.splitlines()
    header = lines[0]
    assert re.split(r"\s{2,}", header) == [
        "!", "NAME", "TYPE", "STATE", "AGENT", "HOST", "PUBLIC IP", "PRIVATE IP",
        "LINK-LOCAL IP", "VERSION", "ZONE",
    ]  # fmt: skip
    by_name = rows(res.stdout)
    assert set(by_name) == {"v-1-VM", "s-2-VM", "v-3-VM", "s-4-VM"}
    # v-1-VM is Running with its agent Disconnected: marked; the others are not
    assert by_name["v-1-VM"].startswith("!  v-1-VM")
    assert "Disconnected" in by_name["v-1-VM"] and "CPVM" in by_name["v-1-VM"]
    for name in ("s-2-VM", "v-3-VM", "s-4-VM"):
        assert by_name[name].startswith("   " + name)
    assert "169.254.0.2" in by_name["s-2-VM"] and "SSVM" in by_name["s-2-VM"]
    # aligned: every column starts at the same offset on every line
    col = header.index("AGENT")
    assert all(line[col:].split()[0] in ("AGENT", "Up", "Disconnected") for line in lines)


async def test_list_systemvms_json_has_every_field() -> None:
    async with ApiServer(n_systemvms=3) as srv:
        res = await run_cli("list", "systemvms", "--json", env=env_for(srv))
        sent = srv.systemvms
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert [d["id"] for d in data] == [vm["id"] for vm in sent]
    for got, vm in zip(data, sent, strict=True):
        assert got == vm  # exactly what CloudStack returned, unknown fields included


async def test_legacy_server_agent_state_joined_from_hosts() -> None:
    """Before 4.13.1 listSystemVms has no agentstate: the table and JSON still show it."""
    async with ApiServer(n_systemvms=2, legacy=True) as srv:
        table, js = await asyncio.gather(
            run_cli("list", "systemvms", env=env_for(srv)),
            run_cli("list", "systemvms", "--json", env=env_for(srv)),
        )
    by_name = rows(table.stdout)
    assert by_name["v-1-VM"].startswith("!") and "Disconnected" in by_name["v-1-VM"]
    assert "Up" in by_name["s-2-VM"].split() and not by_name["s-2-VM"].startswith("!")
    data = {d["name"]: d for d in json.loads(js.stdout)}
    assert data["v-1-VM"]["agentstate"] == "Disconnected"
    assert data["s-2-VM"]["templatename"] == "systemvm-kvm-4.8"


async def test_zone_by_name_or_id_filters_and_unknown_zone_exits_3() -> None:
    async with ApiServer(n_systemvms=2) as srv:
        by_name, by_id, zones, bad = await asyncio.gather(
            run_cli("list", "systemvms", "--zone", "zone1", "--json", env=env_for(srv)),
            run_cli("list", "hosts", "--zone", "zone-1", env=env_for(srv)),
            run_cli("list", "zones", "--zone", "ZONE1", env=env_for(srv)),
            run_cli("list", "systemvms", "--zone", "atlantis", env=env_for(srv)),
        )
        seen = [(r.command, r.params.get("zoneid")) for r in srv.requests]
    assert by_name.returncode == 0 and len(json.loads(by_name.stdout)) == 2
    assert ("listSystemVms", "zone-1") in seen and ("listHosts", "zone-1") in seen
    assert by_id.returncode == 0 and "kvm1" in rows(by_id.stdout)
    assert zones.returncode == 0 and list(rows(zones.stdout)) == ["zone1"]
    assert bad.returncode == 3  # not found: the same code as diagnose --zone atlantis
    line = assert_one_clean_error_line(bad)
    assert line == "cspctl: no zone named 'atlantis' in profile env; known zones: zone1"
    assert bad.stdout == ""


async def test_list_hosts_and_zones_tables() -> None:
    async with ApiServer(n_systemvms=2) as srv:
        hosts, zones = await asyncio.gather(
            run_cli("list", "hosts", env=env_for(srv)),
            run_cli("list", "zones", "--json", env=env_for(srv)),
        )
    by_name = rows(hosts.stdout)
    assert by_name["kvm1"].startswith("   kvm1") and "Routing" in by_name["kvm1"]
    assert by_name["v-1-VM"].startswith("!")  # its agent host record is Disconnected
    assert json.loads(zones.stdout)[0]["zonetoken"] == "zt"  # every field, even unknown ones


async def test_list_writes_a_redacted_journal() -> None:
    async with ApiServer(n_systemvms=2) as srv:
        res = await run_cli("list", "systemvms", env=env_for(srv))
    assert res.returncode == 0
    (journal,) = (state_dir() / "sessions").glob("*.jsonl")
    text = journal.read_text()
    events = [json.loads(line) for line in text.splitlines()]
    names = [e["event"] for e in events]
    assert names[0] == "session.start" and names[-1] == "session.end"
    assert events[0]["profile"] == "env" and events[0]["url"] == srv.url
    assert any("listSystemVms" in json.dumps(e) for e in events[1:-1])
    assert srv.secretkey not in text and srv.apikey not in text
    assert (journal.stat().st_mode & 0o077) == 0


async def test_list_against_the_lab_via_saved_profile() -> None:
    async with Lab("seed", time_scale=0.01) as lab:
        save_profile(lab.profile())
        js, table = await asyncio.gather(
            run_cli("--profile", "lab", "list", "systemvms", "--json"),
            run_cli("--profile", "lab", "list", "systemvms"),
        )
        expected = {vm.id for vm in lab.world.live_vms()}
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert {d["id"] for d in data} == expected
    by_name = rows(table.stdout)
    assert set(by_name) == {d["name"] for d in data}
    for d in data:
        healthy = d.get("state") == "Running" and d.get("agentstate") == "Up"
        assert by_name[d["name"]].startswith("   " if healthy else "!  "), by_name[d["name"]]
    # the seed incident: a CPVM Running with its agent Disconnected
    assert any(
        d["systemvmtype"] == "consoleproxy"
        and d["state"] == "Running"
        and d.get("agentstate") == "Disconnected"
        for d in data
    )


def test_json_output_is_exactly_indent_2() -> None:
    import json as _json

    from cspctl.cli.cmd_list import dump_json

    cases: list[list[dict[str, object]]] = [
        [], [{}], [{"a": 1}], [{"a": [1, {"b": None}], "c": 'é\n"x'}],
        [{"x": 1.5, "y": True, "z": None, "u": "ü", "e": "\x1b[31m"}, {"n": {"m": []}}],
    ]
    for rows in cases:
        assert dump_json(rows) == _json.dumps(rows, indent=2, ensure_ascii=False)
