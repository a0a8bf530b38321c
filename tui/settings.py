"""Every knob of the console in one typed place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from cspctl.diagnostics.runner import DEFAULT_CONCURRENCY


def _now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class UiSettings:
    """Console settings (defaults suit an operator; tests pin the clock and intervals).

    ``refresh_interval``: seconds between automatic refreshes (None: the profile's value;
    0: never). ``lab_time_scale``: speed of the in-process lab's clock for ``--lab``.
    ``clock``: what "last refreshed" reads (tests fix it for deterministic snapshots).
    ``elapsed``: monotonic seconds, for step timers (tests fix it too).
    ``show_durations``: show how long steps took (off for deterministic snapshots).
    """

    refresh_interval: float | None = None
    lab_time_scale: float = 1.0
    lab_scenario: str = "seed"
    clock: Callable[[], datetime] = field(default=_now)
    elapsed: Callable[[], float] | None = None
    shell_term: str = "xterm-256color"
    diagnose_concurrency: int = DEFAULT_CONCURRENCY
    """VMs diagnosed at once: the CLI's default (cspctl.diagnostics.runner)."""
    show_journal_path: bool = True
    lab_welcome: bool = True
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys (e.g. {"console.shell": "x"}): remap any key by its id."""
    show_durations: bool = True
    scrub: Callable[[str], str] | None = None
    """Applied to header and status lines before display (tests mask ports and paths)."""
    repair_timeout: float | None = None
    """Seconds a repair waits for each async job and for the agent (None: the engine's 300)."""
    repair_poll: float = 2.0
    """Seconds between polls of a repair's async jobs and agent state."""
    diagnostics_test_hook: Callable[[object], Awaitable[None] | None] | None = None
    """Test seam only: called with each diagnostics event after the pane has shown it; the
    run awaits the result, so a test can hold a diagnosis mid-way (e.g. on an Event)."""

    def shown(self, text: str) -> str:
        """``text`` as displayed (after ``scrub``)."""
        return self.scrub(text) if self.scrub is not None else text
