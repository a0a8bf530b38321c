"""The console's own settings: the ``[ui]`` and ``[keymap]`` tables of cspctl's ``config.toml``.

::

    [ui]
    theme = "textual-light"          # a Textual theme (the console lists them if unknown)
    shell_term = "xterm-256color"    # TERM sent when a shell tab opens its PTY
    diagnose_concurrency = 8         # VMs diagnosed at once (1 to 64)
    show_journal_path = true         # the journal's path in the header
    welcome = true                   # the welcome note when the lab starts

    [keymap]                         # binding id = keys (comma-separated), as `?` lists them
    "console.shell" = "x"
    "console.diagnose" = "d,f5"

The engine knows the syntax, not the ids: the console checks the ids against its bindings
(:func:`check_keymap_ids`) before it takes over the screen.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cspctl.config.sources import display_path
from cspctl.errors import ConfigError

UI_HELP: dict[str, tuple[str, str]] = {
    # key: (an example value as written in the file, what it sets, in a few words)
    "theme": ('"textual-light"', "Theme"),
    "shell_term": ('"xterm-256color"', "TERM of shells"),
    "diagnose_concurrency": ("8", "VMs diagnosed at once"),
    "show_journal_path": ("true", "Journal in header"),
    "welcome": ("true", "Lab welcome note"),
}
UI_KEYS = tuple(UI_HELP)
MAX_CONCURRENCY = 64
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
_BINDING_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_KEY_NAME = re.compile(r"^[a-z0-9_]+$")
_TERM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
KEYMAP_EXAMPLE = '`"console.shell" = "x"` (binding id = keys, comma-separated)'


@dataclass(frozen=True)
class UiConfig:
    """What ``[ui]`` and ``[keymap]`` say (None: not set, the console's default)."""

    path: Path | None = None
    theme: str | None = None
    shell_term: str | None = None
    diagnose_concurrency: int | None = None
    show_journal_path: bool | None = None
    welcome: bool | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys as Textual's keymaps take them ("x", "d,f5", "ctrl+g")."""

    def where(self, table: str, key: str | None = None) -> str:
        """"`theme` in [ui] of ~/.config/cspctl/config.toml", for messages."""
        place = f"[{table}] of {display_path(self.path)}" if self.path else f"[{table}]"
        return f"`{key}` in {place}" if key else place


def _valid_key(key: str) -> bool:
    """One key as Textual names it: modifiers joined by ``+``, then a key name or a
    single printable character (``x``, ``ctrl+g``, ``f5``, ``question_mark``, ``?``)."""
    if not key:
        return False
    *mods, name = key.split("+") if len(key) > 1 else [key]
    if any(mod not in MODIFIERS for mod in mods) or len(set(mods)) != len(mods):
        return False
    if len(name) == 1:
        return name.isprintable() and not name.isspace() and name != ","
    return bool(_KEY_NAME.match(name))


def parse_keys(value: object, where: str) -> str:
    """``value`` as a normalised key list ("d, F5" -> "d,f5"); ConfigError when it is not."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be text naming keys; e.g. {KEYMAP_EXAMPLE}")
    keys = [k.strip() for k in value.split(",")]
    bad = [k for k in keys if not _valid_key(k if len(k) == 1 else k.lower())]
    if bad:
        raise ConfigError(
            f"{where} is {value!r}: {bad[0]!r} is not a key; name keys as the help screen (?) "
            "shows them: a character or a name (f5, pagedown, question_mark), with "
            "ctrl+/shift+/alt+ in front, several separated by commas"
        )
    return ",".join(k if len(k) == 1 else k.lower() for k in keys)


def _bool(cfg: UiConfig, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{cfg.where('ui', key)} is {value!r}, not a boolean; use "
                          f"`{key} = true` or false")
    return value


def _text(cfg: UiConfig, key: str, value: object, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{cfg.where('ui', key)} must be text; e.g. `{key} = \"{example}\"`")
    return value.strip()


def parse_ui(path: Path | None, ui: Mapping[str, Any], keymap: Mapping[str, Any],
             warns: list[str]) -> UiConfig:
    """Validate the two tables (unknown ``[ui]`` keys are warnings, bad values errors)."""
    cfg = UiConfig(path=path)
    values: dict[str, Any] = {}
    for key, value in ui.items():
        if key not in UI_KEYS:
            hint = difflib.get_close_matches(key, UI_KEYS, n=1)
            warns.append(f"unknown key {key!r} in {cfg.where('ui')} is ignored"
                         + (f"; did you mean {hint[0]!r}?" if hint else
                            "; known: " + ", ".join(UI_KEYS)))
        elif key in ("show_journal_path", "welcome"):
            values[key] = _bool(cfg, key, value)
        elif key == "diagnose_concurrency":
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 1 <= value <= MAX_CONCURRENCY:
                raise ConfigError(f"{cfg.where('ui', key)} is {value!r}; use a whole number "
                                  f"from 1 to {MAX_CONCURRENCY}, e.g. `{key} = 8`")
            values[key] = value
        elif key == "shell_term":
            term = _text(cfg, key, value, "xterm-256color")
            if not _TERM.match(term):
                raise ConfigError(f"{cfg.where('ui', key)} is {value!r}, not a terminal type; "
                                  'e.g. `shell_term = "xterm-256color"`')
            values[key] = term
        else:
            values[key] = _text(cfg, key, value, "textual-dark")
    parsed: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        where = cfg.where("keymap", binding_id)
        if not _BINDING_ID.match(binding_id):
            raise ConfigError(f"{where}: {binding_id!r} is not a binding id; ids look like "
                              f"console.shell (the help screen, ?, lists them); e.g. "
                              f"{KEYMAP_EXAMPLE}")
        parsed[binding_id] = parse_keys(keys, where)
    return UiConfig(path=path, keymap=parsed, **values)


def check_keymap_ids(cfg: UiConfig, known: Collection[str]) -> None:
    """Every ``[keymap]`` id names a binding the console has; ConfigError naming the closest
    one otherwise (the console calls this with its binding ids)."""
    for binding_id in cfg.keymap:
        if binding_id not in known:
            hint = difflib.get_close_matches(binding_id, list(known), n=1)
            raise ConfigError(
                f"{cfg.where('keymap', binding_id)}: no binding has the id {binding_id!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + " (the help screen, ?, lists every id)")


def check_theme(cfg: UiConfig, known: Collection[str]) -> None:
    """``theme`` names a theme the console has; ConfigError listing them otherwise."""
    if cfg.theme is not None and cfg.theme not in known:
        raise ConfigError(f"{cfg.where('ui', 'theme')} is {cfg.theme!r}, not a theme; use one "
                          "of: " + ", ".join(sorted(known)))
