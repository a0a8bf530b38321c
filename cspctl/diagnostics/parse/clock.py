"""Time on the VM: epoch seconds, the zone's offset, ``date``-stamped log lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime


def parse_epoch(text: str) -> int | None:
    """``date -u +%s``."""
    word = text.strip().split()[0] if text.strip() else ""
    return int(word) if word.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class TimeZone:
    """``date '+%z %Z'``: the UTC offset (what matters) and the name (what people read)."""

    offset: str
    """``+0900``; two machines agree on local time exactly when these are equal."""
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({self.offset})" if self.name and self.name != self.offset \
            else self.offset


def parse_tz_offset(text: str) -> TimeZone | None:
    """``date '+%z %Z'`` -> TimeZone; abbreviations differ for one offset (GMT vs UTC)."""
    match = re.search(r"([+-]\d{2}:?\d{2})(?:\s+(\S+))?", text)
    if not match:
        return None
    offset = match.group(1).replace(":", "")
    return TimeZone(offset, match.group(2) or offset)


def parse_log_date_lines(text: str) -> list[datetime]:
    """Times of ``date``-stamped lines (``Tue Nov 24 04:16:07 UTC 2026 …``), naive local."""
    times = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 6:
            try:
                times.append(datetime.strptime(" ".join([*cols[:4], cols[5]]),
                                               "%a %b %d %H:%M:%S %Y"))
            except ValueError:
                continue
    return times
