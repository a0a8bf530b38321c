"""The incident report built from a journal: summary, UTC timeline, findings with evidence,
actions with their confirmations, results and verification, what remains open, and the facts
kept apart from the guesses.

:func:`build_report` gives a JSON-ready dict (``cspctl log export --format json``);
:func:`cspctl.sessionlog.report_markdown.render_markdown` renders the same dict as Markdown.
The sections come from :mod:`cspctl.sessionlog.report_events`. Everything comes from the
journal, which is untrusted once on disk: every value is made safe before it is written.
"""

from __future__ import annotations

import json
from typing import Any

from cspctl.sessionlog.describe import describe, kind_of
from cspctl.sessionlog.reader import JournalRead, hms, is_newer
from cspctl.sessionlog.report_events import (
    PROBLEM,
    actions_of,
    confirmations_of,
    findings_of,
    in_time_order,
    is_verified,
    session_of,
    shells_of,
    succeeded,
)

REPORT_SCHEMA = 1
_QUIET_OK = ("api", "ssh.command", "ssh.connect")
"""Events left out of the timeline when they went fine (they are the findings' evidence)."""


def build_report(read: JournalRead) -> dict[str, Any]:
    """The incident report of one journal, as a JSON-ready dict."""
    events = in_time_order(read.events)
    session = session_of(read, events)
    findings, counts = findings_of(events)
    actions = actions_of(events)
    shells = shells_of(events)
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

    repaired = {(a["vm"], a["playbook"]) for a in actions if is_verified(a)}
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
        if not succeeded(a):
            status = a["status"] or "never finished"
            why = f" — {a['message']}" if a.get("message") else ""
            open_items.append(f"repair {a['playbook']} on {a['vm']}: {status}{why}")
        elif not is_verified(a):
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
        done = [a for a in actions if succeeded(a) and is_verified(a)]
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
                     f" ({hms(f['ts'])} UTC)")
        if f["later"]:
            facts.append(f"{f['vm']}: {f['title']} later checked {f['later']['status']} "
                         f"({hms(f['later']['ts'])} UTC)")
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
        "confirmations": confirmations_of(events),
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
