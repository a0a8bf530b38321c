"""The incident report as Markdown (for a ticket, a chat or a post-mortem): every value from
the journal is one safe line or a fenced block that nothing inside can close."""

from __future__ import annotations

from typing import Any

from cspctl.sessionlog.describe import raw_line
from cspctl.sessionlog.reader import hms, parse_ts
from cspctl.text import safe_block, safe_line


def _when(ts: object) -> str:
    parsed = parse_ts(ts)
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC") if parsed else "unknown"


def md(value: object, limit: int = 2000) -> str:
    """Inline Markdown text: one safe line, table pipes, HTML and code marks neutralised."""
    text = safe_line("" if value is None else value, limit)
    for char, repl in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;"),
                       ("`", "\\`"), ("*", "\\*"), ("_", "\\_"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(char, repl)
    return text


def code(value: object, limit: int = 500) -> str:
    """An inline code span that no backtick in ``value`` can close early."""
    text = safe_line("" if value is None else value, limit)
    run = longest_run(text, "`")
    ticks = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def longest_run(text: str, char: str) -> int:
    best = current = 0
    for c in text:
        current = current + 1 if c == char else 0
        best = max(best, current)
    return best


def fenced(value: object, limit: int = 16_000) -> list[str]:
    """A fenced code block (the fence longer than any backtick run inside)."""
    text = safe_block("" if value is None else value, limit).rstrip("\n")
    fence = "`" * max(3, longest_run(text, "`") + 1)
    return [f"{fence}text", text or "(no output)", fence]


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown, for a ticket, a chat or a post-mortem."""
    s = report["session"]
    out: list[str] = [f"# Incident report: session {md(s['id'])}", ""]
    who = "@".join(md(x) for x in (s.get("operator"), s.get("host")) if x) or "unknown"
    cs = md(s.get("cloudstack_version")) if s.get("cloudstack_version") else "unknown"
    out += [
        f"- **When:** {_when(s.get('started'))} → {_when(s.get('ended'))}"
        + (f" ({s['duration_s']:.0f} s)" if isinstance(s.get("duration_s"), int | float)
           else ""),
        f"- **Operator:** {who}"
        + (f" (local time UTC{md(s['utc_offset'])})" if s.get("utc_offset") else ""),
        f"- **Cloud:** profile {md(s.get('profile') or 'unknown')}"
        + (" (lab)" if s.get("lab") else "") + f", CloudStack {cs}"
        + (", read-only" if s.get("read_only") else ""),
        f"- **Tool:** cspctl {md(s.get('cspctl_version') or '?')}, "
        + ("console" if s.get("mode") == "console"
           else f"headless {code('cspctl ' + str(s['command']))}" if s.get("command")
           else "unknown"),
    ]
    if s["end"] == "abrupt":
        out.append("- **Ended abruptly:** no session end was recorded (the process was killed "
                   "or the machine stopped); the journal ends at its last complete event.")
    elif s["end"] == "signal":
        out.append(f"- **Ended by signal:** {md(s.get('signal'))}")
    summary = report["summary"]
    out += ["", "## Summary", "",
            f"- **Impact:** {md(summary['impact'])}",
            "- **Affected VMs:** " + (", ".join(md(v) for v in summary["affected_vms"])
                                      or "none"),
            f"- **Outcome:** {md(summary['outcome'])}", ""]

    out += ["## Timeline (UTC)", "", "| time | kind | what happened |", "|---|---|---|"]
    for row in report["timeline"]:
        out.append(f"| {hms(row['ts'])} | {md(row['kind'])} | {md(row['text'], 600)} |")
    act = report["activity"]
    out += ["", f"{act['api_calls']} API calls and {act['ssh_commands']} SSH commands in all "
            "(those that went fine are left out of the timeline; the journal has each).", ""]

    out += ["## Findings", ""]
    if not report["findings"]:
        counts = report["finding_counts"]
        out += [("Every check passed." if counts else "No diagnosis ran in this session."), ""]
    for f in report["findings"]:
        out += [f"### {md(str(f['status']).upper())} {md(f['title'])} — {md(f['vm'])}", "",
                f"- **Seen:** {_when(f['ts'])}", f"- **Observed:** {md(f['summary'])}"]
        if f.get("reason"):
            out.append(f"- **Why not checked:** {md(f['reason'])}")
        if f.get("later"):
            out.append(f"- **Later:** {md(f['later']['status'])} at {_when(f['later']['ts'])}: "
                       f"{md(f['later']['summary'])}")
        if f.get("playbook"):
            out.append(f"- **Repair playbook:** {code(f['playbook'])}")
        out.append("")
        for ev in f["evidence"]:
            where = {"api": "API", "vm": "on the VM", "host": "on the host",
                     "mgmt": "on the management server"}.get(str(ev.get("source")), "")
            status = "" if ev.get("exit_status") is None else f" (exit {ev['exit_status']})"
            out.append(f"Evidence {md(where)}: {code(ev.get('command'))}{md(status)}")
            out += ["", *fenced(ev.get("output")), ""]

    out += ["## Actions taken", ""]
    if not report["actions"] and not report["confirmations"] and not report["shells"]:
        out += ["None: nothing was changed in this session.", ""]
    for a in report["actions"]:
        status = a["status"] or "did not finish"
        out += [f"### Repair {code(a['playbook'])} on {md(a['vm'])} — {md(status)}", "",
                f"Started {_when(a['started'])}" + (f", ended {_when(a['ended'])}"
                                                   if a["ended"] else "") + ".", ""]
        for i, st in enumerate(a["steps"], start=1):
            danger = " (destructive)" if st.get("destructive") else ""
            out.append(f"{i}. **{md(st.get('title') or st.get('step'))}**{danger}")
            if st.get("preview"):
                out += ["", "   Preview:", "", *("   " + ln for ln in fenced(st["preview"])), ""]
            if st.get("asked"):
                out.append(f"   - Confirmation asked at {hms(st['asked'])}; answer: "
                           f"**{md(st.get('answer') or 'none recorded')}**"
                           + (f" at {hms(st['answered'])}" if st.get("answered") else ""))
            elif st.get("answer"):
                out.append(f"   - Answer: **{md(st['answer'])}**")
            took = (f" in {float(st['elapsed']):.1f} s"
                    if isinstance(st.get("elapsed"), int | float) else "")
            out.append(f"   - Result: **{md(st.get('status') or 'not run')}**{took}"
                       + (f": {md(st['summary'])}" if st.get("summary") else ""))
            if st.get("output"):
                out += ["", *("   " + ln for ln in fenced(st["output"], 4000)), ""]
        if a.get("message"):
            out.append(f"Outcome: {md(a['message'])}")
        out.append("")
        if a["verification"]:
            out.append("Verification:")
            for v in a["verification"]:
                out.append(f"- {hms(v['ts'])} **{md(v.get('status'))}**"
                           + (f": {md(v['summary'])}" if v.get("summary") else ""))
        else:
            out.append("Verification: none recorded.")
        out.append("")
    if report["confirmations"]:
        out += ["Other confirmations:", ""]
        for c in report["confirmations"]:
            what = md(str(c.get("kind") or "").replace("_", " "))
            if c["asked_or_answered"] == "asked":
                out.append(f"- {hms(c['ts'])} asked: trust the {what} of {md(c.get('vm'))} "
                           f"({code(c.get('fingerprint'))})?")
            else:
                out.append(f"- {hms(c['ts'])} answered **{md(c.get('answer'))}** for "
                           f"{md(c.get('vm'))}")
        out.append("")
    if report["shells"]:
        out += ["Shell sessions (recorded output, in the bundle's casts/):", ""]
        for sh in report["shells"]:
            end = f" to {hms(sh['ended'])}" if sh.get("ended") else " (not closed)"
            status = f", exit {sh['exit_status']}" if sh.get("exit_status") is not None else ""
            out.append(f"- {md(sh.get('vm'))}: {hms(sh['started'])}{end}{status} — "
                       f"{code(sh.get('cast'))}")
        out.append("")

    out += ["## Still open", ""]
    out += [f"- {md(item)}" for item in report["open"]] or ["Nothing."]
    out += ["", "## Facts and guesses", "", "Observed (from the checks and the actions' "
            "results):", ""]
    out += [f"- {md(x)}" for x in report["facts"]] or ["- nothing observed"]
    out += ["", "Not verified (the checks' advice and suggested repairs, not tested in this "
            "session):", ""]
    out += [f"- {md(x)}" for x in report["guesses"]] or ["- none"]
    out.append("")
    if report["notes"]:
        out += ["## Operator notes", ""]
        out += [f"- {hms(n['ts'])} {md(n.get('text'))}" for n in report["notes"]]
        out.append("")
    if report["unknown_events"]:
        out += ["## Events this cspctl does not know (kept as written)", ""]
        out += fenced("\n".join(raw_line(e, 2000) for e in report["unknown_events"]))
        out.append("")
    problems = report["journal"]["problems"]
    out += ["---", "", f"Journal {code(report['journal']['file'])}"
            + (": " + "; ".join(md(p) for p in problems) if problems else ", read in full.")]
    return "\n".join(out) + "\n"
