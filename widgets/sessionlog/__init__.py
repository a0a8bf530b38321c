"""The session log: a live timeline of journal events and its small dialogs."""

from widgets.sessionlog.dialogs import ChoiceDialog, NoteDialog, TextScreen
from widgets.sessionlog.timeline import Timeline, TimelineRow

__all__ = ["ChoiceDialog", "NoteDialog", "TextScreen", "Timeline", "TimelineRow"]
