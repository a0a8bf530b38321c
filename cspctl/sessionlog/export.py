"""Exports of a journal: the Markdown report, its JSON, and a ``.tar.gz`` bundle of both with
the journal and the shell recordings (casts, with markers).

The journal is already redacted when written; every export is scrubbed once more, with the
secrets of the session's profile when it can still be loaded, so a secret that slipped into
free text still never leaves the machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cspctl.errors import CspctlError, UsageError
from cspctl.sessionlog.casts import (
    CastError,
    command_markers,
    journal_markers,
    load_cast,
    with_markers,
)
from cspctl.sessionlog.reader import JournalRead, parse_ts
from cspctl.sessionlog.redact import Scrubber
from cspctl.sessionlog.report import build_report, render_json
from cspctl.sessionlog.report_markdown import render_markdown

FORMATS = ("md", "json", "bundle")
SUFFIX = {"md": ".md", "json": ".json", "bundle": ".tar.gz"}


@dataclass
class Exported:
    path: Path
    format: str
    problems: list[str]
    ended_abruptly: bool


class ExportScrubber(Scrubber):
    """The journal's scrubber plus the ``vmpassword=...`` pattern of system VM output."""

    def __call__(self, text: str) -> str:
        from cspctl.ssh.mask import mask_secrets

        return super().__call__(mask_secrets(text))


def export_scrubber(read: JournalRead) -> ExportScrubber:
    """Known secret patterns, plus the secrets of the session's profile if it still loads."""
    scrub = ExportScrubber()
    start = next((e for e in read.events if e.get("event") == "session.start"), None)
    name = start.get("profile") if start else None
    if isinstance(name, str) and name:
        with warnings.catch_warnings(), contextlib.suppress(Exception):
            warnings.simplefilter("ignore")
            from cspctl.config import load_profile

            for secret in load_profile(name).secrets():
                scrub.add(secret)
    return scrub


def render(read: JournalRead, fmt: str, scrub: Scrubber | None = None) -> str:
    """The report of ``read`` as Markdown or JSON text (every value scrubbed first, so no
    escaping can hide a secret from the scrubber)."""
    scrub = scrub or export_scrubber(read)
    report = scrub.scrub_obj(build_report(read))
    if fmt == "md":
        return scrub(render_markdown(report))
    if fmt == "json":
        return render_json(report)
    raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def default_path(read: JournalRead, fmt: str) -> Path:
    """``sessions/<id>/report.md`` (or .json, or ``<id>.tar.gz``)."""
    name = f"cspctl-{read.session_id}.tar.gz" if fmt == "bundle" else f"report{SUFFIX[fmt]}"
    return read.side_dir / name


def write_private(path: Path, data: bytes) -> None:
    """Write atomically (a temp file renamed), owner-only, like the journal itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def bundle_bytes(read: JournalRead, scrub: Scrubber | None = None) -> bytes:
    """The ``.tar.gz``: report.md, report.json, journal.jsonl, casts/*.cast (with markers)."""
    scrubber = scrub or export_scrubber(read)
    root = f"cspctl-{read.session_id}"
    files: list[tuple[str, bytes]] = [
        ("report.md", render(read, "md", scrubber).encode()),
        ("report.json", render(read, "json", scrubber).encode()),
        ("journal.jsonl", _clean_journal(read.path, scrubber)),
    ]
    for name, data in _casts(read, scrubber):
        files.append((f"casts/{name}", data))
    mtime = int(time.time())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files:
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o600, mtime
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _clean_journal(path: Path, scrub: Scrubber) -> bytes:
    """The journal as written, each line scrubbed as data (a bad line as text)."""
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            out.append(scrub(line))
            continue
        out.append(json.dumps(scrub.scrub_obj(value), ensure_ascii=False))
    return ("\n".join(out) + "\n").encode() if out else b""


def _casts(read: JournalRead, clean: Callable[[str], str]) -> list[tuple[str, bytes]]:
    """Each recording of this session (only files inside its own casts/ folder)."""
    folder = read.side_dir / "casts"
    starts: dict[str, dict[str, Any]] = {}
    for e in read.events:
        if e.get("event") == "ssh.shell" and e.get("action") == "start" and e.get("cast"):
            starts[str(e["cast"]).rsplit("/", 1)[-1]] = e
    out = []
    with contextlib.suppress(FileNotFoundError):
        for path in sorted(folder.iterdir()):
            if not path.name.endswith(".cast") or not path.is_file() or path.is_symlink():
                continue
            try:
                cast = load_cast(path)
            except (CastError, OSError) as exc:
                read.problems.append(f"recording {path.name} left out: {exc}")
                continue
            start_event = starts.get(path.name, {})
            start = parse_ts(start_event.get("ts"))
            if start is None:
                from datetime import UTC, datetime

                start = datetime.fromtimestamp(int(cast.header.get("timestamp", 0)), UTC)
            markers = command_markers(cast) + journal_markers(
                read.events, start, start_event.get("vm") or cast.header.get("title"),
                cast.duration)
            out.append((path.name, with_markers(cast, markers, clean).dumps().encode()))
    return out


def export(read: JournalRead, fmt: str, output: Path | None = None) -> Exported:
    """Write one export; returns where it went and what the journal could not give."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    path = output or default_path(read, fmt)
    data = bundle_bytes(read) if fmt == "bundle" else render(read, fmt).encode()
    try:
        write_private(path, data)
    except OSError as exc:
        raise CspctlError(f"cannot write {path}: {exc.strerror or exc}") from None
    abrupt = not any(e.get("event") == "session.end" for e in read.events)
    return Exported(path, fmt, list(read.problems), abrupt)
