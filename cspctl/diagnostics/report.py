"""Render a diagnosis: a step-by-step text report, Markdown, or JSON for scripts.

Names, states and evidence come from a cloud or a VM: one-line values go through
:func:`cspctl.text.safe_line`, evidence through :func:`cspctl.text.safe_block`, and the whole
report once more through ``safe_block``, so no control character reaches a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cspctl.diagnostics.model import Evidence, Finding, Status, playbooks_by_cause
from cspctl.diagnostics.runner import Diagnosis, VmReport
from cspctl.text import safe_block, safe_json, safe_line

SHOW_EVIDENCE = (Status.FAIL, Status.WARN, Status.ERROR)


def marker(status: Status) -> str:
    """``✘ FAIL`` — marker and word, never colour alone."""
    return f"{status.marker} {status.word:<5}"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.splitlines())


def _evidence_text(ev: Evidence, prefix: str) -> list[str]:
    where = {"api": "API", "vm": "vm", "host": "host", "mgmt": "local"}[ev.source]
    status = "" if ev.exit_status is None else f"  (exit {ev.exit_status})"
    lines = [f"{prefix}{where}$ {safe_line(ev.command)}{status}"]
    if ev.output.strip():
        lines.append(_indent(safe_block(ev.output), prefix + "  | "))
    return lines


def vm_heading(report: VmReport) -> str:
    vm = report.vm
    parts = [safe_line(vm.short_type), safe_line(vm.state or "?")]
    if vm.zonename:
        parts.append(f"zone {safe_line(vm.zonename)}")
    if vm.hostname:
        parts.append(f"host {safe_line(vm.hostname)}")
    return f"{safe_line(vm.name)} ({', '.join(parts)})"


def finding_text(f: Finding, *, verbose: bool = False, vm: str | None = None) -> list[str]:
    """One step: marker, title, summary; evidence/advice/playbook when it matters."""
    lines = [f"  {marker(f.status)} {safe_line(f.title)}: {safe_line(f.summary)}"]
    commands = [safe_line(e.command) for e in f.evidence]
    if commands and not (verbose or f.status in SHOW_EVIDENCE):
        shown = ", ".join(dict.fromkeys(commands))
        lines.append(f"          via: {shown}")
    if verbose or f.status in SHOW_EVIDENCE:
        for ev in f.evidence:
            lines.extend(_evidence_text(ev, "          "))
    if f.advice and f.status in SHOW_EVIDENCE:
        lines.append(_indent(f"advice: {safe_block(f.advice)}", "          "))
    if f.playbook and f.status in SHOW_EVIDENCE:
        hint = f" (cspctl repair {f.playbook} {safe_line(vm)})" if vm else ""
        lines.append(f"          playbook: {safe_line(f.playbook)}{hint}")
    return lines


def render_text(diagnosis: Diagnosis, *, verbose: bool = False) -> str:
    """The default report: per VM, each step in order with evidence on problems."""
    out: list[str] = []
    for report in diagnosis.reports:
        out.append(f"{vm_heading(report)}: {marker(report.status).strip()}"
                   f"{could_not_run_note(report.could_not_run)}")
        for line in report.route:
            out.append(f"  route: {safe_line(line)}")
        for f in report.findings:
            out.extend(finding_text(f, verbose=verbose, vm=report.vm.name))
        if report.playbooks:
            name = safe_line(report.vm.name)
            out.append(f"  playbooks: {', '.join(safe_line(p) for p in report.playbooks)} "
                       f"(repair: cspctl repair {best_playbook(report)} {name}; why: "
                       f"cspctl repair list {name})")
        out.append("")
    out.append(summary_line(diagnosis))
    return _safe_report(out)


def _safe_report(lines: list[str]) -> str:
    """The report as printed: a last ``safe_block`` pass over everything (no length cap)."""
    text = "\n".join(lines) + "\n"
    return safe_block(text, limit=len(text))


def best_playbook(report: VmReport) -> str | None:
    """The playbook to run first: one a failure names before one a warning names, then the
    likeliest cause first (the order repair suggestions and the agent-state verdict use)."""
    ranked = playbooks_by_cause(report.findings)
    return ranked[0] if ranked else None


def summary_line(diagnosis: Diagnosis) -> str:
    counts = diagnosis.counts()
    parts = [f"{counts[s.value]} {s.word}" for s in Status if counts[s.value]]
    vms = len(diagnosis.reports)
    line = (f"{marker(diagnosis.status).strip()}: {vms} VM{'s' if vms != 1 else ''}, "
            f"{', '.join(parts) or 'no checks'} ({diagnosis.duration:.1f} s)")
    return line + could_not_run_note(diagnosis.could_not_run)


def could_not_run_note(n: int) -> str:
    """``; 12 checks could not run (API or SSH failed): results are incomplete`` or ""."""
    if not n:
        return ""
    return (f"; {n} check{'s' if n != 1 else ''} could not run (API or SSH failed, or timed "
            "out): results are incomplete")


def _md_escape(text: str) -> str:
    """One table cell: one line, pipes escaped."""
    return safe_line(text).replace("|", "\\|")


def _md_code(text: str) -> str:
    """Inline code that holds any text (the backtick run is longer than any inside)."""
    text = safe_line(text)
    ticks = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_fence(text: str) -> list[str]:
    """A fenced block that the text inside cannot close."""
    text = safe_block(text)
    fence = "`" * max(3, max((len(r) for r in re.findall("`{3,}", text)), default=0) + 1)
    return [fence, text, fence]


def render_markdown(diagnosis: Diagnosis) -> str:
    """Markdown for tickets and wikis: a table per VM, then details of the problems."""
    out = ["# cspctl diagnosis", "", summary_line(diagnosis), ""]
    for report in diagnosis.reports:
        out += [f"## {vm_heading(report)} — {report.status.word}"
                f"{could_not_run_note(report.could_not_run)}", ""]
        if report.route:
            out += ["Route: " + "; ".join(_md_code(r) for r in report.route), ""]
        out += ["| | Step | Result | Playbook |", "|---|---|---|---|"]
        for f in report.findings:
            out.append(f"| {marker(f.status).strip()} | {_md_escape(f.title)} | "
                       f"{_md_escape(f.summary)} | {_md_escape(f.playbook or '')} |")
        out.append("")
        for f in report.findings:
            if f.status not in SHOW_EVIDENCE:
                continue
            out += [f"### {marker(f.status).strip()} {safe_line(f.title)}", "",
                    safe_block(f.summary), ""]
            if f.advice:
                out += [f"**Advice:** {safe_block(f.advice)}", ""]
            if f.playbook:
                out += [f"**Playbook:** {_md_code(f.playbook)}", ""]
            for ev in f.evidence:
                status = "" if ev.exit_status is None else f" (exit {ev.exit_status})"
                out += [f"{_md_code(f'{ev.source}$ {ev.command}')}{status}", "",
                        *_md_fence(ev.output), ""]
    return _safe_report(out)


def render_json(diagnosis: Diagnosis) -> str:
    """JSON for scripts: every value kept, but nothing in the text a terminal would obey."""
    return safe_json(diagnosis.to_dict(), indent=2, default=str) + "\n"


def playbooks(reports: Iterable[VmReport]) -> list[str]:
    seen: list[str] = []
    for r in reports:
        for p in r.playbooks:
            if p not in seen:
                seen.append(p)
    return seen
