"""A modal that asks the operator to type a name (destroying a VM needs its name typed)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from widgets.confirm.dialog import DIALOG_CSS


class TypeNameDialog(ModalScreen[str | None]):
    """Dismisses with what was typed (Enter or the button), or None (Escape / Cancel).

    The dialog does not judge the name: whoever asked compares it with the expected one.
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="TypeNameDialog", body="40vh")

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, title: str, body: str | Text, *, prompt: str,
                 yes: str = "Confirm", no: str = "Cancel") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.prompt = prompt
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            with VerticalScroll(classes="body-scroll", can_focus=False):
                yield Static(self.body, classes="body", markup=False)
            yield Static(self.prompt, markup=False)
            yield Input(id="typed", placeholder="type it here, then Enter")
            with Horizontal():
                yield Button(f"{self.yes_label} (enter)", id="yes", variant="warning")
                yield Button(f"{self.no_label} (esc)", id="no", variant="primary")

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
