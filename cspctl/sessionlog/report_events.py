"""The incident report's sections, read from a journal's events: the session, the problem
findings (with what each check said later), the repair runs step by step with their
verification, the shell sessions and the host-key confirmations.

Values are copied as the journal has them; :mod:`cspctl.sessionlog.report_markdown` makes them
safe where it writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cspctl.sessionlog.reader import JournalRead, is_newer, parse_ts

PROBLEM = ("fail", "warn", "error")


def _ts(event: dict[str, Any]) -> str:
    return str(event.get("ts", ""))


def in_time_order(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Time order (journal order breaks ties; unparsable times keep their place)."""
    indexed = list(enumerate(events))
    last = [datetime.min.isoformat()]

    def key(item: tuple[int, dict[str, Any]]) -> tuple[str, int]:
        ts = parse_ts(item[1].get("ts"))
        if ts is not None:
            last[0] = ts.isoformat()
        return (last[0], item[0])

    return [e for _, e in sorted(indexed, key=key)]


def session_of(read: JournalRead, events: list[dict[str, Any]]) -> dict[str, Any]:
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


def findings_of(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
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


def actions_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def is_verified(run: dict[str, Any]) -> bool:
    checks = run["verification"]
    if str(run.get("status")) == "verified":
        return True
    return bool(checks) and all(str(v.get("status")) in VERIFIED for v in checks)


def succeeded(run: dict[str, Any]) -> bool:
    return str(run.get("status")) in DONE


def shells_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def confirmations_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        event = e.get("event")
        if event in ("confirm.asked", "confirm.answered") and not is_newer(e):
            out.append({"ts": e.get("ts"), "asked_or_answered": str(event).split(".")[1],
                        "kind": e.get("kind"), "vm": e.get("vm"),
                        "fingerprint": e.get("fingerprint"), "answer": e.get("answer")})
    return out
