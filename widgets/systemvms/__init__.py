"""System VM listing widgets."""

from widgets.systemvms.table import Column, SyncTable

__all__ = ["Column", "SyncTable"]
