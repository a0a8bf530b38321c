"""Render a diagnosis: a step-by-step text report, Markdown, or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable

from cspctl.diagnostics.model import Evidence, Finding, Status
from cspctl.diagnostics.runner import Diagnosis, VmReport

SHOW_EVIDENCE = (Status.FAIL, Status.WARN, Status.ERROR)


def marker(status: Status) -> str:
    """``✘ FAIL`` — marker and word, never colour alone."""
    return f"{status.marker} {status.word:<5}"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.splitlines())


def _evidence_text(ev: Evidence, prefix: str) -> list[str]:
    where = {"api": "API", "vm": "vm", "host": "host", "mgmt": "local"}[ev.source]
    status = "" if ev.exit_status is None else f"  (exit {ev.exit_status})"
    lines = [f"{prefix}{where}$ {ev.command}{status}"]
    if ev.output.strip():
        lines.append(_indent(ev.output, prefix + "  | "))
    return lines


def vm_heading(report: VmReport) -> str:
    vm = report.vm
    parts = [vm.short_type, vm.state or "?"]
    if vm.zonename:
        parts.append(f"zone {vm.zonename}")
    if vm.hostname:
        parts.append(f"host {vm.hostname}")
    return f"{vm.name} ({', '.join(parts)})"


def finding_text(f: Finding, *, verbose: bool = False, vm: str | None = None) -> list[str]:
    """One step: marker, title, summary; evidence/advice/playbook when it matters."""
    lines = [f"  {marker(f.status)} {f.title}: {f.summary}"]
    commands = [e.command for e in f.evidence]
    if commands and not (verbose or f.status in SHOW_EVIDENCE):
        shown = ", ".join(dict.fromkeys(commands))
        lines.append(f"          via: {shown}")
    if verbose or f.status in SHOW_EVIDENCE:
        for ev in f.evidence:
            lines.extend(_evidence_text(ev, "          "))
    if f.advice and f.status in SHOW_EVIDENCE:
        lines.append(_indent(f"advice: {f.advice}", "          "))
    if f.playbook and f.status in SHOW_EVIDENCE:
        hint = f" (cspctl repair {f.playbook} {vm})" if vm else ""
        lines.append(f"          playbook: {f.playbook}{hint}")
    return lines


def render_text(diagnosis: Diagnosis, *, verbose: bool = False) -> str:
    """The default report: per VM, each step in order with evidence on problems."""
    out: list[str] = []
    for report in diagnosis.reports:
        out.append(f"{vm_heading(report)}: {marker(report.status).strip()}"
                   f"{could_not_run_note(report.could_not_run)}")
        for line in report.route:
            out.append(f"  route: {line}")
        for f in report.findings:
            out.extend(finding_text(f, verbose=verbose, vm=report.vm.name))
        if report.playbooks:
            out.append(f"  playbooks: {', '.join(report.playbooks)} (repair: cspctl repair "
                       f"{best_playbook(report)} {report.vm.name}; why: cspctl repair list "
                       f"{report.vm.name})")
        out.append("")
    out.append(summary_line(diagnosis))
    return "\n".join(out) + "\n"


def best_playbook(report: VmReport) -> str | None:
    """The playbook to run first: one a failure names before one a warning names, then the
    likeliest cause first (the agent-state verdict's order)."""
    from cspctl.diagnostics.checks.state import CAUSE_ORDER

    def rank(playbook: str) -> tuple[int, int]:
        fails = any(f.playbook == playbook and f.status is Status.FAIL for f in report.findings)
        order = CAUSE_ORDER.index(playbook) if playbook in CAUSE_ORDER else len(CAUSE_ORDER)
        return (0 if fails else 1, order)

    return min(report.playbooks, key=rank) if report.playbooks else None


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
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(diagnosis: Diagnosis) -> str:
    """Markdown for tickets and wikis: a table per VM, then details of the problems."""
    out = ["# cspctl diagnosis", "", summary_line(diagnosis), ""]
    for report in diagnosis.reports:
        out += [f"## {vm_heading(report)} — {report.status.word}"
                f"{could_not_run_note(report.could_not_run)}", ""]
        if report.route:
            out += ["Route: " + "; ".join(f"`{r}`" for r in report.route), ""]
        out += ["| | Step | Result | Playbook |", "|---|---|---|---|"]
        for f in report.findings:
            out.append(f"| {marker(f.status).strip()} | {_md_escape(f.title)} | "
                       f"{_md_escape(f.summary)} | {f.playbook or ''} |")
        out.append("")
        for f in report.findings:
            if f.status not in SHOW_EVIDENCE:
                continue
            out += [f"### {marker(f.status).strip()} {f.title}", "", f.summary, ""]
            if f.advice:
                out += [f"**Advice:** {f.advice}", ""]
            if f.playbook:
                out += [f"**Playbook:** `{f.playbook}`", ""]
            for ev in f.evidence:
                status = "" if ev.exit_status is None else f" (exit {ev.exit_status})"
                out += [f"`{ev.source}$ {ev.command}`{status}", "", "```", ev.output, "```", ""]
    return "\n".join(out) + "\n"


def render_json(diagnosis: Diagnosis) -> str:
    return json.dumps(diagnosis.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


def playbooks(reports: Iterable[VmReport]) -> list[str]:
    seen: list[str] = []
    for r in reports:
        for p in r.playbooks:
            if p not in seen:
                seen.append(p)
    return seen
