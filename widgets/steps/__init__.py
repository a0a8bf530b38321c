"""Progress of a stepwise run (diagnostics now, repair next): a live list of steps."""

from widgets.steps.steplist import MARKERS, StepList, StepState

__all__ = ["MARKERS", "StepList", "StepState"]
