"""A playbook's steps as they run, then the verification checks, then the outcome.

Every status has a text marker and word (readable under NO_COLOR). The "Does" column says
whether a step reads, changes (asks first) or waits.
"""

from __future__ import annotations

from cspctl.repair.model import StepStatus
from widgets.linetable import Column
from widgets.steps import MARKERS, StepList
from widgets.steps.steplist import TONES

REPAIR_MARKERS: dict[str, tuple[str, str]] = {
    # status: (marker, word); its tone (colour) is in REPAIR_TONES. A step's own statuses
    # come from the engine (StepStatus); the rest are the wizard's moments around them.
    **MARKERS,
    **{s.value: (s.marker, s.word) for s in StepStatus},
    "asking": ("?", "ASK"),
    "attention": ("!", "DONE?"),  # done, but see its result
    "verified": ("✔", "VERIFIED"),
    "unverified": ("✘", "UNVERIFIED"),
    "error": ("?", "ERROR"),
}


REPAIR_TONES: dict[str, str] = {
    **TONES, **{s.value: s.tone for s in StepStatus}, "asking": "warn", "attention": "warn",
    "verified": "good", "unverified": "bad", "error": "error",
}


class RepairStepList(StepList):
    """Rows keyed by step id (``verify:<check>`` for checks, ``outcome`` for the end)."""

    COLUMNS = (
        Column("mark", " "), Column("status", "Status"), Column("target", "Does", priority=2),
        Column("title", "Step", max_width=28), Column("summary", "Result", flex=True),
        Column("time", "Time", priority=1),
    )
    MARKERS = REPAIR_MARKERS
    TONES = REPAIR_TONES

    def clear_steps(self) -> None:
        """Forget every row (a new playbook, or a new run of it)."""
        self.steps.clear()
        self.sync([])
