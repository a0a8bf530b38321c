"""The repair wizard (r) in the console against the in-process lab, driven with Pilot.

The seed repair end to end with its confirmations; a declined confirmation, read-only and
dry-run changing nothing (the lab's full state compared); the reboot's blast radius and the
typed name before a destroy.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from cspctl.lab.runner import Lab
from cspctl.lab.snapshot import state
from tests.tui_helpers import (
    diagnose_cpvm,
    fixed_settings,
    loaded,
    notifications,
    screen_text,
    until,
    until_text,
)
from tui.app import CspctlApp
from tui.backend import Backend
from tui.repair_pane import RepairPane
from widgets.confirm import ConfirmDialog, TypeNameDialog

SYSTEMVM = "/usr/local/cloud/systemvm"


def repair_app(lab: Lab, *, read_only: bool | None = None) -> CspctlApp:
    settings = fixed_settings(repair_poll=0.1, repair_timeout=20)

    async def opener() -> Backend:
        return Backend.for_lab(lab, read_only=read_only, settings=settings)

    return CspctlApp(opener, settings=settings)


async def open_wizard(pilot: Pilot[Any], vm: str = "v-2") -> RepairPane:
    """Select the VM, press r, wait for the suggested playbooks."""
    app = pilot.app
    await loaded(pilot)
    await pilot.press("slash", *vm, "enter", "r")
    await until(pilot, lambda: bool(app.query(RepairPane)), what="repair tab")
    pane = app.query_one(RepairPane)
    await until(pilot, lambda: pane.phase == "choose", timeout=60, what="suggestions")
    return pane


async def choose(pilot: Pilot[Any], pane: RepairPane, playbook: str) -> None:
    pane.playbook_list.select_key(playbook)
    await pilot.press("enter")
    await until(pilot, lambda: pane.phase == "steps" and pane.chosen is not None
                and pane.chosen.id == playbook, timeout=30, what=f"{playbook} steps")


async def run_without_questions(pilot: Pilot[Any], pane: RepairPane) -> None:
    """Press g on a run that asks nothing (dry-run, read-only) and wait for its end; the pane
    says it ended (RepairPane.Ended) and the app refreshes the VM list."""
    app = pilot.app
    refreshes = app.refresh_count
    await pilot.press("g")
    await until(pilot, lambda: pane.phase == "done", timeout=60, what="run finished")
    await until(pilot, lambda: app.refresh_count > refreshes, what="list refreshed")
    assert not isinstance(app.screen, ConfirmDialog)


def journal(app: CspctlApp, event: str) -> list[dict[str, Any]]:
    assert app.backend is not None
    return [e for e in app.backend.session.journal.events() if e["event"] == event]


def cpvm_os(lab: Lab) -> dict[str, Any]:
    vm = lab.world.vm_by_name("v-2-VM")
    assert vm is not None
    return state(lab.world)["vms"][vm.id]["os"]


async def test_seed_repair_from_the_failed_diagnostics_step(lab: Lab) -> None:
    app = repair_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        diag = await diagnose_cpvm(pilot)
        key = next(k for k, (_, f) in diag.findings.items() if f.check_id == "java-cwd")
        diag.steps.select_key(key)
        await pilot.press("r")
        # r on the failed step goes straight to its playbook, with that diagnosis behind it
        await until(pilot, lambda: bool(app.query(RepairPane)), what="repair tab")
        pane = app.query_one(RepairPane)
        await until(pilot, lambda: pane.phase == "steps", timeout=30, what="steps")
        assert pane.chosen is not None and pane.chosen.id == "protect-assets"
        progress: list[str] = []
        show_progress = pane._progress
        pane._progress = lambda text: (progress.append(text), show_progress(text))  # type: ignore[method-assign]
        assert {f.check_id for f in pane.behind["protect-assets"]} >= {"java-cwd",
                                                                        "static-assets"}
        assert not journal(app, "repair.start")  # nothing ran yet: only shown
        text = await until_text(pilot, "Make images, js and css immutable", "live")
        assert "chattr +i" in text and "kvm02" in text
        previews = {s.id: s.preview for s in pane.states.values()}
        await pilot.press("g")
        asked = []
        while len(asked) < 4:
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog)
                        or pane.phase == "done", timeout=60, what="a question")
            if pane.phase == "done":
                break
            shown = app.screen
            dialog = screen_text(app)
            step = pane.pending_question.step_id if pane.pending_question else "?"
            asked.append(step)
            # the exact preview and the VM are in the dialog (wrapped: compare words)
            words = " ".join(line.strip(" █│") for line in dialog.splitlines())
            assert "v-2-VM" in dialog
            for word in previews[step].split()[-2:]:
                assert word in words, (word, dialog)
            await pilot.press("y")
            await until(pilot, lambda shown=shown: app.screen is not shown, what="dialog closed")
        await until(pilot, lambda: pane.phase == "done", timeout=60, what="run finished")
        outcome = pane.outcome
        assert outcome is not None
        assert outcome.status.value == "verified", outcome.message
        assert asked == ["chattr", "kill-java", "start-cloud", "early-config"]
        # the wait for the agent showed its elapsed time and the deadline
        assert any(" s of at most 20 s · " in line and "agent" in line for line in progress), (
            progress)
        text = await until_text(pilot, "VERIFIED")
        # verification per check, in the list
        for check in ("java-cwd", "static-assets", "agent-state"):
            assert pane.checks[check].status.value == "ok"
        assert "Java working directory intact" in "\n".join(
            s.title for s in pane.step_list.steps.values())
        # the lab really changed: flags on, java in a live directory, agent Up
        machine = cpvm_os(lab)
        for d in ("images", "js", "css"):
            assert machine["dirs"][f"{SYSTEMVM}/{d}"]["immutable"] is True
        java = [p for p in machine["procs"].values() if p["comm"] == "java"]
        assert java and not any(p["cwd_deleted"] for p in java)
        vm = lab.world.vm_by_name("v-2-VM")
        assert vm is not None and vm.agent_state() == "Up"
        # the engine journalled each question and answer once (the console adds none)
        questions, answers = journal(app, "repair.question"), journal(app, "repair.answer")
        assert [q["step"] for q in questions] == asked
        assert [a["answer"] for a in answers] == ["yes"] * 4
        assert not journal(app, "confirm.asked")


async def test_declined_confirmation_changes_nothing(lab: Lab) -> None:
    app = repair_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_wizard(pilot)
        assert list(pane.playbook_list.items)[:3] == ["protect-assets", "fix-timezone",
                                                       "ssl-off"]
        await choose(pilot, pane, "protect-assets")
        before = state(lab.world)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=60,
                    what="first question")
        await pilot.press("n")
        await until(pilot, lambda: pane.phase == "done", timeout=60, what="run finished")
        assert pane.outcome is not None and pane.outcome.status.value == "declined"
        assert state(lab.world) == before
        steps = pane.step_list.steps
        assert steps["chattr"].status == "declined"
        assert all(steps[s].status == "not-run"
                   for s in ("kill-java", "start-cloud", "early-config", "wait-agent"))
        await until_text(pilot, "DECLINED")
        assert [a["answer"] for a in journal(app, "repair.answer")] == ["no"]


async def test_dry_run_shows_every_step_and_changes_nothing(lab: Lab) -> None:
    app = repair_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_wizard(pilot)
        await choose(pilot, pane, "protect-assets")
        await pilot.press("t")
        await until_text(pilot, "DRY-RUN")
        before = state(lab.world)
        await run_without_questions(pilot, pane)
        assert pane.outcome is not None and pane.outcome.status.value == "dry-run"
        assert state(lab.world) == before
        assert not journal(app, "repair.question")
        assert pane.step_list.steps["chattr"].status == "dry-run"


async def test_read_only_refuses_and_nothing_runs(lab: Lab) -> None:
    app = repair_app(lab, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        # the command palette opens the wizard too
        await loaded(pilot)
        await pilot.press("ctrl+p", *"repair v-2")
        await until(pilot, lambda: "Repair v-2-VM…" in screen_text(app), what="palette hit")
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.query(RepairPane)), what="repair tab")
        pane = app.query_one(RepairPane)
        assert pane.vm.name == "v-2-VM"
        await until(pilot, lambda: pane.phase == "choose", timeout=60, what="suggestions")
        await choose(pilot, pane, "protect-assets")
        # before running: the badge, and the destructive steps shown as refused
        text = await until_text(pilot, "READ-ONLY", "REFUSED")
        assert pane.step_list.steps["chattr"].status == "refused"
        before = state(lab.world)
        await run_without_questions(pilot, pane)
        assert pane.outcome is not None and pane.outcome.status.value == "refused"
        assert state(lab.world) == before
        assert not journal(app, "repair.question")
        assert any("refused" in n.lower() and "read-only" in n.lower()
                   for n in notifications(app)), notifications(app)
        text = await until_text(pilot, "REFUSED")
        assert "read-only" in text.lower()


async def test_reboot_blast_radius_and_recreate_typed_name(lab: Lab) -> None:
    app = repair_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_wizard(pilot)
        before = state(lab.world)
        await choose(pilot, pane, "reboot")
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=60,
                    what="reboot question")
        text = screen_text(app)
        assert "Blast radius" in text and "activeviewersessions" in text
        assert "rebootSystemVm" in text
        await pilot.press("n")
        await until(pilot, lambda: pane.phase == "done", timeout=60, what="run finished")
        await pilot.press("escape")
        await until(pilot, lambda: pane.phase == "choose", timeout=60, what="playbooks")
        await choose(pilot, pane, "recreate")
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, TypeNameDialog), timeout=60,
                    what="typed-name question")
        text = screen_text(app)
        assert "DESTROY v-2-VM" in text and "destroySystemVm" in text
        assert "activeviewersessions" in text
        await pilot.press(*"v-3-VM", "enter")
        await until(pilot, lambda: pane.phase == "done", timeout=60, what="run finished")
        assert pane.outcome is not None and pane.outcome.status.value == "declined"
        assert "is not v-2-VM" in pane.outcome.message
        assert state(lab.world) == before
        typed = journal(app, "repair.answer")[-1]
        assert typed["typed"] == "v-3-VM"


def test_question_text_is_never_markup() -> None:
    """What the cloud or the VM said reaches the dialog as text: no markup, no escapes."""
    from cspctl.repair import Question
    from widgets.repair import question_body, question_title

    q = Question(kind="confirm", playbook="protect-assets", step_id="chattr",
                 title="Make [b]x[/b] immutable", vm="v-2-VM\x1b[2J",
                 preview="ssh v-2-VM: echo [red]boom[/red] \x1b]0;pwned\x07",
                 blast_radius=("[link=http://x]sessions[/link] will drop",),
                 undo="chattr -i [dim]/x[/dim]")
    body, title = question_body(q), question_title(q)
    assert "[red]boom[/red]" in body.plain and "[link=http://x]sessions[/link]" in body.plain
    assert "[dim]/x[/dim]" in body.plain and "[b]x[/b]" in title
    assert "\x1b" not in body.plain + title and "\x07" not in body.plain


def test_wizard_and_cli_share_the_step_vocabulary() -> None:
    """A step's marker, word and tone come from the engine's StepStatus, in the wizard too."""
    from cspctl.repair.model import StepStatus
    from widgets.repair import REPAIR_MARKERS
    from widgets.repair.steps import REPAIR_TONES

    for status in StepStatus:
        assert REPAIR_MARKERS[status.value] == (status.marker, status.word)
        assert REPAIR_TONES[status.value] == status.tone
    assert (StepStatus.REFUSED.marker, StepStatus.REFUSED.word) == ("⊘", "REFUSED")
