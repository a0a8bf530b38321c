"""Transient API/SSH failures are not VM faults (issue 9, finding 12): a check that could not
run is ``error`` ("could not check"), never ``fail``; every summary says how many could not
run; agent-state never calls a VM "fine" when the checks that would explain it did not run."""

from __future__ import annotations

import json
from typing import Any

from cspctl.diagnostics.model import Status
from cspctl.diagnostics.report import render_json, render_markdown, render_text
from cspctl.diagnostics.runner import DiagnosisRunner, StepFinished
from cspctl.diagnostics.select import select_vms
from cspctl.lab.runner import Lab
from cspctl.session import Session
from tests.apiserver import ApiServer, Fault
from tests.cli_helpers import run_cli


async def test_ssh_that_stops_answering_after_the_ssh_check_is_not_everything_fine() -> None:
    # mgmt-port-blocked: the agent is Disconnected because 8250 is blocked. Once SSH stops
    # answering, the check that would prove it cannot run: the verdict must say so.
    async with Lab("mgmt-port-blocked", time_scale=0.01) as lab:
        session = Session.open(profile=lab.profile())
        async with session:

            async def hang_ssh_after_access_check(event: Any) -> None:
                if isinstance(event, StepFinished) and event.finding.check_id == "ssh":
                    assert event.finding.status is Status.OK, event.finding
                    lab.faults.ssh_command_delay = 30.0  # every later command hangs

            vms = await select_vms(session.api, ["v-2-VM"])
            runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                                     journal=session.journal, timeout=0.5,
                                     on_event=hang_ssh_after_access_check)
            diagnosis = await runner.run(vms)
            lab.faults.ssh_command_delay = 0.0
    report = diagnosis.reports[0]
    found = {f.check_id: f for f in report.findings}
    errors = [f for f in report.findings if f.status is Status.ERROR]
    assert found["mgmt-connect"].status is Status.ERROR
    assert found["mgmt-connect"].summary.startswith("could not check: ")
    # the declared probes came back with the ssh check's batch (one round trip); the commands
    # that depend on what they found (nc to the management server, the java cwd) hang
    assert {"mgmt-connect", "java-cwd"} <= {f.check_id for f in errors}
    assert len(errors) >= 2 and report.could_not_run == len(errors)
    assert not [f for f in report.findings if f.status is Status.FAIL
                and f.check_id != "agent-state"]
    verdict = found["agent-state"]
    assert verdict.status is Status.FAIL
    assert "everything else looks fine" not in verdict.summary
    assert f"cause unknown: {len(errors)} checks could not run" in verdict.summary
    note = f"{len(errors)} checks could not run"
    text = render_text(diagnosis)
    assert "everything else looks fine" not in text
    assert text.splitlines()[0].endswith(f"; {note} (API or SSH failed, or timed out): "
                                         "results are incomplete")
    assert note in text.rstrip().splitlines()[-1]  # the summary line
    assert note in render_markdown(diagnosis)
    data = json.loads(render_json(diagnosis))
    assert data["could_not_run"] == len(errors) == data["vms"][0]["could_not_run"]
    assert data["counts"]["error"] == len(errors)


async def test_api_530_while_routing_is_an_error_not_a_fault() -> None:
    # the VM's host lookup (listHosts) fails with CloudStack 530: SSH was never tried
    async with ApiServer() as srv:
        srv.faults["listHosts"] = Fault(status=530, errortext="DB connection reset")
        env = {"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey,
               "CSPCTL_SECRETKEY": srv.secretkey}
        res = await run_cli("diagnose", "s-2-VM", "--json", env=env)
    assert "Traceback" not in res.output
    data = json.loads(res.stdout)
    findings = {f["check_id"]: f for f in data["vms"][0]["findings"]}
    ssh = findings["ssh"]
    assert ssh["status"] == "error", ssh
    assert ssh["summary"].startswith("could not check: no SSH route to s-2-VM: ")
    assert "530" in ssh["summary"] and "DB connection reset" in ssh["summary"]
    assert not [f for f in findings.values() if f["status"] == "fail"], findings
    in_vm = findings["java-process"]
    assert in_vm["status"] == "error" and "530" in in_vm["reason"]
    assert data["could_not_run"] >= 10
    assert res.returncode == 1  # could not run: not the exit 2 of a found fault
