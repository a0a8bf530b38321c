"""The help screen: every key binding, where it applies, and its id (for remapping)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from widgets import plain


def binding_rows(
    groups: Iterable[tuple[str, Iterable[BindingType]]],
    display: Callable[[Binding], str] | None = None,
) -> list[tuple[str, ...]]:
    """(where, keys, what, id) for every Binding of every group (keys as the footer shows)."""
    rows: list[tuple[str, ...]] = []
    for where, bindings in groups:
        for b in bindings:
            if isinstance(b, Binding):
                keys = ", ".join(
                    display(Binding(k.strip(), b.action)) if display else k.strip()
                    for k in b.key.split(",")
                )
                rows.append((where, keys, b.description or b.action, b.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    """A table of bindings; Escape or ? closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "app.pop_screen", "Close", id="help.close"),
    ]

    def __init__(self, rows: list[tuple[str, ...]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(
                "cspctl keys — remap any binding by its id (keymap). In a shell pane every "
                "key goes to the remote shell except ctrl+] (leave the pane), shift+pgup/pgdn "
                "(scrollback), ctrl+pgup/pgdn (tabs), ctrl+t (real terminal), ctrl+q (quit).\n"
                "Close this help with Escape, ? or q.",
                id="help-intro", markup=False)
            table: DataTable[object] = DataTable(id="help-table", cursor_type="row")
            yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Key", "Action", "Id")
        table.add_rows([[plain.line(cell) for cell in row] for row in self.rows])
        table.focus()
        box = self.query_one("#help-box")
        box.border_title = "Help"
        box.border_subtitle = "Esc / ? / q: close"
