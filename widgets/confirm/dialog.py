"""A modal yes/no question; the default answer is No (Enter on "No", Escape = No).

The body is plain text or a rich :class:`~rich.text.Text` (never markup: what a cloud or a VM
said is shown as it is); a long body scrolls inside the dialog, the buttons stay visible.
"""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from widgets import plain

DIALOG_CSS = """
/* the body scrolls within its max-height, so the buttons stay on an 80x24 screen */
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; max-width: 100%; height: auto; max-height: 100%;
    border: thick $warning; background: $surface; padding: 0 1;
}}
{name} .title {{ text-style: bold; }}
{name} .body-scroll {{ height: auto; max-height: {body}; margin: 1 0; }}
{name} .body {{ height: auto; }}
{name} Horizontal {{ height: auto; align-horizontal: right; }}
{name} Button {{ margin-left: 1; }}
"""

ResultT = TypeVar("ResultT")


class QuestionDialog(ModalScreen[ResultT]):
    """The frame every question shares: a title, a body that scrolls, what the subclass asks
    for (:meth:`compose_answer`), then the yes and no buttons (No is the safe default).

    Title, body and labels are shown as text, never markup: they name VMs and addresses from
    the cloud. A :class:`~rich.text.Text` body was built as text by its caller (its styles are
    kept); a ``str`` body is data.
    """

    YES_KEY = "y"
    NO_KEY = "n"

    def __init__(self, title: str, body: str | Text, *, yes: str, no: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain.line(self.title_text), classes="title", markup=False)
            with VerticalScroll(classes="body-scroll", can_focus=False):
                body = self.body if isinstance(self.body, Text) else plain.block(self.body)
                yield Static(body, classes="body", markup=False)
            yield from self.compose_answer()
            with Horizontal():
                yield Button(f"{self.yes_label} ({self.YES_KEY})", id="yes", variant="warning")
                yield Button(f"{self.no_label} ({self.NO_KEY})", id="no", variant="primary")

    def compose_answer(self) -> ComposeResult:
        """Widgets between the body and the buttons (an input, a pick list); none here."""
        yield from ()


class ConfirmDialog(QuestionDialog[bool]):
    """Ask a question; dismisses with True (yes) or False (no / escape)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog", body="60vh")

    BINDINGS = [
        Binding("escape", "answer(False)", "No", id="confirm.no"),
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", show=False, id="confirm.no_key"),
    ]

    def __init__(self, title: str, body: str | Text, *, yes: str = "Yes",
                 no: str = "No") -> None:
        super().__init__(title, body, yes=yes, no=no)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
