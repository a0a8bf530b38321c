"""`cspctl log`: the session journals as incident records (list, show, export, note, copy,
prune). These commands read journals; they start no session of their own, so ``latest`` is
always the last real session.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from cspctl.errors import UsageError

EXIT_NO_CLIPBOARD = 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "log", help="session journals: list, show, export (md/json/bundle), note, copy, prune",
        description="Read the session journals as incident records. ID is a session id from "
        "'cspctl log list' (or a unique prefix of one), or latest. These commands start no "
        "session of their own.")
    logs = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)

    ls = logs.add_parser("list", help="sessions: start, duration, profile, VMs, outcome",
                         description="List sessions, newest last. Consecutive headless runs "
                         "of one command (cron) are grouped into one line.")
    ls.add_argument("--json", action="store_true", help="JSON for scripts")
    ls.add_argument("--limit", type=int, default=30, metavar="N",
                    help="newest N lines (default: 30; 0: all)")
    ls.add_argument("--ungrouped", action="store_true", help="one line per session")
    ls.set_defaults(func=run_list)

    show = logs.add_parser("show", help="a session's timeline, one event a line")
    show.add_argument("ref", metavar="ID", help="session id, or latest")
    show.add_argument("--kind", metavar="KIND",
                      help="only events of this kind (finding, action, shell, api, command, "
                      "note, session, refresh, raw)")
    show.set_defaults(func=run_show)

    ex = logs.add_parser("export", help="the incident report as Markdown, JSON or a bundle",
                         description="Write the incident report. The bundle (.tar.gz) holds "
                         "report.md, report.json, the journal and the shell recordings.")
    ex.add_argument("ref", metavar="ID", help="session id, or latest")
    ex.add_argument("--format", choices=("md", "json", "bundle"), default="md",
                    help="default: md")
    ex.add_argument("-o", "--output", metavar="FILE",
                    help="where to write (default: in the session's folder; '-': stdout, "
                    "md/json only)")
    ex.set_defaults(func=run_export)

    note = logs.add_parser("note", help="add an operator note to a session")
    note.add_argument("ref", metavar="ID", help="session id, or latest")
    note.add_argument("text", nargs="+", metavar="TEXT")
    note.set_defaults(func=run_note)

    cp = logs.add_parser("copy", help="copy the report to the clipboard (says how)",
                         description="Copy the Markdown report: pyperclip where a local "
                         "clipboard works, else an OSC 52 escape when stdout is a terminal "
                         "(over SSH), else say where the report file is (exit 1).")
    cp.add_argument("ref", metavar="ID", help="session id, or latest")
    cp.set_defaults(func=run_copy)

    pr = logs.add_parser("prune", help="delete old sessions (journal and recordings)")
    pr.add_argument("--older-than", required=True, metavar="AGE",
                    help="age like 30d, 12h or 2w (by the journal's last write)")
    pr.add_argument("--dry-run", action="store_true", help="only say what would go")
    pr.set_defaults(func=run_prune)


def _safe(value: object) -> str:
    from cspctl.text import safe_line

    return safe_line("" if value is None else value, 200)


def _utc(ts: str | None) -> str:
    from cspctl.sessionlog.reader import parse_ts

    parsed = parse_ts(ts)
    return parsed.strftime("%Y-%m-%d %H:%M:%SZ") if parsed else "?"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def run_list(args: argparse.Namespace) -> int:
    from cspctl.sessionlog.sessions import recent

    if args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    groups = recent(args.limit, group=not args.ungrouped)
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], indent=2, ensure_ascii=False))
        return 0
    if not groups:
        from cspctl.sessionlog.reader import sessions_dir

        print(f"no sessions recorded yet in {sessions_dir()}")
        return 0
    print(f"{'ID':<24} {'STARTED (UTC)':<20} {'TOOK':>7}  {'PROFILE':<10} {'WHAT':<28} "
          f"{'VMS':<16} OUTCOME")
    for g in groups:
        s = g.first
        what = "console" if s.mode == "console" else f"cspctl {s.command or ''}".strip()
        if len(g.sessions) == 1:
            outcome = s.outcome + ("" if s.ended == "normal" else f" ({s.ended})")
            print(f"{s.id:<24} {_utc(s.started):<20} {_duration(s.duration_s):>7}  "
                  f"{_safe(s.profile):<10.10} {_safe(what):<28.28} "
                  f"{_safe(','.join(s.vms)) or '-':<16.16} {_safe(outcome)}")
        else:
            outs = ", ".join(f"{n} {k}" for k, n in sorted(g.outcomes().items()))
            vms = sorted({vm for x in g.sessions for vm in x.vms})
            print(f"{g.last.id:<24} {_utc(s.started):<20} {str(len(g.sessions)) + ' runs':>7}  "
                  f"{_safe(s.profile):<10.10} {_safe(what):<28.28} "
                  f"{_safe(','.join(vms)) or '-':<16.16} {outs} "
                  f"(runs until {_utc(g.last.started)}; first {s.id})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from cspctl.sessionlog.describe import describe, kind_of
    from cspctl.sessionlog.reader import hms, read_journal, resolve

    read = read_journal(resolve(args.ref))
    print(f"session {read.session_id} ({read.path})")
    for e in read.events:
        kind = kind_of(e)
        if args.kind and kind != args.kind:
            continue
        print(f"{hms(e.get('ts'))}  {kind:<8} {describe(e)}")
    if not any(e.get("event") == "session.end" for e in read.events):
        print("(no session end recorded: the session is still running or ended abruptly)")
    for problem in read.problems:
        print(f"cspctl: note: {problem}", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from cspctl.sessionlog.export import export, render
    from cspctl.sessionlog.reader import read_journal, resolve

    read = read_journal(resolve(args.ref))
    if args.output == "-":
        if args.format == "bundle":
            raise UsageError("a bundle goes to a file: give -o FILE.tar.gz")
        sys.stdout.write(render(read, args.format))
        done_path = None
        abrupt = not any(e.get("event") == "session.end" for e in read.events)
    else:
        out = Path(args.output).expanduser() if args.output else None
        done = export(read, args.format, out)
        done_path, abrupt = done.path, done.ended_abruptly
        print(done.path)
    for problem in read.problems:
        print(f"cspctl: note: {problem}", file=sys.stderr)
    if abrupt:
        print(f"cspctl: note: session {read.session_id} ended abruptly (no session end was "
              "recorded); the report says so", file=sys.stderr)
    if done_path is not None:
        print(f"cspctl: exported session {read.session_id} as {args.format} to {done_path}",
              file=sys.stderr)
    return 0


def run_note(args: argparse.Namespace) -> int:
    from cspctl.sessionlog.export import export_scrubber
    from cspctl.sessionlog.journal import Journal
    from cspctl.sessionlog.reader import read_journal, resolve

    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("the note is empty")
    path = resolve(args.ref)
    read = read_journal(path)
    _end_with_newline(path)
    journal = Journal(path, scrubber=export_scrubber(read))
    try:
        journal.record("note", text=text[:4000], by="cli")
    finally:
        journal.close()
    print(f"cspctl: note added to session {read.session_id}", file=sys.stderr)
    return 0


def _end_with_newline(path: Path) -> None:
    """A journal cut off mid-line (killed process) gets its line ended before we append."""
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() == 0:
            return
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) != b"\n":
            fh.write(b"\n")


def run_copy(args: argparse.Namespace) -> int:
    from cspctl.sessionlog.clipboard import copy_text
    from cspctl.sessionlog.export import export, render
    from cspctl.sessionlog.reader import read_journal, resolve

    read = read_journal(resolve(args.ref))
    text = render(read, "md")
    saved = export(read, "md").path  # the file is always there too
    result = copy_text(text)
    if result.method == "none":
        print(f"cspctl: {result.detail}; the report is at {saved}", file=sys.stderr)
        return EXIT_NO_CLIPBOARD
    print(f"cspctl: report of session {read.session_id} copied via {result.detail}; "
          f"also at {saved}", file=sys.stderr)
    return 0


_AGE = re.compile(r"^\s*(\d+)\s*([dhwm]?)\s*$")


def parse_age(text: str) -> float:
    """``30d`` / ``12h`` / ``2w`` / ``45m`` (days when no unit) in seconds."""
    match = _AGE.match(text)
    if not match:
        raise UsageError(f"--older-than {text!r}: use a number and a unit, like 30d, 12h, 2w")
    unit = {"": 86400, "d": 86400, "h": 3600, "w": 604800, "m": 60}[match[2]]
    return int(match[1]) * unit


def run_prune(args: argparse.Namespace) -> int:
    from cspctl.sessionlog.reader import list_journals, sessions_dir

    age = parse_age(args.older_than)
    cutoff = time.time() - age
    removed: list[dict[str, Any]] = []
    for path in list_journals():
        try:
            if path.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        side = path.parent / path.stem
        size = path.stat().st_size + _tree_size(side)
        removed.append({"id": path.stem, "bytes": size})
        if not args.dry_run:
            path.unlink(missing_ok=True)
            if side.is_dir() and not side.is_symlink():
                shutil.rmtree(side, ignore_errors=True)
    verb = "would remove" if args.dry_run else "removed"
    total = sum(r["bytes"] for r in removed)
    for r in removed:
        print(f"{verb} {r['id']}")
    print(f"cspctl: {verb} {len(removed)} sessions ({total / 1024:.0f} KiB) older than "
          f"{args.older_than} from {sessions_dir()}", file=sys.stderr)
    return 0


def _tree_size(folder: Path) -> int:
    if not folder.is_dir() or folder.is_symlink():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()
               and not p.is_symlink())
