"""Terminal front end of the repair engine: event lines, questions on /dev/tty, listings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cspctl import signals
from cspctl.repair import Answer, Question
from cspctl.repair.events import (
    Answered,
    RunFinished,
    RunStarted,
    StepFinished,
    StepProgress,
    StepStarted,
    VerifyFinished,
    VerifyStarted,
)
from cspctl.repair.model import StepStatus
from cspctl.text import safe_block, safe_line


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in safe_block(text).splitlines())


class RepairPrinter:
    """Prints a run's events as plain lines on stdout (nothing with ``quiet``: --json)."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.total = 0
        self.index: dict[str, int] = {}
        self._last_progress = ""

    def out(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self.total = len(event.steps)
            self.index = {s.id: i for i, s in enumerate(event.steps, 1)}
            mode = " (dry-run: nothing will change)" if event.dry_run else (
                " (read-only: destructive steps are refused)" if event.read_only else "")
            self.out(f"repair {event.playbook} on {safe_line(event.vm)}: {event.title}{mode}")
            for note in event.notes:
                self.out(f"  note: {note}")
            self.out(f"  first: a diagnosis of {safe_line(event.vm)} (what fails before)")
        elif isinstance(event, StepStarted):
            s = event.step
            kind = {"change": "changes", "read": "reads", "wait": "waits"}[s.kind]
            self.out(f"[{self.index.get(s.id, '?')}/{self.total}] {s.title} ({kind})")
            self.out(f"      {safe_line(s.preview)}")
        elif isinstance(event, StepProgress):
            if event.message != self._last_progress:
                self._last_progress = event.message
                self.out(f"      … {safe_line(event.message)} ({event.elapsed:.0f} s of "
                         f"{event.deadline:g} s)")
        elif isinstance(event, Answered):
            self.out(f"      answer: {_answer_text(event.question, event.answer)}")
        elif isinstance(event, StepFinished):
            s = event.step
            mark = "!" if s.attention else s.status.marker
            self.out(f"  {mark} {s.status.value}: {safe_line(s.summary)}")
            failed_or_long = s.status is StepStatus.FAILED or (
                "\n" in s.output and s.kind == "wait")
            if s.output and failed_or_long:
                self.out(_indent(s.output))
            if s.undo and s.status is StepStatus.DONE:
                self.out(f"      undo: {safe_line(s.undo)}")
        elif isinstance(event, VerifyStarted):
            self.out(f"verify {safe_line(event.vm)}: {', '.join(event.checks)}")
        elif isinstance(event, VerifyFinished):
            for f in event.findings:
                self.out(f"  {f.status.marker} {f.title}: "
                         f"{safe_line(f.summary, 300)}")
        elif isinstance(event, RunFinished):
            self._finished(event)

    def _finished(self, event: RunFinished) -> None:
        o = event.outcome
        self.out("")
        self.out(f"{o.status.value.upper()}: {safe_line(o.message, 1000)}")
        if o.final_vm:
            self.out(f"  the VM is now {safe_line(o.final_vm)}")
        self.out(f"  ran: {', '.join(o.ran) or 'nothing'}; not run: "
                 f"{', '.join(o.not_run) or 'nothing'}")
        if o.suggestions:
            vm = o.final_vm or o.vm
            self.out("  suggested: " + ", ".join(f"cspctl repair {p} {vm}"
                                                 for p in o.suggestions))
        self.out(f"  next: {safe_line(o.next_step, 1000)}")


def _answer_text(q: Question, a: Answer) -> str:
    if q.kind == "type-name":
        return f"typed {safe_line(a.text or '', 80)!r}" if a.text is not None else "no name typed"
    if q.kind == "choose":
        return "picked " + (", ".join(safe_line(p) for p in a.picked) or "nothing")
    return "yes" if a.yes else "no"


def question_text(q: Question) -> str:
    lines = [f"cspctl: {q.title} on {safe_line(q.vm)}", f"  will run: {safe_line(q.preview)}"]
    for line in q.blast_radius:
        lines.append(f"  blast radius: {safe_line(line)}")
    if q.warning:
        lines.append(f"  warning: {q.warning}")
    lines.append(f"  undo: {safe_line(q.undo)}" if q.undo else "  undo: not possible")
    if q.kind == "type-name":
        lines.append(f"Type the VM's name ({safe_line(q.expected or '')}) to confirm: ")
    elif q.kind == "choose":
        lines += [f"  {i}) {safe_line(c)}" for i, c in enumerate(q.choices, 1)]
        lines.append("Numbers to pick (space separated, empty for none): ")
    else:
        lines.append("Run this step? [y/N] ")
    return "\n".join(lines)


def _tty_prompt(text: str) -> str:
    with open("/dev/tty", "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
    with open("/dev/tty", encoding="utf-8") as tty:
        return tty.readline()


def make_answerer(*, terminal: bool, yes: bool, confirm_name: str | None,
                  printer: RepairPrinter) -> Any:
    """The CLI's ``ask``: --yes / --confirm-name first, else the terminal, else no."""

    async def ask(q: Question) -> Answer:
        if q.kind == "type-name" and confirm_name is not None:
            return Answer(text=confirm_name)
        if yes and q.kind == "confirm":
            printer.out(f"      {'confirmed' if q.default or not q.optional else 'not chosen'}"
                        " by --yes")
            return Answer(yes=q.default if q.optional else True)
        if not terminal or (yes and q.kind == "choose"):
            return Answer()
        try:
            text = question_text(q)
            line = await signals.in_daemon_thread(lambda: _tty_prompt(text))
        except OSError:
            return Answer()
        if q.kind == "type-name":
            return Answer(text=line.strip())
        if q.kind == "choose":
            picked = [q.choices[int(n) - 1] for n in line.split()
                      if n.isdigit() and 0 < int(n) <= len(q.choices)]
            return Answer(picked=tuple(dict.fromkeys(picked)))
        return Answer(yes=line.strip().lower() in ("y", "yes"))

    return ask


def render_catalogue(playbooks: Iterable[Any]) -> str:
    out = []
    for p in playbooks:
        changes = sum(1 for s in p.steps if s.destructive)
        out.append(f"{p.id:<17} {p.title}")
        steps = f"{len(p.steps)} step{'s' if len(p.steps) != 1 else ''}"
        out.append(f"{'':<17} needs: {p.requirement()}; {steps}, {changes} "
                   "confirmed one by one")
    return "\n".join(out) + "\n"


def render_suggestions(vm: str, ranked: list[tuple[Any, list[Any]]]) -> str:
    if not ranked:
        return f"{safe_line(vm)}: no playbook suggested (no failing check names one)\n"
    out = [f"playbooks for {safe_line(vm)}, best first:"]
    for i, (p, findings) in enumerate(ranked, 1):
        out.append(f"{i}. {p.id}: {p.title}")
        out.append(f"   run: cspctl repair {p.id} {safe_line(vm)}")
        for f in findings:
            out.append(f"   because {f.status.marker} {f.title}: "
                       f"{safe_line(f.summary, 300)}")
    return "\n".join(out) + "\n"
