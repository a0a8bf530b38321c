"""Test seams: what a test pins or watches in the console (clock, timers, masks, a hook).

Not settings: an operator never sets these (``config.toml``'s ``[ui]`` fills
:class:`tui.settings.UiSettings`). The defaults are what the console does for real; tests build
a :class:`Seams` (tests/tui_helpers.py) and hand it over as ``UiSettings(seams=...)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime


def _now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class Seams:
    """``clock``: what "last refreshed" reads (tests fix it for deterministic snapshots).
    ``elapsed``: monotonic seconds for timers (None: :func:`time.monotonic`).
    ``show_durations``: show how long steps took (off for deterministic snapshots).
    ``scrub``: applied to header and status lines before display (tests mask ports, paths).
    ``diagnostics_event``: called with each diagnostics event after the pane has shown it;
    the run awaits the result, so a test can hold a diagnosis mid-way (e.g. on an Event).
    """

    clock: Callable[[], datetime] = field(default=_now)
    elapsed: Callable[[], float] | None = None
    show_durations: bool = True
    scrub: Callable[[str], str] | None = None
    diagnostics_event: Callable[[object], Awaitable[None] | None] | None = None
