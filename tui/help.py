"""The help screen: every key binding, where it applies, and its id (for remapping in the
``[keymap]`` table of ``config.toml``), and the list of every bound id the console checks a
keymap against."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from widgets import plain


def binding_groups(console: Iterable[BindingType]) -> list[tuple[str, list[BindingType]]]:
    """(where, bindings) for the console's ``console`` bindings and every pane, table and
    dialog it shows: what the help screen lists, and what ``[keymap]`` may remap."""
    from tui.diag_pane import DiagnosticsPane
    from tui.log_pane import LogPane
    from tui.overview import Overview
    from tui.repair_pane import RepairPane
    from widgets.confirm import ConfirmDialog
    from widgets.confirm.choose import ChooseDialog
    from widgets.confirm.typename import TypeNameDialog
    from widgets.linetable import SyncTable
    from widgets.sessionlog.dialogs import ChoiceDialog, NoteDialog, TextScreen
    from widgets.terminal import Terminal

    return [
        ("console", list(console)),
        ("VM list", list(Overview.BINDINGS)),
        ("tables", list(SyncTable.BINDINGS)),
        ("shell pane", list(Terminal.BINDINGS)),
        ("repair wizard", list(RepairPane.BINDINGS)),
        ("session log", list(LogPane.BINDINGS)),
        ("diagnosis tab", list(DiagnosticsPane.BINDINGS)),
        ("dialogs", [*ConfirmDialog.BINDINGS, *ChooseDialog.BINDINGS,
                     *TypeNameDialog.BINDINGS, *NoteDialog.BINDINGS, *ChoiceDialog.BINDINGS,
                     *TextScreen.BINDINGS]),
        ("help", list(HelpScreen.BINDINGS)),
    ]


def settings_rows() -> list[tuple[str, ...]]:
    """The ``[ui]`` table of config.toml, as help rows (where, example value, what, key)."""
    from cspctl.config.ui import UI_HELP

    return [("config [ui]", example, what, key) for key, (example, what) in UI_HELP.items()]


def binding_ids(groups: Iterable[tuple[str, Iterable[BindingType]]]) -> set[str]:
    """Every binding id in ``groups`` (what a ``[keymap]`` entry may name)."""
    return {b.id for _, bindings in groups for b in bindings
            if isinstance(b, Binding) and b.id}


def key_name(key: str, display: Callable[[Binding], str] | None = None) -> str:
    """A key as ``[keymap]`` takes it: the character when it is one (``?``, ``/``, ``]``),
    else its name (``ctrl+r``, ``f1``, ``escape``, ``enter``)."""
    shown = display(Binding(key, "")) if display else key
    return shown if len(shown) == 1 and "!" <= shown <= "~" else key


def binding_rows(
    groups: Iterable[tuple[str, Iterable[BindingType]]],
    display: Callable[[Binding], str] | None = None,
    keymap: Mapping[str, str] | None = None,
) -> list[tuple[str, ...]]:
    """(where, keys, what, id) for every Binding of every group: the keys as remapped by
    ``keymap`` (binding id -> keys), each named as a ``[keymap]`` entry would name it."""
    keymap = keymap or {}
    rows: list[tuple[str, ...]] = []
    for where, bindings in groups:
        for b in bindings:
            if isinstance(b, Binding):
                keys = keymap.get(b.id, b.key) if b.id else b.key
                shown = ", ".join(key_name(k.strip(), display) for k in keys.split(","))
                rows.append((where, shown, b.description or b.action, b.id or ""))
    return rows


INTRO = (
    'Remap a binding by its id in [keymap] of config.toml: "console.shell" = "x" (several '
    'keys: "d,f5"). In a shell pane every key goes to the shell except ctrl+] (leave the '
    "pane), shift+pgup/pgdn (scrollback), ctrl+pgup/pgdn (tabs), ctrl+t (real terminal), "
    "ctrl+q (quit).\nClose this help with Escape, ? or q."
)


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
            yield Static(INTRO, id="help-intro", markup=False)
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
