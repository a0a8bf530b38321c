"""Diagnostics against the lab: real API over loopback HTTP, real SSH through the lab hosts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from cspctl.diagnostics.checks import CATALOGUE, by_id
from cspctl.diagnostics.checks.base import VM
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import AppliesTo, Check, Finding, Status
from cspctl.diagnostics.report import render_text
from cspctl.diagnostics.runner import (
    Diagnosis,
    DiagnosisRunner,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)
from cspctl.diagnostics.select import select_vms
from cspctl.lab.runner import Lab
from cspctl.session import Session

TIME_SCALE = 0.01


@contextlib.asynccontextmanager
async def lab_session(scenario: str, **lab_kw: Any) -> AsyncIterator[tuple[Lab, Session]]:
    async with Lab(scenario, time_scale=TIME_SCALE, **lab_kw) as lab:
        session = Session.open(profile=lab.profile())
        async with session:
            yield lab, session


async def diagnose(
    session: Session,
    names: Sequence[str] = (),
    *,
    checks: Sequence[Check] | None = None,
    timeout: float = 10.0,
    **kw: Any,
) -> Diagnosis:
    vms = await select_vms(session.api, names, all_vms=not names)
    runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                             journal=session.journal, checks=checks, timeout=timeout, **kw)
    return await runner.run(vms)


def by_vm(diagnosis: Diagnosis) -> dict[str, dict[str, Finding]]:
    return {r.vm.name: {f.check_id: f for f in r.findings} for r in diagnosis.reports}


def assert_nothing_else_failed(diagnosis: Diagnosis, expected: set[tuple[str, str]]) -> None:
    """Only the expected (vm, check) pairs (and the concluding agent-state) may be bad."""
    for vm, findings in by_vm(diagnosis).items():
        for cid, f in findings.items():
            if (vm, cid) in expected or cid == "agent-state":
                continue
            assert f.status in (Status.OK, Status.SKIPPED, Status.WARN), (vm, cid, f)
            assert f.status is not Status.SKIPPED or cid in ALLOWED_SKIPS, (vm, cid, f)


ALLOWED_SKIPS = {"agent-cert", "console-cert"}  # before 4.11; console SSL off


async def test_seed_reports_the_incident_and_its_playbooks() -> None:
    async with lab_session("seed") as (_lab, session):
        diagnosis = await diagnose(session)
        events = list(session.journal.events())
    found = by_vm(diagnosis)
    cp, ss = found["v-2-VM"], found["s-1-VM"]
    # agent Disconnected, attributed to the deleted cwd
    assert cp["agent-state"].status is Status.FAIL
    assert "Disconnected" in cp["agent-state"].summary
    assert cp["agent-state"].playbook == "protect-assets"
    assert ss["agent-state"].status is Status.FAIL
    # java cwd deleted
    cwd = cp["java-cwd"]
    assert cwd.status is Status.FAIL and cwd.playbook == "protect-assets"
    assert "(deleted)" in cwd.summary
    assert "cloud-early-config re-patched the VM" in cwd.summary  # after java started
    assert any("/proc/" in e.command and "(deleted)" in e.output for e in cwd.evidence)
    assert "chattr +i" in (cwd.advice or "")
    assert ss["java-cwd"].status is Status.FAIL
    # assets 404
    assets = cp["static-assets"]
    assert assets.status is Status.FAIL and assets.playbook == "protect-assets"
    assert "404" in assets.summary
    assert sum("curl" in e.command for e in assets.evidence) == 3
    # timezone mismatch VM UTC vs host JST
    tz = cp["timezone"]
    assert tz.status is Status.WARN and tz.playbook == "fix-timezone"
    assert "UTC" in tz.summary and "JST" in tz.summary
    # the agent log corroborates: the keystore vanished with the working directory
    assert cp["agent-log"].status is Status.WARN
    assert "realhostip.keystore" in cp["agent-log"].summary
    assert "working directory" in (cp["agent-log"].advice or "")
    # realhostip.com settings
    assert cp["ssl-settings"].status in (Status.WARN, Status.FAIL)
    assert cp["ssl-settings"].playbook == "ssl-off"
    assert "realhostip.com" in cp["ssl-settings"].summary
    assert ss["ssvm-ssl-settings"].status is Status.FAIL
    assert ss["ssvm-ssl-settings"].playbook == "ssl-off"
    # the healthy parts are not reported failed
    for cid in ("vm-state", "ssh", "boot-params", "mgmt-connect", "java-process",
                "cloud-service", "ports", "clock-drift", "disk", "memory", "version"):
        assert cp[cid].status is Status.OK, (cid, cp[cid])
    assert cp["agent-cert"].status is Status.SKIPPED  # 4.8 has no CA framework
    playbooks = set(diagnosis.reports[0].playbooks) | set(diagnosis.reports[1].playbooks)
    assert {"protect-assets", "fix-timezone", "ssl-off"} <= playbooks
    assert diagnosis.exit_code == 2
    # journal: start, one finding per check, end
    names = [e["event"] for e in events]
    assert names.count("diag.start") == 1 and names.count("diag.end") == 1
    recorded = [e for e in events if e["event"] == "diag.finding"]
    assert len(recorded) == sum(len(r.findings) for r in diagnosis.reports)
    cwd_rec = next(e for e in recorded if e["check_id"] == "java-cwd" and e["vm"] == "v-2-VM")
    assert cwd_rec["status"] == "fail" and cwd_rec["playbook"] == "protect-assets"


async def test_healthy_is_all_ok() -> None:
    async with lab_session("healthy") as (_lab, session):
        diagnosis = await diagnose(session)
    for report in diagnosis.reports:
        for f in report.findings:
            if f.check_id == "console-cert":  # SSL is off in this scenario
                assert f.status is Status.SKIPPED and f.reason == "console SSL is off"
                continue
            assert f.status is Status.OK, (report.vm.name, f)
    assert diagnosis.exit_code == 0
    # each VM ran its own catalogue
    cp = by_vm(diagnosis)["v-2-VM"]
    assert "static-assets" in cp and "secondary-storage" not in cp
    ss = by_vm(diagnosis)["s-1-VM"]
    assert "secondary-storage" in ss and "static-assets" not in ss


SCENARIO_FAULTS = [
    ("mgmt-port-blocked", {("v-2-VM", "mgmt-connect"), ("s-1-VM", "mgmt-connect")}, None),
    ("clock-drift", {("v-2-VM", "clock-drift")}, "fix-timezone"),
    ("disk-full", {("s-1-VM", "disk")}, "free-disk"),
    ("template-mismatch", {("v-2-VM", "version"), ("s-1-VM", "version")}, "recreate"),
    ("cert-expired", {("v-2-VM", "agent-cert"), ("s-1-VM", "agent-cert")}, "provision-cert"),
    ("ssvm-storage", {("s-1-VM", "secondary-storage")}, None),
]


@pytest.mark.parametrize(("scenario", "expected", "playbook"), SCENARIO_FAULTS,
                         ids=[s[0] for s in SCENARIO_FAULTS])
async def test_each_scenario_fault_is_found_by_the_right_check(
    scenario: str, expected: set[tuple[str, str]], playbook: str | None
) -> None:
    async with lab_session(scenario) as (_lab, session):
        diagnosis = await diagnose(session)
    found = by_vm(diagnosis)
    for vm, cid in expected:
        f = found[vm][cid]
        assert f.status is Status.FAIL, (vm, cid, f)
        assert f.advice
        if playbook:
            assert f.playbook == playbook, (vm, cid, f)
    assert_nothing_else_failed(diagnosis, expected)
    assert diagnosis.exit_code == 2


async def test_unreachable_vm_skips_in_vm_checks_with_the_reason() -> None:
    async with lab_session("healthy") as (lab, session):
        cp = next(v for v in lab.world.system_vms if v.name == "v-2-VM")
        # the host now answers at an address where nothing listens
        cp.host.ipaddress = "127.0.9.9"
        diagnosis = await diagnose(session, ["v-2-VM"])
    found = by_vm(diagnosis)["v-2-VM"]
    ssh = found["ssh"]
    assert ssh.status is Status.FAIL
    assert "127.0.9.9" in ssh.summary
    for check in CATALOGUE:
        if check.id in found and check.id != "ssh" and "vm_ssh" in check.needs:
            f = found[check.id]
            assert f.status is Status.SKIPPED, (check.id, f)
            assert f.reason and "127.0.9.9" in f.reason
    assert found["vm-state"].status is Status.OK
    assert found["ssl-settings"].status is Status.OK  # API checks still run
    text = render_text(diagnosis)
    assert "- SKIP  Java working directory intact: skipped: connection refused at host" in text
    assert "✘ FAIL  SSH access to the VM (each hop): host hop unreachable" in text
    assert found["agent-state"].status is Status.OK


async def _sleeper(ctx: CheckContext) -> Finding:
    await ctx.vm_run("sleep 5")
    return ctx.ok("woke up")


SLEEPER = Check("sleeper", "A command that hangs", (AppliesTo.SYSTEMVM,), VM, _sleeper)


async def test_hanging_command_is_an_error_and_the_rest_still_run() -> None:
    checks = [by_id("ssh"), by_id("vm-state"), SLEEPER, by_id("boot-params"),
              by_id("java-process"), by_id("disk")]
    async with lab_session("healthy") as (lab, session):
        lab.ssh.command_time_scale = 1.0  # `sleep 5` really takes 5 s
        loop = asyncio.get_running_loop()
        started = loop.time()
        diagnosis = await diagnose(session, ["v-2-VM"], checks=checks, timeout=0.5)
        elapsed = loop.time() - started
    found = by_vm(diagnosis)["v-2-VM"]
    assert found["sleeper"].status is Status.ERROR
    assert found["sleeper"].reason == "timed out after 0.5 s"
    assert any(e.command == "sleep 5" for e in found["sleeper"].evidence)
    for cid in ("ssh", "vm-state", "boot-params", "java-process", "disk"):
        assert found[cid].status is Status.OK, (cid, found[cid])
    assert elapsed < 5
    assert diagnosis.exit_code == 1
    text = render_text(diagnosis)
    assert "? ERROR A command that hangs: could not check: timed out after 0.5 s" in text
    assert "vm$ sleep 5" in text  # the evidence names the command that hung


async def test_events_stream_in_order() -> None:
    events: list[Any] = []
    async with lab_session("healthy") as (_lab, session):
        diagnosis = await diagnose(session, ["v-2-VM"], on_event=events.append)
    assert isinstance(events[0], RunStarted)
    assert events[0].vm.name == "v-2-VM"
    assert isinstance(events[-1], RunFinished)
    ids = events[0].check_ids
    started = [e.check_id for e in events if isinstance(e, StepStarted)]
    finished = [e.finding.check_id for e in events if isinstance(e, StepFinished)]
    assert sorted(started) == sorted(ids) == sorted(finished)
    assert finished[-1] == "agent-state"  # concludes after every other step
    assert started.index("ssh") < started.index("boot-params")
    assert [f.check_id for f in events[-1].findings] == list(ids)
    assert list(events[-1].findings) == diagnosis.reports[0].findings


async def test_large_zone_sample_bounded_concurrency_one_connection_per_vm() -> None:
    in_flight = peak = 0

    def track(event: Any) -> None:
        nonlocal in_flight, peak
        if isinstance(event, RunStarted):
            in_flight += 1
            peak = max(peak, in_flight)
        elif isinstance(event, RunFinished):
            in_flight -= 1

    async with lab_session("large") as (lab, session):
        vms = (await select_vms(session.api, zone="zone03"))[:12]
        runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                                 journal=session.journal, concurrency=4, timeout=10,
                                 on_event=track)
        diagnosis = await runner.run(vms)
        counts = lab.ssh.connection_counts
    assert len(diagnosis.reports) == 12
    assert peak <= 4
    for report in diagnosis.reports:
        assert report.finding("ssh").status is Status.OK, report.finding("ssh")
        assert counts[f"vm:{report.vm.name}"] == 1, (report.vm.name, counts)


async def test_seed_workaround_shows_up_in_the_next_diagnosis() -> None:
    """After the operator's workaround the same checks turn OK and name the protection."""
    from cspctl.ssh import resolve_route

    async with lab_session("seed") as (_lab, session):
        vm = (await select_vms(session.api, ["v-2-VM"]))[0]
        route = await resolve_route(vm, session.api, session.profile)
        d = "/usr/local/cloud/systemvm"
        for command in (f"chattr +i {d}/images {d}/js {d}/css", "pkill java",
                        "/etc/init.d/cloud start", "/etc/init.d/cloud-early-config start"):
            await session.ssh.run(route, command)
        for _ in range(100):  # the agent reconnects after a (scaled) moment
            vm = (await select_vms(session.api, ["v-2-VM"]))[0]
            if vm.agentstate == "Up":
                break
            await asyncio.sleep(0.05)
        diagnosis = await diagnose(session, ["v-2-VM"])
    found = by_vm(diagnosis)["v-2-VM"]
    assert found["java-cwd"].status is Status.OK
    assert found["static-assets"].status is Status.OK
    protection = found["asset-protection"]
    assert protection.status is Status.OK
    assert "immutable" in protection.summary and "unprotect-assets" in protection.summary
    assert found["agent-state"].status is Status.OK
    assert found["timezone"].status is Status.WARN  # not part of the workaround


async def test_ssh_connect_that_hangs_ends_the_in_vm_checks_quickly() -> None:
    async with lab_session("healthy") as (lab, session):
        lab.faults.ssh_connect_delay = 30.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        diagnosis = await diagnose(session, ["v-2-VM"], timeout=0.5)
        elapsed = loop.time() - started
        lab.faults.ssh_connect_delay = 0.0
    found = by_vm(diagnosis)["v-2-VM"]
    assert found["ssh"].status is Status.ERROR
    assert found["ssh"].reason == "timed out after 0.5 s"
    # SSH could not be checked, so neither could anything inside the VM: counted, not skipped
    assert found["java-cwd"].status is Status.ERROR
    assert found["java-cwd"].reason == "SSH access to v-2-VM: timed out after 0.5 s"
    assert found["vm-state"].status is Status.OK
    assert elapsed < 5


async def test_stopped_agent_is_found_and_restart_cloud_named() -> None:
    from cspctl.ssh import resolve_route

    async with lab_session("healthy") as (_lab, session):
        vm = (await select_vms(session.api, ["v-2-VM"]))[0]
        route = await resolve_route(vm, session.api, session.profile)
        stopped = await session.ssh.run(route, "systemctl stop cloud")
        assert stopped.ok, stopped
        diagnosis = await diagnose(session, ["v-2-VM"])
    found = by_vm(diagnosis)["v-2-VM"]
    assert found["java-process"].status is Status.FAIL
    assert found["java-process"].playbook == "restart-cloud"
    assert found["cloud-service"].status is Status.FAIL
    assert found["java-cwd"].status is Status.SKIPPED
    assert found["java-cwd"].reason == "no java process"
    assert found["static-assets"].status is Status.FAIL
    assert "restart-cloud" in diagnosis.reports[0].playbooks


async def test_console_ssl_on_checks_the_served_certificate() -> None:
    async with lab_session("healthy") as (_lab, session):
        await session.api.update_configuration("consoleproxy.sslEnabled", "true")
        await session.api.update_configuration("consoleproxy.url.domain",
                                               "*.console.example.com")
        diagnosis = await diagnose(session, ["v-2-VM"])
    found = by_vm(diagnosis)["v-2-VM"]
    assert found["ssl-settings"].status is Status.OK
    cert = found["console-cert"]
    assert cert.status is Status.FAIL, cert
    assert cert.playbook == "ssl-off"
    assert "not for *.console.example.com" in cert.summary
    assert any("curl -skv" in e.command and "expire date" in e.output for e in cert.evidence)


async def test_management_server_target_runs_only_its_checks() -> None:
    events: list[Any] = []
    async with lab_session("seed") as (_lab, session):
        vms = await select_vms(session.api, ["v-2-VM"])
        runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                                 journal=session.journal, timeout=10, on_event=events.append)
        diagnosis = await runner.run(vms, include_mgmt=True)
    mgmt, cp = diagnosis.reports
    assert mgmt.vm.name == "management-server"
    assert [f.check_id for f in mgmt.findings] == ["mgmt-servers"]
    assert mgmt.findings[0].status is Status.OK
    assert "version 4.8.0" in mgmt.findings[0].summary
    assert "mgmt-servers" not in {f.check_id for f in cp.findings}
    alerts = cp.finding("alerts")
    assert alerts is not None and alerts.status is Status.OK
    assert "Console proxy down" in alerts.summary  # history, as evidence
    assert sum(isinstance(e, RunStarted) for e in events) == 2
