"""Field failures (issue 13): each lab scenario is found by the check that proves its cause.

Real API over loopback HTTP and real SSH through the lab's hosts, as tests/test_diag_lab.py.
"""

from __future__ import annotations

import pytest

from cspctl.diagnostics.checks import CATALOGUE
from cspctl.diagnostics.model import Status
from cspctl.diagnostics.runner import Diagnosis
from cspctl.diagnostics.select import select_vms
from cspctl.lab.scenarios import SCENARIOS
from tests.test_diag_lab import ALLOWED_SKIPS, by_vm, diagnose, lab_session

SKIPS = {
    "stale-agentstate": {("v-2-VM", "java-cwd"), ("v-2-VM", "novnc")},  # need a java to read
    "no-ssvm-for-store": {("s-1-VM", c.id) for c in CATALOGUE},  # a Stopped VM: no SSH
    "patch-missing": {("v-3-VM", c.id) for c in CATALOGUE},  # a Starting VM: no SSH
}


def assert_nothing_else_failed(diagnosis: Diagnosis, expected: set[tuple[str, str]],
                               skips: set[tuple[str, str]] | None = None) -> None:
    """Only the expected (vm, check) pairs (and the concluding agent-state) may be bad."""
    for vm, findings in by_vm(diagnosis).items():
        for cid, f in findings.items():
            if (vm, cid) in expected or cid == "agent-state":
                continue
            assert f.status in (Status.OK, Status.SKIPPED, Status.WARN), (vm, cid, f)
            allowed = cid in ALLOWED_SKIPS or (vm, cid) in (skips or set())
            assert f.status is not Status.SKIPPED or allowed, (vm, cid, f)

FIELD = [
    # scenario, {(vm, check)} that must fail, the check that names the cause, its playbook,
    # words its summary must have, the upstream issue its advice cites
    ("host-agent-down", {("v-2-VM", "host-agent")}, ("v-2-VM", "host-agent"), None,
     "agent Disconnected", "#3142"),
    ("stale-agentstate",
     {("v-2-VM", c) for c in ("agent-reconcile", "java-process", "cloud-service", "ports",
                               "static-assets")},
     ("v-2-VM", "agent-reconcile"), "restart-cloud", "API says Up but java is not running",
     "#4972"),
    ("agent-tls", {("v-2-VM", "agent-keystore"), ("s-1-VM", "agent-keystore")},
     ("v-2-VM", "agent-keystore"), "provision-cert", "cloud.jks is empty", "#9959"),
    ("novnc-broken", {("v-2-VM", "novnc")}, ("v-2-VM", "novnc"), "recreate",
     "nothing listens on 8080", "#7123"),
    ("ssvm-cert-expired", {("s-1-VM", "ssvm-cert")}, ("s-1-VM", "ssvm-cert"), "recreate",
     "CN=*.ssvm.example.com expired on", "#12490"),
    ("no-ssvm-for-store",
     {("v-2-VM", "ssvm-for-store"), ("s-1-VM", "ssvm-for-store"), ("s-1-VM", "vm-state")},
     ("v-2-VM", "ssvm-for-store"), "recreate", "but no SSVM Running (s-1-VM Stopped)", "#5991"),
    ("patch-missing", {("v-3-VM", "linklocal-3922")}, ("v-3-VM", "linklocal-3922"), "recreate",
     "kvm02 cannot reach 169.254.", "#8143"),
    ("ssvm-pkix", {("s-1-VM", "ssvm-download-trust")}, ("s-1-VM", "ssvm-download-trust"),
     "recreate", "java trusts ./certs/realhostip.keystore", "#9086"),
    ("template-path-mismatch", {("s-1-VM", "systemvm-template")},
     ("s-1-VM", "systemvm-template"), "recreate",
     "Ready in the API (systemvm-kvm-4.18.1) but not on secondary storage", "#6826"),
]


@pytest.mark.parametrize(("scenario", "failing", "cause", "playbook", "words", "upstream"),
                         FIELD, ids=[f[0] for f in FIELD])
async def test_field_scenario_is_found_by_the_check_that_proves_its_cause(
    scenario: str, failing: set[tuple[str, str]], cause: tuple[str, str],
    playbook: str | None, words: str, upstream: str,
) -> None:
    async with lab_session(scenario) as (_lab, session):
        diagnosis = await diagnose(session)
    found = by_vm(diagnosis)
    for vm, cid in failing:
        assert found[vm][cid].status is Status.FAIL, (vm, cid, found[vm][cid])
    finding = found[cause[0]][cause[1]]
    assert finding.playbook == playbook, finding
    assert words in finding.summary, finding.summary
    assert upstream in (finding.advice or ""), finding.advice
    assert finding.evidence, "a finding without the command or API call behind it"
    assert_nothing_else_failed(diagnosis, failing, SKIPS.get(scenario))
    if scenario == "stale-agentstate":  # the verdict step defers to the reconciliation
        assert found["v-2-VM"]["agent-state"].status is Status.WARN
    assert diagnosis.exit_code == 2


async def test_host_agent_down_evidence_is_the_routing_host_record() -> None:
    async with lab_session("host-agent-down") as (_lab, session):
        diagnosis = await diagnose(session)
    found = by_vm(diagnosis)
    host = found["v-2-VM"]["host-agent"]
    assert any(e.command.startswith("listHosts type=Routing") and "state = Disconnected"
               in e.output for e in host.evidence), host.evidence
    assert "systemctl restart cloudstack-agent" in (host.advice or "")
    assert found["s-1-VM"]["host-agent"].status is Status.OK  # its host is Up


async def test_stale_agentstate_names_the_four_sources() -> None:
    async with lab_session("stale-agentstate") as (_lab, session):
        diagnosis = await diagnose(session, ["v-2-VM"])
    f = by_vm(diagnosis)["v-2-VM"]["agent-reconcile"]
    assert "API Up; hypervisor running; no java process; no established connection to port "\
        "8250" in f.summary
    commands = [e.command for e in f.evidence]
    assert "virsh domstate v-2-VM" in commands  # on the host, by instance name
    assert "ss -tn" in commands and "pgrep java" in commands
    assert f"listSystemVms id={diagnosis.reports[0].vm.id}" in commands


async def test_agent_tls_log_signature_is_in_the_known_error_table() -> None:
    async with lab_session("agent-tls") as (_lab, session):
        diagnosis = await diagnose(session, ["v-2-VM"])
    log = by_vm(diagnosis)["v-2-VM"]["agent-log"]
    assert log.status is Status.WARN
    assert "SSL Handshake failed" in log.summary
    assert "keystore conf/cloud.jks" in (log.advice or "")
    assert "apache/cloudstack#9959" in (log.advice or "")
    assert any("Failed to load keystore, using trust all manager" in e.output
               for e in log.evidence)


async def test_agent_tls_is_fixed_by_provision_certificate() -> None:
    """The scenario's state is what the playbook changes: a re-issued certificate heals it."""
    async with lab_session("agent-tls") as (lab, session):
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None
        await session.api.provision_certificate(cp.agent_host_id)
        diagnosis = await diagnose(session, ["v-2-VM"])
    found = by_vm(diagnosis)["v-2-VM"]
    assert found["agent-keystore"].status is Status.OK, found["agent-keystore"]
    assert found["agent-state"].status is Status.OK, found["agent-state"]


async def test_novnc_port_follows_the_ssl_settings() -> None:
    """8443 is expected only with SSL on, a domain and a certificate; else 8080."""
    async with lab_session("novnc-broken") as (_lab, session):
        vm = (await select_vms(session.api, ["v-2-VM"]))[0]
        diagnosis = await diagnose(session, [vm.name or ""])
    f = by_vm(diagnosis)["v-2-VM"]["novnc"]
    assert "plain HTTP: console SSL off" in f.summary
    assert "/root/vncport is missing" in f.summary
    assert any(e.command == "cat /root/vncport" for e in f.evidence)


def test_scenario_summaries_describe_symptoms_not_causes() -> None:
    causes = ("keystore", "cwd", "deleted", "vncport", "disconnected host", "java is not",
              "certificate expired", "not mounted", "full", "behind", "8250", "old template")
    for name in SCENARIOS:
        if name in ("healthy", "large"):
            continue
        summary = SCENARIOS[name].summary.lower()
        assert not any(c in summary for c in causes), (name, summary)


async def test_ssvm_cert_days_left_from_the_served_certificate() -> None:
    async with lab_session("ssvm-cert-expired") as (_lab, session):
        diagnosis = await diagnose(session, ["s-1-VM"])
    f = by_vm(diagnosis)["s-1-VM"]["ssvm-cert"]
    assert "(10 days ago)" in f.summary
    assert any(e.command == "curl -skv -o /dev/null https://127.0.0.1/"
               and "expire date" in e.output for e in f.evidence), f.evidence
    assert "uploadCustomCertificate" in (f.advice or "")


async def test_no_ssvm_for_store_evidence_names_the_store_and_the_ssvms() -> None:
    async with lab_session("no-ssvm-for-store") as (_lab, session):
        diagnosis = await diagnose(session, ["v-2-VM"])
    f = by_vm(diagnosis)["v-2-VM"]["ssvm-for-store"]
    outputs = {e.command.split()[0]: e.output for e in f.evidence}
    assert "nfs://10.1.1.5/export/secondary" in outputs["listImageStores"]
    assert outputs["listSystemVms"] == "s-1-VM: Stopped"


async def test_ssvm_for_store_ok_once_the_ssvm_runs_again() -> None:
    async with lab_session("no-ssvm-for-store") as (lab, session):
        ss = lab.world.vm_by_name("s-1-VM")
        assert ss is not None
        await session.api.start_system_vm(ss.id)
        diagnosis = await diagnose(session, ["v-2-VM"])
    f = by_vm(diagnosis)["v-2-VM"]["ssvm-for-store"]
    assert f.status is Status.OK and "s-1-VM Running" in f.summary, f


async def test_patch_missing_probes_3922_from_the_host_hop() -> None:
    async with lab_session("patch-missing") as (_lab, session):
        diagnosis = await diagnose(session, ["v-3-VM"])
    f = by_vm(diagnosis)["v-3-VM"]["linklocal-3922"]
    probes = [e for e in f.evidence if e.source == "host"]
    assert probes and probes[0].command.startswith("nc -z -w 3 169.254."), f.evidence
    assert probes[0].command.endswith(" 3922") and probes[0].exit_status not in (0, 127)
    assert "Could not find patch file" in (f.advice or "")


async def test_ssvm_pkix_evidence_is_the_log_and_the_trust_store() -> None:
    async with lab_session("ssvm-pkix") as (_lab, session):
        diagnosis = await diagnose(session, ["s-1-VM"])
    found = by_vm(diagnosis)["s-1-VM"]
    f = found["ssvm-download-trust"]
    assert f.summary.startswith("3 HTTPS download(s) failed: unable to find valid"), f.summary
    commands = [e.command for e in f.evidence]
    assert commands[0].startswith("grep 'unable to find valid certification path'")
    assert any(c.startswith("ps -o args= -p ") for c in commands)
    assert any(c.endswith("/certs/realhostip.keystore") for c in commands)
    log = found["agent-log"]  # the agent stays connected: only its downloads fail
    assert log.status is Status.WARN and log.summary.startswith("connected, but"), log
    assert "apache/cloudstack#9086" in (log.advice or "")
    assert found["agent-state"].status is Status.OK


async def test_template_path_mismatch_names_the_missing_file() -> None:
    async with lab_session("template-path-mismatch") as (_lab, session):
        diagnosis = await diagnose(session, ["s-1-VM"])
    f = by_vm(diagnosis)["s-1-VM"]["systemvm-template"]
    assert "template/tmpl/1/202/5b2e8f0c-1d3a-4c6e-8f9b-7a4d2c1e0b93.qcow2 is missing" \
        in f.summary
    assert "tmpl/1/201" not in f.summary  # the old template's file is there
    commands = [e.command for e in f.evidence]
    zone = diagnosis.reports[0].vm.zoneid
    assert commands[0] == f"listTemplates templatefilter=system zoneid={zone}"
    assert any(c.startswith("find /mnt/SecStorage") for c in commands)
    assert any(c.endswith("/template/tmpl/1/202/template.properties") for c in commands)


async def test_boot_timeline_shows_the_stages_and_a_rerun_of_cloud_early_config() -> None:
    async with lab_session("seed") as (_lab, session):
        seed = await diagnose(session, ["v-2-VM"])
    f = by_vm(seed)["v-2-VM"]["boot-timeline"]
    assert f.status is Status.WARN, f
    assert "cloud-early-config ran again at" in f.summary and "after the agent started" \
        in f.summary
    assert "patch +0 s, boot done +10 s, agent started +11 s" in f.summary
    async with lab_session("healthy") as (_lab, session):
        healthy = await diagnose(session, ["v-2-VM"])
    ok = by_vm(healthy)["v-2-VM"]["boot-timeline"]
    assert ok.status is Status.OK and ok.summary.endswith("connected +13 s"), ok


def test_boot_timeline_reads_both_log_formats_and_systemd_units() -> None:
    from cspctl.diagnostics.checks.boot import timeline
    from cspctl.diagnostics.parse import parse_systemctl_show

    log = ("Mon Nov 30 05:21:08 UTC 2026 Executing cloud-early-config\n"
           "Mon Nov 30 05:21:08 UTC 2026 Patching CPVM/SSVM with cloud agent jars\n"
           "2026-11-30 05:21:19,986 INFO  [cloud.agent.AgentShell] (main:null) Agent started\n")
    assert [label for _t, label in timeline(log)] == ["cloud-early-config", "patch",
                                                      "agent started"]
    # composed from systemd's documented `systemctl show` format, not captured
    shown = ("Id=cloud-early-config.service\nActiveState=active\n"
             "InactiveExitTimestamp=Mon 2026-11-30 05:21:08 UTC\n"
             "ActiveEnterTimestamp=Mon 2026-11-30 05:21:20 UTC\n\n"
             "Id=cloud.service\nActiveState=failed\nInactiveExitTimestamp=\n"
             "ActiveEnterTimestamp=\n")
    assert parse_systemctl_show(shown) == ["cloud-early-config active 12 s", "cloud failed"]


async def test_boot_timeline_fails_a_boot_stuck_in_cloud_early_config() -> None:
    async with lab_session("healthy") as (lab, session):
        cp = lab.world.vm_by_name("v-2-VM")
        assert cp is not None
        vmos = cp.os
        t = vmos.now() - 900  # the chain started 15 minutes ago and stopped after patching
        vmos.log[:] = [(t, vmos._boot_line(msg, t)) for msg in (
            "Executing cloud-early-config", "Patching CPVM/SSVM with cloud agent jars",
            "Could not find patch file, retrying")]
        diagnosis = await diagnose(session, ["v-2-VM"])
    f = by_vm(diagnosis)["v-2-VM"]["boot-timeline"]
    assert f.status is Status.FAIL and f.playbook == "reboot", f
    assert f.summary.startswith("stuck: cloud-early-config started 15 min ago"), f.summary
    assert "#8143" in (f.advice or "")


def test_known_error_table_maps_upstream_log_lines_to_causes() -> None:
    from cspctl.diagnostics.checks import known_errors

    lines = {
        "keystore-trust-all": "WARN  [utils.nio.Link] (Agent-Selector:null) Failed to load "
                              "keystore, using trust all manager",
        "certificate-unknown": "javax.net.ssl.SSLHandshakeException: Received fatal alert: "
                               "certificate_unknown",
        "ssl-handshake": "ERROR [utils.nio.NioConnection] SSL Handshake failed while "
                         "connecting to host: 10.1.1.10 port: 8250",
        "patch-missing": "Could not find patch file, retrying",
        "pkix": "PKIX path building failed: unable to find valid certification path to "
                "requested target",
    }
    for error_id, line in lines.items():
        known = known_errors.match(line)
        assert known is not None and known.id == error_id, (error_id, known)
    assert known_errors.by_id("patch-missing").upstream == (8143, 6497)
    connected, problems = known_errors.classify_log(
        "Connected to 10.1.1.10:8250\n" + lines["pkix"] + "\n")
    assert connected and list(problems) == ["pkix"]  # a download error keeps the link up
    connected, problems = known_errors.classify_log(
        "Connected to 10.1.1.10:8250\n" + lines["ssl-handshake"] + "\n")
    assert not connected and list(problems) == ["ssl-handshake"]
