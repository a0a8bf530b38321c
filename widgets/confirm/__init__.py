"""Questions for the operator: yes/no (host keys, destructive steps), a typed name, picks."""

from widgets.confirm.choose import ChooseDialog
from widgets.confirm.dialog import ConfirmDialog
from widgets.confirm.typename import TypeNameDialog

__all__ = ["ChooseDialog", "ConfirmDialog", "TypeNameDialog"]
