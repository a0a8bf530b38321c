"""A modal to pick any number of items (none picked by default)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, SelectionList

from widgets import plain
from widgets.confirm.dialog import DIALOG_CSS, QuestionDialog


class ChooseDialog(QuestionDialog[tuple[str, ...]]):
    """Space toggles an item; ``y`` (or the button) dismisses with the picked ones, Escape
    with none."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ChooseDialog", body="30vh") + """
    ChooseDialog SelectionList { height: auto; max-height: 30vh; }
    """
    NO_KEY = "esc"

    BINDINGS = [
        Binding("escape", "cancel", "Pick none", id="confirm.pick_none"),
        Binding("y", "done", "Use the picked", id="confirm.picked"),
    ]

    def __init__(self, title: str, body: str | Text, choices: tuple[str, ...], *,
                 yes: str = "Delete the picked", no: str = "Pick none") -> None:
        super().__init__(title, body, yes=yes, no=no)
        self.choices = choices

    def compose_answer(self) -> ComposeResult:
        yield SelectionList[int](*[(plain.line(c), i) for i, c in enumerate(self.choices)])

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def _picked(self) -> tuple[str, ...]:
        chosen: list[int] = self.query_one(SelectionList).selected
        return tuple(self.choices[i] for i in sorted(chosen))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self._picked() if event.button.id == "yes" else ())

    def action_done(self) -> None:
        self.dismiss(self._picked())

    def action_cancel(self) -> None:
        self.dismiss(())
