"""CloudStack version strings as numbers: the one parser and comparison, for the diagnostics,
the repair playbooks and the lab."""

from __future__ import annotations

import functools
import re

_LEADING_NUMBERS = re.compile(r"\s*(\d+(?:\.\d+)*)")


@functools.lru_cache(maxsize=256)  # a handful of versions, asked per row of a lab listing
def parse_version(value: str | None) -> tuple[int, ...]:
    """``4.11.3.0-SNAPSHOT`` -> ``(4, 11, 3, 0)``; empty tuple when unparseable."""
    if not value:
        return ()
    match = _LEADING_NUMBERS.match(value)
    if not match:
        return ()
    return tuple(int(p) for p in match.group(1).split("."))


def at_least(version: str, minimum: str) -> bool:
    """Whether ``version`` is ``minimum`` or newer (``at_least("4.15.2.0", "4.15")``)."""
    return parse_version(version) >= parse_version(minimum)
