"""Starting the console from the command line: settings from ``config.toml`` (``[ui]``,
``[keymap]``) checked against the console's bindings and themes, the scenario or profile
checked, all before the screen is taken over (a mistake is one line and a non-zero exit)."""

from __future__ import annotations

import argparse
from functools import partial

from textual.binding import Binding, BindingType
from textual.keys import key_to_character

from cspctl.config import UiConfig, check_keymap_ids, check_theme, load_ui
from cspctl.errors import ConfigError
from tui.app import CspctlApp
from tui.backend import Backend
from tui.connection import Opener
from tui.help import binding_groups, binding_ids
from tui.settings import UiSettings


def console_settings(ui: UiConfig, **values: object) -> UiSettings:
    """:class:`UiSettings` from ``[ui]``/``[keymap]``, once every keymap id names one of the
    console's bindings and no remapped key lands on another binding of the same place
    (ConfigError otherwise); ``values`` come from the command line."""
    groups = binding_groups(CspctlApp.BINDINGS)
    check_keymap_ids(ui, binding_ids(groups))
    check_keymap_clashes(ui, groups)
    return UiSettings.from_config(ui, **values)


def check_keymap_clashes(ui: UiConfig, groups: list[tuple[str, list[BindingType]]]) -> None:
    """A remapped key must not already be another binding's in the same place (the console,
    a pane, a table): one of the two would never fire. Dialogs are separate screens."""
    for where, bindings in groups:
        if where == "dialogs":
            continue
        owner: dict[str, str] = {}
        for b in bindings:
            if not isinstance(b, Binding) or not b.id:
                continue
            keys = ui.keymap.get(b.id, b.key)
            for key in (k.strip() for k in keys.split(",")):
                key = _as_character(key)
                other = owner.setdefault(key, b.id)
                if other != b.id:
                    remapped = b.id if b.id in ui.keymap else other
                    raise ConfigError(
                        f"{ui.where('keymap', remapped)}: {key} is both {other}'s and "
                        f"{b.id}'s key ({where}); remap the other one too, or pick another key")


def _as_character(key: str) -> str:
    """``question_mark`` -> ``?`` (a keymap may name a key either way)."""
    character = key_to_character(key)
    return character if character and len(character) == 1 and "!" <= character <= "~" else key


def launch(args: argparse.Namespace) -> int:
    """Run the console until it quits; its exit status."""
    ui = load_ui()
    settings = console_settings(ui, lab_scenario=getattr(args, "scenario", "seed") or "seed")
    read_only = getattr(args, "read_only", None)
    # Fail on a bad scenario or profile with one line, before the screen is taken over.
    if getattr(args, "lab", False):
        Backend.check_lab_scenario(settings.lab_scenario)
    else:
        from cspctl.config import load_profile

        load_profile(getattr(args, "profile", None))
    if getattr(args, "lab", False):
        opener: Opener = partial(Backend.open_lab, settings.lab_scenario, read_only=read_only,
                                 settings=settings)
    else:
        opener = partial(Backend.open_profile, getattr(args, "profile", None),
                         read_only=read_only, settings=settings)
    app = CspctlApp(opener, settings=settings)
    check_theme(ui, app.available_themes)
    result = app.run()
    if app.journal_hint:
        print(app.journal_hint, flush=True)
    if app.return_code not in (None, 0):
        return int(app.return_code or 1)
    return int(result or 0)

