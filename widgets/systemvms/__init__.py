"""System VM listing widgets."""

from widgets.systemvms.table import TONES, Cell, Column, SyncTable

__all__ = ["TONES", "Cell", "Column", "SyncTable"]
