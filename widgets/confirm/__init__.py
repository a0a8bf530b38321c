"""A yes/no confirmation dialog (host keys, destructive steps)."""

from widgets.confirm.dialog import ConfirmDialog

__all__ = ["ConfirmDialog"]
