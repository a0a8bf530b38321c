"""Small modal screens of the session log: a note, a choice (export format), a text."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


class NoteDialog(ModalScreen[str | None]):
    """One line of text; Enter adds it, Escape cancels (None)."""

    DEFAULT_CSS = """
    NoteDialog { align: center middle; }
    NoteDialog > Vertical { width: 76; max-width: 100%; height: auto; border: thick $accent;
                            background: $surface; padding: 0 1; }
    NoteDialog .title { text-style: bold; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="note.cancel")]

    def __init__(self, title: str = "Add a note to the session log") -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            yield Input(placeholder="what you saw, did or decided (Enter adds, Esc cancels)",
                        max_length=2000, id="note-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one option (id, label); Enter picks, Escape cancels (None)."""

    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > Vertical { width: 90; max-width: 100%; height: auto; max-height: 100%;
                              border: thick $accent; background: $surface; padding: 0 1; }
    ChoiceDialog .title { text-style: bold; }
    ChoiceDialog OptionList { height: auto; max-height: 12; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            yield OptionList(*(Option(label, id=key) for key, label in self.options),
                             markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """A block of text shown whole (scrollable); Escape or Enter closes it."""

    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%;
                            border: thick $primary; background: $surface; padding: 0 1; }
    TextScreen .title { text-style: bold; }
    TextScreen VerticalScroll { height: auto; max-height: 30; }
    """
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="text.close")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            with VerticalScroll():
                yield Static(self.body, id="text-body", markup=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
