"""The repair engine's API (what the CLI and the console use) against the in-process lab."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from cspctl.lab import Lab
from cspctl.lab.snapshot import state
from cspctl.repair import Answer, Question, RunStatus, StepStatus, run_playbook, stream, suggest
from cspctl.repair.events import Asked, RunFinished, RunStarted, StepFinished, StepProgress
from cspctl.session import Session

TIME_SCALE = 0.01


@contextlib.asynccontextmanager
async def lab_session(scenario: str = "seed", *, faults: Any = None,
                      **kw: Any) -> AsyncIterator[tuple[Lab, Session]]:
    async with Lab(scenario, time_scale=TIME_SCALE, faults=faults) as lab:
        session = Session.open(profile=lab.profile(), **kw)
        async with session:
            yield lab, session


class Operator:
    """Answers like a person would, and remembers what was asked."""

    def __init__(self, *, yes: bool = True, name: str | None = None,
                 pick: bool = True) -> None:
        self.yes, self.name, self.pick = yes, name, pick
        self.asked: list[Question] = []

    async def __call__(self, q: Question) -> Answer:
        self.asked.append(q)
        return Answer(yes=self.yes, text=self.name if self.name is not None else q.expected,
                      picked=q.choices if self.pick else ())


async def test_recreate_follows_the_new_vm_and_says_protect_assets() -> None:
    async with lab_session() as (lab, session):
        old = lab.world.vm_by_name("v-2-VM")
        assert old is not None
        old_key, old_ll = old.host_key_line, old.linklocalip
        operator = Operator()
        events: list[Any] = []
        outcome = await run_playbook(session, "recreate", "v-2-VM", ask=operator,
                                     on_event=events.append, timeout=5, poll=0.2)
        new = lab.world.vm_by_name(outcome.final_vm or "")
    assert [q.kind for q in operator.asked] == ["type-name"]
    assert operator.asked[0].expected == "v-2-VM"
    assert any("activeviewersessions" in line for line in operator.asked[0].blast_radius)
    assert new is not None and new.name != "v-2-VM" and new.id != old.id
    assert new.linklocalip != old_ll and new.host_key_line != old_key
    follow = outcome.steps[1]
    assert follow.status is StepStatus.DONE and "new SSH host key" in follow.output
    assert f"link-local {new.linklocalip} (was {old_ll})" in follow.output
    # the seed fault survives a destroy: the new VM has it again
    assert outcome.status is RunStatus.UNVERIFIED and outcome.exit_code == 1
    assert outcome.suggestions[0] == "protect-assets"
    assert any(isinstance(e, StepProgress) for e in events)


async def test_fix_timezone_sets_the_hosts_zone_and_verifies() -> None:
    async with lab_session() as (lab, session):
        outcome = await run_playbook(session, "fix-timezone", "v-2-VM", ask=Operator(),
                                     timeout=5, poll=0.2)
        vm = lab.world.vm_by_name("v-2-VM")
        assert vm is not None and vm.host is not None
        assert vm.os.timezone == vm.host.os.timezone == "Asia/Tokyo"
    assert outcome.status is RunStatus.VERIFIED, outcome.message
    assert outcome.steps[1].undo is not None and "Etc/UTC" in outcome.steps[1].undo


async def test_ssl_off_changes_the_settings_and_keeps_the_old_values() -> None:
    async with lab_session() as (lab, session):
        operator = Operator()
        outcome = await run_playbook(session, "ssl-off", "s-1-VM", ask=operator, timeout=5)
        assert lab.world.config_value("consoleproxy.url.domain") == ""
        assert lab.world.config_value("secstorage.encrypt.copy") == "false"
        events = list(session.journal.events())
    assert all(q.warning and "Production warning" in q.warning for q in operator.asked)
    steps = {e["step"]: e for e in events if e["event"] == "repair.step"}
    assert "'*.realhostip.com'" in steps["read-settings"]["summary"]
    assert steps["domain-off"]["undo"] == (
        "API updateConfiguration name=consoleproxy.url.domain value=*.realhostip.com")
    assert outcome.exit_code == 0, outcome.message  # its own checks pass
    # the SSVM still has the seed fault: another playbook's job, and the outcome says which
    assert "other checks still fail" in outcome.message
    assert outcome.suggestions == ["protect-assets"]
    assert outcome.next_step.endswith("cspctl repair protect-assets s-1-VM")


async def test_read_only_refuses_without_asking_and_changes_nothing() -> None:
    async with lab_session(read_only=True) as (lab, session):
        before = state(lab.world)
        operator = Operator()
        outcome = await run_playbook(session, "reboot", "v-2-VM", ask=operator, timeout=5)
        assert state(lab.world) == before
    assert operator.asked == []
    assert outcome.status is RunStatus.REFUSED and outcome.exit_code == 5
    assert [s.status for s in outcome.steps] == [StepStatus.REFUSED, StepStatus.NOT_RUN]


async def test_stream_yields_every_step_and_ends_with_the_outcome() -> None:
    async with lab_session("cert-expired") as (_lab, session):
        seen = [e async for e in stream(session, "provision-cert", "v-2-VM", ask=Operator(),
                                        timeout=5, poll=0.2)]
    assert isinstance(seen[0], RunStarted)
    assert [s.id for s in seen[0].steps] == ["find-host", "provision", "wait-agent"]
    assert any(isinstance(e, Asked) for e in seen)
    finished = [e.step.id for e in seen if isinstance(e, StepFinished)]
    assert finished == ["find-host", "provision", "wait-agent"]
    assert isinstance(seen[-1], RunFinished)
    assert seen[-1].outcome.status is RunStatus.VERIFIED, seen[-1].outcome.message


async def test_free_disk_deletes_only_what_is_picked() -> None:
    async with lab_session("disk-full") as (lab, session):
        vm = lab.world.vm_by_name("s-1-VM")
        assert vm is not None
        nothing = await run_playbook(session, "free-disk", "s-1-VM",
                                     ask=Operator(pick=False), timeout=5)
        assert vm.os.fs.exists("/var/log/cloud.log.1")
        picked = await run_playbook(session, "free-disk", "s-1-VM", ask=Operator(), timeout=5)
        assert not vm.os.fs.exists("/var/log/cloud.log.1")
    assert nothing.steps[1].summary == "nothing picked: nothing deleted"
    assert picked.status is RunStatus.VERIFIED, picked.message


async def test_suggest_ranks_the_seed_playbooks() -> None:
    from cspctl.repair.verify import diagnose

    async with lab_session() as (_lab, session):
        vm = (await session.api.list_system_vms(name="v-2-VM"))[0]
        report = await diagnose(session, vm, writes=False)
    ranked = suggest(report.findings)
    assert ranked[0][0].id == "protect-assets"
    assert {f.check_id for f in ranked[0][1]} >= {"java-cwd", "static-assets"}
    assert "fix-timezone" in [p.id for p, _ in ranked]


async def test_recreate_explains_and_trusts_only_the_new_vms_key() -> None:
    async with Lab("seed", time_scale=TIME_SCALE, trust_host_keys=False) as lab:
        asked: list[Any] = []

        async def operator_trusts(question: Any) -> bool:
            asked.append(question)
            return True

        session = Session.open(profile=lab.profile())
        session.host_key_ask = operator_trusts
        async with session:
            outcome = await run_playbook(session, "recreate", "s-1-VM", ask=Operator(),
                                         timeout=5, poll=0.2)
            events = list(session.journal.events())
    # the operator was asked about the old VM only (first contact, before the repair)
    assert {q.vm_name for q in asked} == {"s-1-VM"}
    trusted = [e for e in events if e["event"] == "repair.hostkey"]
    assert [(e["vm"], e["action"]) for e in trusted] == [(outcome.final_vm, "accepted")]
    assert "re-created by this repair" in trusted[0]["why"]
    ssh = next(f for f in outcome.findings if f.check_id == "vm-state")
    assert ssh.status.value == "ok"
    assert outcome.final_vm and outcome.final_vm != "s-1-VM"


async def test_patch_asks_forced_on_its_own_and_brings_the_agent_version() -> None:
    async with lab_session("template-mismatch") as (_lab, session):
        operator = Operator(yes=True)
        outcome = await run_playbook(session, "patch", "v-2-VM", ask=operator, timeout=5,
                                     poll=0.2)
    assert [(q.step_id, q.optional) for q in operator.asked] == [("patch", True),
                                                                  ("patch", False)]
    assert "forced=true" in operator.asked[1].preview
    assert outcome.status is RunStatus.VERIFIED, outcome.message


async def test_systemd_era_uses_units_and_the_undo_playbook_reverses_it() -> None:
    async with lab_session("healthy") as (lab, session):
        vm = lab.world.vm_by_name("v-2-VM")
        assert vm is not None
        protect = await run_playbook(session, "protect-assets", "v-2-VM", ask=Operator(),
                                     timeout=5, poll=0.2)
        assert vm.os.fs.lookup("/usr/local/cloud/systemvm/css").immutable
        restart = await run_playbook(session, "restart-cloud", "v-2-VM", ask=Operator(),
                                     timeout=5, poll=0.2)
        unprotect = await run_playbook(session, "unprotect-assets", "v-2-VM", ask=Operator(),
                                       timeout=5, poll=0.2)
        assert not vm.os.fs.lookup("/usr/local/cloud/systemvm/css").immutable
    previews = {s.id: s.preview for s in protect.steps}
    assert previews["start-cloud"].endswith(": systemctl start cloud")
    assert previews["early-config"].endswith(": systemctl restart cloud-early-config")
    assert restart.steps[0].preview.endswith(": systemctl restart cloud")
    for outcome in (protect, restart, unprotect):
        assert outcome.status is RunStatus.VERIFIED, outcome.message
    assert unprotect.steps[0].undo is not None and "chattr +i" in unprotect.steps[0].undo


async def test_a_failed_reboot_job_stops_the_playbook_with_the_servers_reason() -> None:
    from cspctl.lab import Faults

    async with lab_session("healthy", faults=Faults(fail_steps="reboot-job")) as (_lab,
                                                                                   session):
        outcome = await run_playbook(session, "reboot", "s-1-VM", ask=Operator(), timeout=5,
                                     poll=0.2)
        events = list(session.journal.events())
    assert outcome.status is RunStatus.FAILED and outcome.exit_code == 3
    assert [s.status for s in outcome.steps] == [StepStatus.FAILED, StepStatus.NOT_RUN]
    assert "Failed to reboot system vm s-1-VM" in outcome.steps[0].summary
    end = [e for e in events if e["event"] == "repair.end"][-1]
    assert (end["ran"], end["not_run"]) == (["reboot"], ["wait-agent"])


async def test_once_protected_the_seed_vm_survives_a_reboot() -> None:
    from cspctl.repair import prepare

    async with lab_session() as (lab, session):
        fixed = await run_playbook(session, "protect-assets", "v-2-VM", ask=Operator(),
                                   timeout=5, poll=0.2)
        run = await prepare(session, "reboot", "v-2-VM", ask=Operator(), timeout=5, poll=0.2)
        shown = run.preview()  # what a front end lists before anything runs
        rebooted = await run.run()
        vm = lab.world.vm_by_name("v-2-VM")
        assert vm is not None
        java = vm.os.java_proc
        assert java is not None and not java.cwd.deleted and vm.os.boots == 2
    assert fixed.status is RunStatus.VERIFIED, fixed.message
    assert [s.id for s in shown] == ["reboot", "wait-agent"]
    assert shown[0].preview.startswith("API rebootSystemVm id=")
    assert rebooted.status is RunStatus.VERIFIED, rebooted.message
