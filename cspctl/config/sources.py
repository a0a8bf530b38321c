"""Where a profile's settings came from: layers of fields, each remembering its file and key."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cspctl.config.profile import SECRET_FIELDS


def display_path(path: Path | str) -> str:
    """``/home/ops/.cmk/config`` -> ``~/.cmk/config`` (as an operator would type it)."""
    text = str(path)
    home = os.path.expanduser("~")
    if home not in ("", "/") and (text == home or text.startswith(home.rstrip("/") + "/")):
        return "~" + text[len(home.rstrip("/")) :]
    return text


@dataclass
class Layer:
    """The fields one source (a file section, the environment) sets for one profile."""

    origin: Path | None
    """The file, or None for the environment."""
    section: str
    """Where in the source: ``[prod]``, ``[profiles.prod]``, ``environment``."""
    kind: str = "toml"
    """``cmk6`` | ``cloudmonkey5`` | ``toml`` | ``env``."""
    fields: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    """Profile field -> the key as written in the source (``verifysslcert``, ``CSPCTL_URL``)."""
    where: dict[str, str] = field(default_factory=dict)
    """Profile field -> the section it was set in (globals can differ from the profile's own)."""

    def set(self, name: str, value: Any, key: str | None = None) -> None:
        self.fields[name] = value
        self.keys[name] = key or name
        self.where[name] = self.section

    def update(self, other: Layer) -> None:
        for name, value in other.fields.items():
            self.fields[name] = value
            self.keys[name] = other.keys.get(name, name)
            self.where[name] = other.where.get(name, other.section)

    def copy_for(self, section: str) -> Layer:
        """A copy (e.g. of the global keys) that will carry one profile's own section name."""
        return Layer(
            origin=self.origin,
            section=section,
            kind=self.kind,
            fields=dict(self.fields),
            keys=dict(self.keys),
            where=dict(self.where),
        )

    @property
    def holds_secrets(self) -> bool:
        return any(self.fields.get(name) for name in SECRET_FIELDS)

    def locate(self, name: str) -> str:
        """Where field ``name`` is set, for messages: "`timeout` in [prod] of ~/.cmk/config"."""
        key = self.keys.get(name, name)
        if self.origin is None:
            return key
        section = self.where.get(name, self.section)
        place = f"in {section} of" if section else "at the top of"
        return f"`{key}` {place} {display_path(self.origin)}"

    def describe_origin(self) -> str:
        return display_path(self.origin) if self.origin else "the environment"


def permission_warning(path: Path) -> str | None:
    """A warning when a file is readable (or writable) by group or others, None when fine."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if os.name != "posix" or not mode & 0o077:
        return None
    shown = display_path(path)
    who = "other users" if mode & 0o007 else "its group"
    return (
        f"{shown} is readable by {who} (mode {mode:04o}); run: chmod 600 {shown}"
        if mode & 0o044
        else f"{shown} is writable by {who} (mode {mode:04o}); run: chmod 600 {shown}"
    )
