"""CloudStack version strings compared as numbers: the one comparison the lab uses."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=256)  # a handful of versions, asked per row of every listing
def version_tuple(version: str) -> tuple[int, ...]:
    """``"4.13.1.0"`` -> ``(4, 13, 1, 0)``; stops at the first non-numeric part."""
    out: list[int] = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def at_least(version: str, minimum: str) -> bool:
    """Whether ``version`` is ``minimum`` or newer (``at_least("4.15.2.0", "4.15")``)."""
    return version_tuple(version) >= version_tuple(minimum)
