"""Starting the console from the command line: settings from ``config.toml`` (``[ui]``,
``[keymap]``) checked against the console's bindings and themes, the scenario or profile
checked, all before the screen is taken over (a mistake is one line and a non-zero exit)."""

from __future__ import annotations

import argparse
from functools import partial

from cspctl.config import UiConfig, check_keymap_ids, check_theme, load_ui
from tui.app import CspctlApp
from tui.backend import Backend
from tui.connection import Opener
from tui.help import binding_groups, binding_ids
from tui.settings import UiSettings


def console_settings(ui: UiConfig, **values: object) -> UiSettings:
    """:class:`UiSettings` from ``[ui]``/``[keymap]``, once every keymap id names one of the
    console's bindings (ConfigError otherwise); ``values`` come from the command line."""
    check_keymap_ids(ui, binding_ids(binding_groups(CspctlApp.BINDINGS)))
    return UiSettings.from_config(ui, **values)


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

