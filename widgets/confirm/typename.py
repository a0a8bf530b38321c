"""A modal that asks the operator to type a name (destroying a VM needs its name typed)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input, Static

from widgets import plain
from widgets.confirm.dialog import DIALOG_CSS, QuestionDialog


class TypeNameDialog(QuestionDialog[str | None]):
    """Dismisses with what was typed (Enter or the button), or None (Escape / Cancel).

    The dialog does not judge the name: whoever asked compares it with the expected one.
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="TypeNameDialog", body="40vh")
    YES_KEY = "enter"
    NO_KEY = "esc"

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, title: str, body: str | Text, *, prompt: str,
                 yes: str = "Confirm", no: str = "Cancel") -> None:
        super().__init__(title, body, yes=yes, no=no)
        self.prompt = prompt

    def compose_answer(self) -> ComposeResult:
        yield Static(plain.line(self.prompt), markup=False)
        yield Input(id="typed", placeholder="type it here, then Enter")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.query_one(Input).value if event.button.id == "yes" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
