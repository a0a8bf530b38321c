"""Asciicast v2 recordings made navigable: a marker (``"m"`` event) at each command typed in
the shell, and at each check and repair step that happened while the shell was open.

Markers are added when a cast is exported (the recording itself stays output-only): commands
are recognised from the shell's echoed prompt line (``root@v-2-VM:~# ls``), never from
keystrokes; checks and steps come from the journal's timestamps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cspctl.sessionlog.reader import parse_ts
from cspctl.text import safe_line

MAX_CAST_BYTES = 64 * 1024 * 1024
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_PROMPT = re.compile(r"^[\w.-]+@[\w.-]+[^#$\n]{0,80}?[#$] (?P<cmd>\S.*)$")
_MARKED_EVENTS = ("diag.finding", "repair.question", "repair.step", "repair.verify",
                  "ssh.command")


class CastError(ValueError):
    """Not an asciicast v2 file."""


@dataclass
class Cast:
    header: dict[str, Any]
    events: list[list[Any]]

    def dumps(self) -> str:
        lines = [json.dumps(self.header, ensure_ascii=False)]
        lines += [json.dumps(e, ensure_ascii=False) for e in self.events]
        return "\n".join(lines) + "\n"

    @property
    def duration(self) -> float:
        return float(self.events[-1][0]) if self.events else 0.0


def load_cast(path: Path) -> Cast:
    """Parse a cast; a cut-off last line (a killed process) is dropped, anything else bad
    raises :class:`CastError`."""
    with open(path, "rb") as fh:
        raw = fh.read(MAX_CAST_BYTES)
    lines = raw.decode("utf-8", errors="replace").split("\n")
    try:
        header = json.loads(lines[0])
    except ValueError:
        raise CastError(f"{path.name}: no asciicast header") from None
    if not isinstance(header, dict) or header.get("version") != 2:
        raise CastError(f"{path.name}: not asciicast v2")
    events: list[list[Any]] = []
    last = len(lines) - 1
    for i, line in enumerate(lines[1:], start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            if i == last:
                break  # cut off mid-write
            raise CastError(f"{path.name}: line {i + 1} is not an event") from None
        if (isinstance(event, list) and len(event) == 3 and isinstance(event[0], int | float)
                and isinstance(event[1], str) and isinstance(event[2], str)):
            events.append(event)
    return Cast(header, events)


def command_markers(cast: Cast) -> list[tuple[float, str]]:
    """``(time, "$ command")`` for each prompt line the shell echoed and then ended."""
    markers: list[tuple[float, str]] = []
    line = ""
    for t, kind, data in cast.events:
        if kind != "o":
            continue
        text = _ANSI.sub("", data)
        for ch in text:
            if ch == "\n":
                match = _PROMPT.match(line.rstrip())
                if match:
                    markers.append((float(t), "$ " + safe_line(match["cmd"], 200)))
                line = ""
            elif ch == "\r":
                continue
            elif ch in "\b\x7f":
                line = line[:-1]
            elif ch >= " ":
                line += ch
        line = line[-2000:]
    return markers


def journal_markers(events: list[dict[str, Any]], start: datetime, vm: str | None,
                    duration: float) -> list[tuple[float, str]]:
    """Checks and repair steps on ``vm`` while the cast was running, as marker times."""
    from cspctl.sessionlog.describe import describe

    out = []
    for e in events:
        if e.get("event") not in _MARKED_EVENTS or (vm and e.get("vm") not in (vm, None)):
            continue
        ts = parse_ts(e.get("ts"))
        if ts is None:
            continue
        t = (ts - start).total_seconds()
        if 0 <= t <= duration + 1:
            label = describe(e, durations=False)
            out.append((round(min(t, duration), 6), safe_line(label, 200)))
    return out


def with_markers(cast: Cast, markers: list[tuple[float, str]],
                 scrub: Callable[[str], str] = str) -> Cast:
    """A copy of ``cast`` (text scrubbed) with ``"m"`` events merged in time order."""
    events: list[tuple[float, int, list[Any]]] = []
    for i, (t, kind, data) in enumerate(cast.events):
        if kind == "m":
            continue  # markers are ours to place
        events.append((float(t), i * 2 + 1, [t, kind, scrub(data) if kind == "o" else data]))
    for j, (t, label) in enumerate(sorted(markers)):
        events.append((t, -1_000_000 + j, [t, "m", scrub(label)]))
    events.sort(key=lambda item: (item[0], item[1]))
    return Cast(dict(cast.header), [e for _, _, e in events])
