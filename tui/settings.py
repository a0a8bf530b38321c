"""The console's settings, in one typed place: what an operator may set (``[ui]`` and
``[keymap]`` of ``config.toml``, the command line), and the test seams kept apart."""

from __future__ import annotations

from dataclasses import dataclass, field

from cspctl.config import UiConfig
from cspctl.diagnostics.runner import DEFAULT_CONCURRENCY
from tui.seams import Seams


@dataclass
class UiSettings:
    """Console settings (defaults suit an operator).

    ``refresh_interval``: seconds between automatic refreshes (None: the profile's value;
    0: never). ``lab_time_scale``: speed of the in-process lab's clock for ``--lab``.
    ``seams``: what tests pin (clock, timers, masks; :mod:`tui.seams`), never an operator.
    """

    refresh_interval: float | None = None
    lab_time_scale: float = 1.0
    lab_scenario: str = "seed"
    shell_term: str = "xterm-256color"
    diagnose_concurrency: int = DEFAULT_CONCURRENCY
    """VMs diagnosed at once: the CLI's default (cspctl.diagnostics.runner)."""
    show_journal_path: bool = True
    lab_welcome: bool = True
    theme: str | None = None
    """A Textual theme name (None: Textual's default)."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys (e.g. {"console.shell": "x"}): remap any key by its id."""
    repair_timeout: float | None = None
    """Seconds a repair waits for each async job and for the agent (None: the engine's 300)."""
    repair_poll: float = 2.0
    """Seconds between polls of a repair's async jobs and agent state."""
    seams: Seams = field(default_factory=Seams)

    @classmethod
    def from_config(cls, ui: UiConfig, **values: object) -> UiSettings:
        """Settings from ``[ui]``/``[keymap]`` (unset keys keep the defaults) and ``values``
        from the command line."""
        chosen: dict[str, object] = {"keymap": dict(ui.keymap)}
        for name, key in (("theme", "theme"), ("shell_term", "shell_term"),
                          ("diagnose_concurrency", "diagnose_concurrency"),
                          ("show_journal_path", "show_journal_path"),
                          ("lab_welcome", "welcome")):
            value = getattr(ui, key)
            if value is not None:
                chosen[name] = value
        return cls(**{**chosen, **values})  # type: ignore[arg-type]

    def shown(self, text: str) -> str:
        """``text`` as displayed (after the seams' ``scrub``)."""
        scrub = self.seams.scrub
        return scrub(text) if scrub is not None else text
