"""cspctl's own ``config.toml``: ``[defaults]`` and ``[profiles.NAME]`` tables (and the
console's ``[ui]`` and ``[keymap]``, validated by :mod:`cspctl.config.ui`).

Read with :mod:`tomllib`; written by a tiny writer that covers what cspctl stores (strings,
numbers, booleans, paths and nested tables of those), atomically and with mode 0600.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cspctl.config.sources import Layer, display_path
from cspctl.config.ui import UiConfig, parse_ui
from cspctl.errors import ConfigError

PROFILE_KEYS = (
    "url",
    "apikey",
    "secretkey",
    "username",
    "password",
    "domain",
    "verify_tls",
    "timeout",
    "signature_version",
    "ssh_key",
    "ssh_user",
    "ssh_port",
    "known_hosts",
    "host_key_policy",
    "host_keys",
    "access",
    "bastion",
    "read_only",
    "refresh_interval",
    "is_lab",
)
NOT_IN_DEFAULTS = ("url", "apikey", "secretkey", "username", "password", "is_lab")
ALIASES = {"verifycert": "verify_tls", "verifysslcert": "verify_tls"}


@dataclass
class TomlConfig:
    """What cspctl's TOML says: defaults, a layer per profile, and warnings about it."""

    path: Path
    default: str | None = None
    defaults: Layer | None = None
    layers: dict[str, Layer] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ui: UiConfig = field(default_factory=UiConfig)
    """The console's ``[ui]`` and ``[keymap]`` tables."""

    @property
    def holds_secrets(self) -> bool:
        return any(layer.holds_secrets for layer in self.layers.values())


def _layer_from_table(
    path: Path, section: str, table: dict[str, Any], allowed: tuple[str, ...], warns: list[str]
) -> Layer:
    layer = Layer(origin=path, section=f"[{section}]")
    for key, value in table.items():
        name = ALIASES.get(key, key)
        if name not in allowed:
            hint = difflib.get_close_matches(name, allowed, n=1)
            if name in PROFILE_KEYS:
                warns.append(
                    f"{key} in [{section}] of {display_path(path)} is ignored there; "
                    "set it in a [profiles.NAME] table"
                )
            else:
                warns.append(
                    f"unknown key {key!r} in [{section}] of {display_path(path)} is ignored"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                )
            continue
        layer.set(name, value, key)
    return layer


def read_toml(path: Path) -> TomlConfig:
    """Parse cspctl's TOML; a syntax error is a ConfigError naming the file, line and fix."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"cannot parse {display_path(path)}: {exc}; fix the TOML syntax there"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {display_path(path)}: {exc.strerror}; check its permissions"
        ) from None
    cfg = TomlConfig(path=path)
    shown = display_path(path)
    for key in data:
        if key not in ("defaults", "profiles", "ui", "keymap"):
            cfg.warnings.append(
                f"unknown table {key!r} in {shown} is ignored; cspctl reads [defaults], "
                "[profiles.NAME], [ui] and [keymap]"
            )
    for table in ("ui", "keymap"):
        if not isinstance(data.get(table, {}), dict):
            raise ConfigError(f"`{table}` in {shown} must be a table; write it as [{table}]")
    cfg.ui = parse_ui(path, data.get("ui", {}), data.get("keymap", {}), cfg.warnings)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"`defaults` in {shown} must be a table; write it as [defaults]")
    profile = defaults.get("profile")
    if profile is not None and not (isinstance(profile, str) and profile):
        raise ConfigError(
            f'profile in [defaults] of {shown} must be a profile name; e.g. `profile = "prod"`'
        )
    cfg.default = profile
    rest = {k: v for k, v in defaults.items() if k != "profile"}
    allowed = tuple(k for k in PROFILE_KEYS if k not in NOT_IN_DEFAULTS)
    cfg.defaults = _layer_from_table(path, "defaults", rest, allowed, cfg.warnings)
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"`profiles` in {shown} must hold tables; write [profiles.NAME]")
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"profiles.{name} in {shown} must be a table; write it as [profiles.{name}]"
            )
        cfg.layers[name] = _layer_from_table(
            path, f"profiles.{_key(name)}", table, PROFILE_KEYS, cfg.warnings
        )
    return cfg


# ---------------------------------------------------------------------------- writing

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"cannot write {value} to TOML here")
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        # JSON's string escapes are valid TOML escapes; non-ASCII stays as is (TOML is UTF-8)
        # but DEL, which JSON leaves raw, is not allowed in a TOML string
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps(data: dict[str, Any]) -> str:
    """TOML text for nested dicts of scalars (tables become ``[a.b]`` headers)."""
    out: list[str] = []

    def table(prefix: list[str], body: dict[str, Any]) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict) and v is not None}
        subtables = {k: v for k, v in body.items() if isinstance(v, dict)}
        if prefix and (scalars or not subtables):
            if out:
                out.append("")
            out.append("[" + ".".join(_key(p) for p in prefix) + "]")
        for k, v in scalars.items():
            out.append(f"{_key(k)} = {_value(v)}")
        for k, v in subtables.items():
            table([*prefix, k], v)

    table([], data)
    return "\n".join(out) + "\n"


def load_raw(path: Path) -> dict[str, Any]:
    """The TOML document as a dict ({} when the file does not exist)."""
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"cannot update {display_path(path)}: {exc}; fix the TOML syntax there first"
        ) from None


def write_private(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
