"""Sessions as ``cspctl log list`` shows them: one line each, cron runs grouped.

A host running ``cspctl diagnose --all`` from cron every minute makes dozens of sessions an
hour; consecutive headless runs of the same command on the same profile become one group
("85 runs, 80 ok, 5 fail") so the console sessions stay readable between them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cspctl.sessionlog.reader import list_journals, parse_ts, read_journal

_SEVERITY = {"ok": 0, "skipped": 0, "warn": 1, "error": 2, "fail": 3}


@dataclass
class SessionSummary:
    id: str
    path: Path
    started: str | None
    duration_s: float | None
    profile: str | None
    mode: str
    command: str | None
    vms: list[str]
    outcome: str
    ended: str
    events: int
    problems: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "journal": str(self.path), "started": self.started,
                "duration_s": self.duration_s, "profile": self.profile, "mode": self.mode,
                "command": self.command, "vms": self.vms, "outcome": self.outcome,
                "ended": self.ended, "events": self.events, "problems": self.problems}


@dataclass
class Group:
    """Consecutive headless runs of one command on one profile (or a single session)."""

    sessions: list[SessionSummary] = field(default_factory=list)

    @property
    def first(self) -> SessionSummary:
        return self.sessions[0]

    @property
    def last(self) -> SessionSummary:
        return self.sessions[-1]

    def outcomes(self) -> dict[str, int]:
        return dict(Counter(s.outcome for s in self.sessions))

    def to_dict(self) -> dict[str, Any]:
        if len(self.sessions) == 1:
            return self.first.to_dict()
        return {"group": True, "runs": len(self.sessions), "first": self.first.id,
                "last": self.last.id, "started": self.first.started,
                "last_started": self.last.started, "profile": self.first.profile,
                "mode": self.first.mode, "command": self.first.command,
                "vms": sorted({vm for s in self.sessions for vm in s.vms}),
                "outcomes": self.outcomes(),
                "ended_abruptly": sum(s.ended == "abrupt" for s in self.sessions)}


def summarize(path: Path) -> SessionSummary:
    """One session's line: start, duration, profile, VMs touched, outcome."""
    read = read_journal(path)
    events = read.events
    start = next((e for e in events if e.get("event") == "session.start"), {})
    end = next((e for e in reversed(events) if e.get("event") == "session.end"), None)
    vms: list[str] = []
    worst = None
    repairs: list[str] = []
    for e in events:
        vm = e.get("vm")
        if isinstance(vm, str) and vm and vm != "management-server" and vm not in vms \
                and e.get("event") in ("diag.finding", "ssh.shell", "repair.start",
                                       "repair.step"):
            vms.append(vm)
        if e.get("event") == "diag.end":
            status = str(e.get("status"))
            if worst is None or _SEVERITY.get(status, 0) > _SEVERITY.get(worst, 0):
                worst = status
        if e.get("event") == "repair.end":
            repairs.append(str(e.get("status")))
    if repairs:
        outcome = "repaired" if all(r in ("ok", "done", "success", "succeeded", "completed",
                                          "verified") for r in repairs) \
            else f"repair {repairs[-1]}"
    elif worst is not None:
        outcome = worst
    else:
        outcome = "-"
    first = parse_ts(events[0].get("ts")) if events else None
    last = parse_ts(events[-1].get("ts")) if events else None
    if end is None:
        ended = "abrupt"
    elif end.get("signal"):
        ended = f"signal {end['signal']}"
    else:
        ended = "normal"
    return SessionSummary(
        id=read.session_id, path=path, started=start.get("ts") or (
            events[0].get("ts") if events else None),
        duration_s=round((last - first).total_seconds(), 1) if first and last else None,
        profile=start.get("profile"), mode=str(start.get("mode") or "headless"),
        command=start.get("command"), vms=vms, outcome=outcome, ended=ended,
        events=len(events), problems=len(read.problems))


def _joins(a: SessionSummary, b: SessionSummary) -> bool:
    """Do these two consecutive sessions belong to one group of headless runs?"""
    return (a.mode != "console" and b.mode != "console" and a.command == b.command
            and a.profile == b.profile)


def grouped(summaries: list[SessionSummary]) -> list[Group]:
    """Consecutive headless sessions with the same command and profile, as one group."""
    groups: list[Group] = []
    for s in summaries:
        if groups and _joins(groups[-1].last, s):
            groups[-1].sessions.append(s)
        else:
            groups.append(Group([s]))
    return groups


def recent(limit: int, directory: Path | None = None, *, group: bool = True) -> list[Group]:
    """The newest ``limit`` rows (groups or sessions), oldest first. Only the journals
    needed are read (newest first, until one more row would start)."""
    newest_first: list[SessionSummary] = []
    rows = 0
    for path in reversed(list_journals(directory)):
        try:
            summary = summarize(path)
        except Exception:  # an unreadable journal is left out, never a traceback
            continue
        if not newest_first or not group or not _joins(summary, newest_first[-1]):
            rows += 1
            if limit > 0 and rows > limit:
                break
        newest_first.append(summary)
    ordered = list(reversed(newest_first))
    return grouped(ordered) if group else [Group([s]) for s in ordered]
