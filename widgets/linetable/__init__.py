"""A line-API table of keyed rows (any rows: system VMs, steps, playbooks): draws only the
lines in view, filters and sorts as index operations, updates rows in place."""

from widgets.linetable.cells import TONES, Cell, Column
from widgets.linetable.table import SyncTable

__all__ = ["TONES", "Cell", "Column", "SyncTable"]
