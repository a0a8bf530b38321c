"""The incident report built from a journal: summary, UTC timeline, findings with evidence,
actions with their confirmations, results and verification, what remains open, and the facts
kept apart from the guesses.

:func:`build_report` gives a JSON-ready dict (``cspctl log export --format json``);
:func:`render_markdown` renders the same dict as Markdown. Everything comes from the journal,
which is untrusted once on disk: every value is made safe before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cspctl.sessionlog.describe import describe, kind_of, raw_line
from cspctl.sessionlog.reader import JournalRead, is_newer, parse_ts
from cspctl.text import safe_block, safe_line

REPORT_SCHEMA = 1
PROBLEM = ("fail", "warn", "error")
_QUIET_OK = ("api", "ssh.command", "ssh.connect")
"""Events left out of the timeline when they went fine (they are the findings' evidence)."""


def _ts(event: dict[str, Any]) -> str:
    return str(event.get("ts", ""))


def _sorted(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Time order (journal order breaks ties; unparsable times keep their place)."""
    indexed = list(enumerate(events))
    last = [datetime.min.isoformat()]

    def key(item: tuple[int, dict[str, Any]]) -> tuple[str, int]:
        ts = parse_ts(item[1].get("ts"))
        if ts is not None:
            last[0] = ts.isoformat()
        return (last[0], item[0])

    return [e for _, e in sorted(indexed, key=key)]


def _session(read: JournalRead, events: list[dict[str, Any]]) -> dict[str, Any]:
    start = next((e for e in events if e.get("event") == "session.start"), {})
    end = next((e for e in reversed(events) if e.get("event") == "session.end"), None)
    info = next((e for e in events if e.get("event") == "session.info"
                 and e.get("cloudstack_version")), {})
    first, last = parse_ts(events[0].get("ts")) if events else None, None
    for e in reversed(events):
        last = parse_ts(e.get("ts"))
        if last is not None:
            break
    ended = "normal"
    if end is None:
        ended = "abrupt"
    elif end.get("signal"):
        ended = "signal"
    return {
        "id": read.session_id,
        "operator": start.get("operator"),
        "host": start.get("host"),
        "profile": start.get("profile"),
        "url": start.get("url"),
        "lab": bool(start.get("lab")),
        "read_only": bool(start.get("read_only")),
        "mode": start.get("mode"),
        "command": start.get("command"),
        "cspctl_version": start.get("version"),
        "cloudstack_version": info.get("cloudstack_version"),
        "utc_offset": start.get("utc_offset"),
        "started": _ts(start) or (events[0].get("ts") if events else None),
        "ended": _ts(end) if end else (events[-1].get("ts") if events else None),
        "duration_s": round((last - first).total_seconds(), 3) if first and last else None,
        "end": ended,
        "signal": end.get("signal") if end else None,
    }


def _findings(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every problem finding, with the latest status of its check; counts by status."""
    counts: dict[str, int] = {}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    problems: list[dict[str, Any]] = []
    for e in events:
        if e.get("event") != "diag.finding":
            continue
        status = str(e.get("status"))
        counts[status] = counts.get(status, 0) + 1
        key = (str(e.get("vm")), str(e.get("check_id")))
        latest[key] = e
        if status in PROBLEM:
            problems.append(e)
    out = []
    for e in problems:
        now = latest[(str(e.get("vm")), str(e.get("check_id")))]
        later_ok = now is not e and now.get("status") not in PROBLEM
        out.append({
            "ts": e.get("ts"),
            "vm": e.get("vm"),
            "vm_type": e.get("vm_type"),
            "check_id": e.get("check_id"),
            "title": e.get("title") or e.get("check_id"),
            "status": e.get("status"),
            "summary": e.get("summary"),
            "reason": e.get("reason"),
            "advice": e.get("advice"),
            "playbook": e.get("playbook"),
            "evidence": [ev for ev in (e.get("evidence") or []) if isinstance(ev, dict)],
            "later": ({"ts": now.get("ts"), "status": now.get("status"),
                       "summary": now.get("summary")} if later_ok else None),
        })
    return out, counts


def _actions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Repair runs: each step with its preview, the question asked, the answer, the result."""
    runs: list[dict[str, Any]] = []
    current: dict[tuple[str, str], dict[str, Any]] = {}

    def run_for(e: dict[str, Any]) -> dict[str, Any]:
        key = (str(e.get("playbook")), str(e.get("vm")))
        run = current.get(key)
        if run is None or e.get("event") == "repair.start":
            run = {"playbook": e.get("playbook"), "vm": e.get("vm"), "started": e.get("ts"),
                   "ended": None, "status": None, "steps": [], "verification": []}
            current[key] = run
            runs.append(run)
        return run

    def step_for(run: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
        step_id = e.get("step")
        steps: list[dict[str, Any]] = run["steps"]
        for step in steps:
            if step["step"] == step_id and step["status"] is None:
                return step
        step = {"step": step_id, "title": e.get("title"), "destructive": e.get("destructive"),
                "preview": None, "asked": None, "answer": None, "answered": None,
                "status": None, "summary": None, "output": None, "elapsed": None,
                "ts": e.get("ts")}
        run["steps"].append(step)
        return step

    for e in events:
        name = e.get("event")
        if not isinstance(name, str) or not name.startswith("repair.") or is_newer(e):
            continue
        run = run_for(e)
        if name == "repair.start":
            continue
        if name in ("repair.question", "repair.answer", "repair.step"):
            step = step_for(run, e)
            for field in ("title", "destructive", "preview"):
                if e.get(field) is not None:
                    step[field] = e[field]
            if name == "repair.question":
                step["asked"] = e.get("ts")
            elif name == "repair.answer":
                step["answer"], step["answered"] = e.get("answer"), e.get("ts")
            else:
                step["status"] = e.get("status")
                step["summary"] = e.get("summary")
                step["output"] = e.get("output")
                step["elapsed"] = e.get("elapsed")
                if e.get("answer") is not None and step["answer"] is None:
                    step["answer"] = e.get("answer")
        elif name == "repair.verify":
            run["verification"].append({"ts": e.get("ts"), "status": verify_status(e),
                                        "summary": verify_summary(e),
                                        "step": e.get("step") or e.get("title")})
        elif name == "repair.end":
            run["ended"], run["status"] = e.get("ts"), e.get("status")
            run["message"] = e.get("message")
            current.pop((str(e.get("playbook")), str(e.get("vm"))), None)
    return runs


DONE = ("ok", "done", "success", "succeeded", "completed", "verified")
VERIFIED = ("ok", "passed", "pass", "verified")


def verify_status(e: dict[str, Any]) -> str:
    """A ``repair.verify`` event's verdict: its ``status``, or ``verified`` as a word."""
    if e.get("status") is not None:
        return str(e["status"])
    if "verified" in e:
        return "verified" if e.get("verified") else "still failing"
    return "?"


def verify_summary(e: dict[str, Any]) -> str | None:
    """What the verification saw: its summary, or each re-run check and its status."""
    if e.get("summary") or e.get("output"):
        return str(e.get("summary") or e.get("output"))
    findings = [f for f in (e.get("findings") or []) if isinstance(f, dict)]
    if findings:
        return "; ".join(f"{f.get('check_id')} {f.get('status')}" for f in findings)
    return None


def _verified(run: dict[str, Any]) -> bool:
    checks = run["verification"]
    if str(run.get("status")) == "verified":
        return True
    return bool(checks) and all(str(v.get("status")) in VERIFIED for v in checks)


def _succeeded(run: dict[str, Any]) -> bool:
    return str(run.get("status")) in DONE


def _shells(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shells: list[dict[str, Any]] = []
    for e in events:
        if e.get("event") != "ssh.shell" or is_newer(e):
            continue
        cast = str(e.get("cast") or "").rsplit("/", 1)[-1] or None
        if e.get("action") == "start":
            shells.append({"vm": e.get("vm"), "started": e.get("ts"), "ended": None,
                           "exit_status": None, "cast": cast, "route": e.get("route")})
        else:
            match = next((s for s in reversed(shells) if s["cast"] == cast and not s["ended"]),
                         None)
            if match is not None:
                match["ended"], match["exit_status"] = e.get("ts"), e.get("exit_status")
    return shells


def _confirmations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        event = e.get("event")
        if event in ("confirm.asked", "confirm.answered") and not is_newer(e):
            out.append({"ts": e.get("ts"), "asked_or_answered": str(event).split(".")[1],
                        "kind": e.get("kind"), "vm": e.get("vm"),
                        "fingerprint": e.get("fingerprint"), "answer": e.get("answer")})
    return out


def build_report(read: JournalRead) -> dict[str, Any]:
    """The incident report of one journal, as a JSON-ready dict."""
    events = _sorted(read.events)
    session = _session(read, events)
    findings, counts = _findings(events)
    actions = _actions(events)
    shells = _shells(events)
    notes = [{"ts": e.get("ts"), "text": e.get("text")} for e in events
             if e.get("event") == "note" and not is_newer(e)]
    unknown = [e for e in events if kind_of(e) == "raw"]
    timeline = []
    for e in events:
        name = e.get("event")
        if name in _QUIET_OK and str(e.get("outcome")) in ("ok", "failed", "host key scan") \
                and not is_newer(e):
            continue
        if name == "diag.finding" and e.get("status") not in PROBLEM:
            continue
        timeline.append({"ts": e.get("ts"), "kind": kind_of(e), "event": name,
                         "text": describe(e)})

    repaired = {(a["vm"], a["playbook"]) for a in actions if _verified(a)}
    open_items: list[str] = []
    still: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        if f["later"] is None:
            still[(str(f["vm"]), str(f["check_id"]))] = f
    for f in still.values():
        if (f["vm"], f["playbook"]) in repaired:
            continue
        hint = f"; playbook {f['playbook']} not run" if f["playbook"] and not any(
            a["vm"] == f["vm"] and a["playbook"] == f["playbook"] for a in actions) else ""
        open_items.append(f"{f['vm']}: {str(f['status']).upper()} {f['title']}: "
                          f"{f['summary']}{hint}")
    for a in actions:
        if not _succeeded(a):
            status = a["status"] or "never finished"
            why = f" — {a['message']}" if a.get("message") else ""
            open_items.append(f"repair {a['playbook']} on {a['vm']}: {status}{why}")
        elif not _verified(a):
            open_items.append(f"repair {a['playbook']} on {a['vm']}: not verified")
    if session["end"] == "abrupt":
        open_items.append("the session ended abruptly (no session end was recorded): "
                          "whatever it was doing may be incomplete")

    affected = list(dict.fromkeys(str(f["vm"]) for f in findings))
    for a in actions:
        if a["vm"] not in affected:
            affected.append(str(a["vm"]))
    fails = [f for f in findings if f["status"] == "fail"]
    if findings:
        per_vm = {vm: [f["title"] for f in findings if f["vm"] == vm and f["status"] in
                       ("fail", "error")] or [f["title"] for f in findings if f["vm"] == vm]
                  for vm in affected if any(f["vm"] == vm for f in findings)}
        impact = "; ".join(f"{vm}: {', '.join(dict.fromkeys(map(str, t)))}"
                           for vm, t in per_vm.items())
    else:
        impact = "no problem found by the checks run in this session"
    if actions:
        done = [a for a in actions if _succeeded(a) and _verified(a)]
        outcome = (f"{len(done)} of {len(actions)} repairs done and verified"
                   + ("" if not open_items else f"; {len(open_items)} item(s) still open"))
    elif findings:
        outcome = (f"not repaired in this session: {len(open_items)} item(s) open"
                   if open_items else "every problem found later checked ok")
    elif counts:
        outcome = "diagnosed: no problem found"
    else:
        outcome = "nothing diagnosed or repaired in this session"
    if session["end"] == "abrupt":
        outcome += " (the session ended abruptly)"
    elif session["end"] == "signal":
        outcome += f" (the session was ended by {session['signal']})"

    facts: list[str] = []
    for f in findings:
        facts.append(f"{f['vm']}: {f['title']} was {str(f['status']).upper()}: {f['summary']}"
                     f" ({_hms(f['ts'])} UTC)")
        if f["later"]:
            facts.append(f"{f['vm']}: {f['title']} later checked {f['later']['status']} "
                         f"({_hms(f['later']['ts'])} UTC)")
    for a in actions:
        for s in a["steps"]:
            if s["status"] is not None:
                facts.append(f"{a['vm']}: step {s['title'] or s['step']} of {a['playbook']}: "
                             f"{s['status']}")
        for v in a["verification"]:
            facts.append(f"{a['vm']}: verification after {a['playbook']}: {v['status']}"
                         + (f" — {v['summary']}" if v.get("summary") else ""))
    guesses = [f"{f['vm']}: {f['title']}: {f['advice']}" for f in findings if f.get("advice")]
    guesses += [f"{f['vm']}: playbook {f['playbook']} is the suggested repair for "
                f"{f['title']}" for f in findings if f.get("playbook")
                and not any(a["playbook"] == f["playbook"] for a in actions)]

    return {
        "format": "cspctl-incident-report",
        "schema": REPORT_SCHEMA,
        "session": session,
        "summary": {"impact": impact, "affected_vms": affected, "outcome": outcome,
                    "failing_checks": len(fails)},
        "timeline": timeline,
        "findings": findings,
        "finding_counts": counts,
        "actions": actions,
        "confirmations": _confirmations(events),
        "shells": shells,
        "notes": notes,
        "open": list(dict.fromkeys(open_items)),
        "facts": facts,
        "guesses": list(dict.fromkeys(guesses)),
        "activity": {
            "events": len(events),
            "api_calls": sum(e.get("event") == "api" for e in events),
            "ssh_commands": sum(e.get("event") == "ssh.command" for e in events),
        },
        "unknown_events": unknown,
        "journal": {"file": read.path.name, "problems": list(read.problems)},
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"


# ---- Markdown --------------------------------------------------------------------------------
def _hms(ts: object) -> str:
    parsed = parse_ts(ts)
    return parsed.strftime("%H:%M:%S") if parsed else "??:??:??"


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
        out.append(f"| {_hms(row['ts'])} | {md(row['kind'])} | {md(row['text'], 600)} |")
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
                out.append(f"   - Confirmation asked at {_hms(st['asked'])}; answer: "
                           f"**{md(st.get('answer') or 'none recorded')}**"
                           + (f" at {_hms(st['answered'])}" if st.get("answered") else ""))
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
                out.append(f"- {_hms(v['ts'])} **{md(v.get('status'))}**"
                           + (f": {md(v['summary'])}" if v.get("summary") else ""))
        else:
            out.append("Verification: none recorded.")
        out.append("")
    if report["confirmations"]:
        out += ["Other confirmations:", ""]
        for c in report["confirmations"]:
            what = md(str(c.get("kind") or "").replace("_", " "))
            if c["asked_or_answered"] == "asked":
                out.append(f"- {_hms(c['ts'])} asked: trust the {what} of {md(c.get('vm'))} "
                           f"({code(c.get('fingerprint'))})?")
            else:
                out.append(f"- {_hms(c['ts'])} answered **{md(c.get('answer'))}** for "
                           f"{md(c.get('vm'))}")
        out.append("")
    if report["shells"]:
        out += ["Shell sessions (recorded output, in the bundle's casts/):", ""]
        for sh in report["shells"]:
            end = f" to {_hms(sh['ended'])}" if sh.get("ended") else " (not closed)"
            status = f", exit {sh['exit_status']}" if sh.get("exit_status") is not None else ""
            out.append(f"- {md(sh.get('vm'))}: {_hms(sh['started'])}{end}{status} — "
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
        out += [f"- {_hms(n['ts'])} {md(n.get('text'))}" for n in report["notes"]]
        out.append("")
    if report["unknown_events"]:
        out += ["## Events this cspctl does not know (kept as written)", ""]
        out += fenced("\n".join(raw_line(e, 2000) for e in report["unknown_events"]))
        out.append("")
    problems = report["journal"]["problems"]
    out += ["---", "", f"Journal {code(report['journal']['file'])}"
            + (": " + "; ".join(md(p) for p in problems) if problems else ", read in full.")]
    return "\n".join(out) + "\n"
