"""The session journal: one append-only JSON Lines file per session.

Every side effect of cspctl (API call, SSH command, shell session, finding, confirmation,
repair step, operator note) passes through :meth:`Journal.record`. Each event is written and
flushed to the OS before ``record`` returns, so a killed process loses nothing already done;
a background thread then fsyncs (group commit), so a crash of the machine itself loses at
most the last moment, and the event loop never waits for the disk. Nothing secret is written.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import platformdirs

from cspctl.sessionlog.redact import Scrubber
from cspctl.text import MAX_BLOCK, MAX_FIELD, bounded, safe_json

MAX_EVENT = 256 * 1024
"""Longest journal line, in characters: a larger event keeps its strings cut to MAX_FIELD,
and if even that is too large, only its name, size and field names."""

SCHEMA_VERSION = 1
"""Written as ``"v"`` on every line. A reader keeps (and shows raw) lines of a newer version."""


def state_dir() -> Path:
    """Where journals and recordings live (``CSPCTL_STATE_DIR`` overrides, for tests)."""
    override = os.environ.get("CSPCTL_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir("cspctl"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _bounded_line(rec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The event and its JSON line, at most MAX_EVENT characters whatever it holds.

    ``safe_json``: a journal is read with cat/tail too, and lone surrogates could not even be
    written."""
    line = safe_json(rec, default=str)
    if len(line) <= MAX_EVENT:
        return rec, line
    size = len(line)
    rec = {**bounded(rec, MAX_FIELD), "truncated": size}
    line = safe_json(rec, default=str)
    if len(line) <= MAX_EVENT:
        return rec, line
    names = [bounded(str(k), 64) for k in rec if k not in ("v", "ts", "event")][:100]
    rec = {"v": rec.get("v"), "ts": rec["ts"], "event": rec["event"], "truncated": size,
           "fields": names}
    return rec, safe_json(rec, default=str)


class Journal:
    """Append-only JSONL recorder. Thread-safe; listeners see each event after it is written."""

    def __init__(self, path: Path | None = None, *, scrubber: Scrubber | None = None) -> None:
        # milliseconds in the id: sessions started within one second still sort in order
        # (``latest`` is the last one), e.g. 20261202T070616.513Z-d0acb4
        now = datetime.now(UTC)
        self.session_id = (now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z-"
                           + uuid.uuid4().hex[:6])
        if path is None:
            path = state_dir() / "sessions" / f"{self.session_id}.jsonl"
        self.path = path
        self.scrub = scrubber or Scrubber()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._fh: TextIO | None = None
        self._dirty = threading.Event()
        self._syncer: threading.Thread | None = None

    @property
    def directory(self) -> Path:
        """Folder for this session's side files (asciicast recordings, exports)."""
        return self.path.parent / self.session_id

    def add_secret(self, value: str | None) -> None:
        """Never write this value anywhere, even inside free text."""
        self.scrub.add(value)

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one event; returns the (redacted) record as written."""
        # scrubbed before it is cut: a cut could split a secret the scrubber would not know
        rec = {"v": SCHEMA_VERSION, "ts": _now(), "event": event,
               **bounded(self.scrub.scrub_obj(fields), MAX_BLOCK)}
        rec, line = _bounded_line(rec)
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # owner-only: commands, outputs and addresses are operational data
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                self._fh = open(fd, "a", encoding="utf-8")  # noqa: SIM115
            self._fh.write(line + "\n")
            self._fh.flush()  # in the OS now: survives the process being killed
            if self._syncer is None:
                self._syncer = threading.Thread(
                    target=self._sync_loop,
                    args=(os.dup(self._fh.fileno()),),
                    name="journal-fsync",
                    daemon=True,
                )
                self._syncer.start()
        self._dirty.set()
        for listener in list(self._listeners):
            # a broken listener must never lose or block the journal
            with contextlib.suppress(Exception):
                listener(rec)
        return rec

    def _sync_loop(self, fd: int) -> None:
        """Group commit on a private fd: one fsync for all events since the last, lock-free."""
        try:
            while True:
                self._dirty.wait()
                self._dirty.clear()
                with contextlib.suppress(OSError):
                    os.fsync(fd)
                if self._fh is None:
                    return
        finally:
            os.close(fd)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                with contextlib.suppress(OSError):
                    os.fsync(self._fh.fileno())
                self._fh.close()
                self._fh = None
            syncer, self._syncer = self._syncer, None
        self._dirty.set()  # lets the syncer see the closed file and end
        if syncer is not None:
            syncer.join(timeout=5)

    def events(self) -> Iterator[dict[str, Any]]:
        """Read back everything recorded so far (a cut-off last line is skipped)."""
        from cspctl.sessionlog.reader import read_journal

        if not self.path.exists():
            return iter(())
        return iter(read_journal(self.path).events)
