"""Fleets at the network limit, counted (not timed) against the lab: one SSH connection and one
round trip per VM for the declared probes, known_hosts parsed once, and ``--limit`` sampling
that never lists the whole cloud."""

from __future__ import annotations

from typing import Any

import asyncssh

from cspctl.diagnostics.checks import CATALOGUE
from cspctl.diagnostics.runner import DEFAULT_CONCURRENCY, DiagnosisRunner
from cspctl.diagnostics.select import select_vms
from cspctl.lab.runner import Lab
from cspctl.session import Session
from cspctl.ssh import connect as connect_module


async def test_n_vms_one_connection_and_one_probe_round_trip_each(monkeypatch: Any) -> None:
    parsed: list[str] = []
    real_read = asyncssh.read_known_hosts

    def counting_read(path: Any) -> Any:
        parsed.append(str(path))
        return real_read(path)

    monkeypatch.setattr(asyncssh, "read_known_hosts", counting_read)
    monkeypatch.setattr(connect_module, "_KNOWN_HOSTS", {})
    async with Lab("large", time_scale=0.01) as lab:
        session = Session.open(profile=lab.profile())
        async with session:
            vms = await select_vms(session.api, zone="zone01", limit=12)
            runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                                     journal=session.journal, timeout=20)
            diagnosis = await runner.run(vms)
            events = list(session.journal.events())
        counts = dict(lab.ssh.connection_counts)
    names = {vm.name for vm in vms}
    assert len(names) == 12
    # one SSH connection per VM (and one per host), however many checks ran on it
    per_vm = {k: n for k, n in counts.items() if k.startswith("vm:")}
    assert len(per_vm) == 12 and set(per_vm.values()) == {1}, counts
    declared = {p for c in CATALOGUE for p in c.probes}
    execs: dict[str, list[str]] = {}
    for e in events:
        if e["event"] == "ssh.command":
            execs.setdefault(e["vm"], []).append(e["command"])
    for report in diagnosis.reports:
        assert report.finding("ssh").status.value == "ok"  # type: ignore[union-attr]
        evidence = {e.command for f in report.findings for e in f.evidence if e.source == "vm"}
        probes = evidence & declared
        assert len(probes) >= 12, probes  # shown per step, each with its own command
        sent = execs[report.vm.name]
        # every declared probe went out in the VM's first exec: one round trip between them
        assert all(p in sent[0] for p in probes), (report.vm.name, probes, sent[0])
        later = evidence - declared  # commands that depend on what the probes found
        writes = [c for c in sent if ".cspctl-write-test" in c]
        scripts = [c for c in sent[1:] if c not in writes]
        # ...gathered into one more script (never one exec each), the write test alone
        assert len(scripts) <= 1 and len(writes) <= 1, (report.vm.name, sent)
        assert all(any(c in s for s in scripts) for c in later - set(writes)), (later, sent)
        assert len(sent) <= 3, (report.vm.name, sent)
    # known_hosts (the hosts' keys) was parsed once for every host connection
    assert len(parsed) == 1, parsed
    # the routes' hypervisor hosts: one listHosts for the zone, not one per VM
    hosts = [e["params"] for e in events if e["event"] == "api" and e["command"] == "listHosts"]
    assert [p for p in hosts if p.get("type") == "Routing"] == [
        {"zoneid": vms[0].zoneid, "type": "Routing", "page": "1", "pagesize": "500"}]
    assert not [p for p in hosts if "id" in p]


async def test_all_with_limit_lists_only_what_it_needs() -> None:
    async with Lab("large", time_scale=0.01) as lab:
        session = Session.open(profile=lab.profile())
        async with session:
            one = await select_vms(session.api, all_vms=True, limit=1)
            first = [e for e in session.journal.events() if e["event"] == "api"]
            many = await select_vms(session.api, all_vms=True, limit=150)
            second = [e for e in session.journal.events() if e["event"] == "api"][len(first):]
    assert len(one) == 1 and one[0].zonename == "zone01"
    listed = [e["params"] for e in first if e["command"] == "listSystemVms"]
    assert [e["command"] for e in first].count("listZones") == 1
    assert listed == [{"zoneid": one[0].zoneid, "page": "1", "pagesize": "1"}]
    # 150 VMs over zones of 100: two zones asked, one page each, never the 5,000
    sys_calls = [e["params"] for e in second if e["command"] == "listSystemVms"]
    assert len(many) == 150 and len({vm.zoneid for vm in many}) == 2
    assert [p["pagesize"] for p in sys_calls] == ["150", "50"]
    assert all("zoneid" in p for p in sys_calls)


def test_default_concurrency_is_for_fleets_and_shared_with_the_console() -> None:
    from cspctl.cli import cmd_diagnose
    from tui.settings import UiSettings

    assert DEFAULT_CONCURRENCY >= 16
    assert UiSettings().diagnose_concurrency == DEFAULT_CONCURRENCY
    assert cmd_diagnose.DEFAULT_CONCURRENCY == DEFAULT_CONCURRENCY


async def test_zone_with_limit() -> None:
    limit = 3
    async with Lab("large", time_scale=0.01) as lab:
        session = Session.open(profile=lab.profile())
        async with session:
            vms = await select_vms(session.api, zone="zone07", limit=limit)
            calls = [e for e in session.journal.events()
                     if e["event"] == "api" and e["command"] == "listSystemVms"]
    assert len(vms) == limit and {vm.zonename for vm in vms} == {"zone07"}
    assert len(calls) == 1 and calls[0]["params"]["pagesize"] == str(limit)
