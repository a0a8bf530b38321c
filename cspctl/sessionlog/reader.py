"""Read journals back: every line kept, a cut-off last line reported and skipped.

A journal may belong to a process that was killed (SIGKILL, power loss): its last line can be
cut off and ``session.end`` missing. Lines written by a newer cspctl (a higher ``"v"``) or
naming events this version does not know are kept and shown raw, never dropped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cspctl.errors import CspctlError, UsageError
from cspctl.sessionlog.journal import SCHEMA_VERSION, state_dir

MAX_JOURNAL_BYTES = 256 * 1024 * 1024
"""A journal bigger than this is read up to this size only (the rest is reported)."""


class JournalNotFound(CspctlError):
    """No journal for that id (exit 4: nothing to act on)."""

    exit_code = 4


def sessions_dir() -> Path:
    """Where journals are written: ``<state dir>/sessions``."""
    return state_dir() / "sessions"


@dataclass
class JournalRead:
    """A journal as read from disk: its events in order, and what could not be read."""

    path: Path
    events: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        return self.path.stem

    @property
    def side_dir(self) -> Path:
        """The session's side files (casts): ``sessions/<id>/``."""
        return self.path.parent / self.session_id

    @property
    def newer(self) -> list[dict[str, Any]]:
        """Events written by a newer cspctl (schema version above ours)."""
        return [e for e in self.events if is_newer(e)]


def is_newer(event: dict[str, Any]) -> bool:
    """Was this line written with a schema this version does not know?"""
    version = event.get("v", 0)
    return not isinstance(version, int) or version > SCHEMA_VERSION


def read_journal(path: Path) -> JournalRead:
    """Parse a journal. Never raises for bad content: each bad line becomes a problem."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_JOURNAL_BYTES + 1)
    except FileNotFoundError:
        raise JournalNotFound(f"no journal at {path}") from None
    except OSError as exc:
        raise CspctlError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
    problems: list[str] = []
    if len(raw) > MAX_JOURNAL_BYTES:
        raw = raw[:MAX_JOURNAL_BYTES]
        problems.append(f"the journal is larger than {MAX_JOURNAL_BYTES // 2**20} MiB; "
                        "only its beginning was read")
    chunks = raw.split(b"\n")
    tail = chunks.pop()  # after the last newline: b"" for a complete journal
    events: list[dict[str, Any]] = []
    for number, chunk in enumerate(chunks, start=1):
        if not chunk.strip():
            continue
        event = _parse(chunk)
        if event is None:
            problems.append(f"line {number} is not a journal event and was skipped")
        else:
            events.append(event)
    if tail.strip():
        event = _parse(tail)
        if event is None:
            problems.append(
                f"line {len(chunks) + 1} was cut off ({len(tail)} bytes; the process ended "
                "while writing it) and was skipped")
        else:
            events.append(event)
    return JournalRead(path, events, problems)


def _parse(chunk: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(chunk.decode("utf-8", errors="replace"))
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("event"), str):
        return None
    return value


# ---- finding journals ---------------------------------------------------------------------
def list_journals(directory: Path | None = None) -> list[Path]:
    """Every journal, oldest first (ids start with their UTC start time)."""
    directory = directory or sessions_dir()
    try:
        names = [e.name for e in os.scandir(directory) if e.is_file()
                 and e.name.endswith(".jsonl")]
    except FileNotFoundError:
        return []
    return [directory / name for name in sorted(names)]


def resolve(ref: str, directory: Path | None = None) -> Path:
    """``latest``, a session id, a unique id prefix, or a path to a ``.jsonl`` file."""
    ref = ref.strip()
    if not ref:
        raise UsageError("name a session: an id from 'cspctl log list', or latest")
    if ref.endswith(".jsonl") and ("/" in ref or Path(ref).exists()):
        path = Path(ref).expanduser()
        if not path.is_file():
            raise JournalNotFound(f"no journal at {path}")
        return path
    if "/" in ref or ref.startswith("."):
        raise UsageError(f"not a session id: {ref!r}")
    journals = list_journals(directory)
    if ref == "latest":
        if not journals:
            raise JournalNotFound(f"no session recorded yet in {directory or sessions_dir()}")
        return journals[-1]
    exact = [p for p in journals if p.stem == ref]
    if exact:
        return exact[0]
    matches = [p for p in journals if p.stem.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"{len(matches)} sessions start with {ref!r}; give more of the id")
    raise JournalNotFound(f"no session {ref!r} (see cspctl log list)")


def parse_ts(value: object) -> datetime | None:
    """An event's ``ts`` as an aware datetime, or None when missing or malformed."""
    if not isinstance(value, str):
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def hms(ts: object) -> str:
    """An event's ``ts`` as ``HH:MM:SS``, ``??:??:??`` when missing or malformed."""
    parsed = parse_ts(ts)
    return parsed.strftime("%H:%M:%S") if parsed else "??:??:??"
