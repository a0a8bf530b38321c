"""Starting the console. The engine does not depend on the UI: the UI registers itself
under the ``cspctl.ui`` entry point (see pyproject.toml) and is looked up only here."""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points

from cspctl.errors import CspctlError


def run_tui(args: argparse.Namespace) -> int:
    found = entry_points(group="cspctl.ui", name="console")
    if not found:
        raise CspctlError(
            "the console (TUI) is not installed; reinstall cspctl (pip install -e .) "
            "or use a headless subcommand (cspctl --help)"
        )
    run = next(iter(found)).load()
    return int(run(args) or 0)
