"""Read CloudMonkey's INI files: cmk 6 (``~/.cmk/config``) and cloudmonkey 5 (``~/.cloudmonkey``).

cmk 6 writes its file with go-ini: global keys sit at the top without a section header, keys are
padded so ``=`` aligns, then one section per profile. go-ini quotes values it could not read back
otherwise: in triple double quotes (newline or backtick inside), in backticks (``#``/``;``
when inline comments are on) and in double quotes (leading/trailing blanks); cmk reads with
inline comments off, so ``#`` and ``;`` inside a value are literal. Values may contain ``=``,
``%`` and any unicode.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path

from cspctl.config.sources import Layer, display_path
from cspctl.errors import ConfigError

_GLOBAL = "DEFAULT"  # go-ini's name for the headerless top section
_NO_DEFAULTS = "\x00cspctl-no-default-section"

# INI key -> Profile field, per dialect
CMK6_PROFILE_KEYS = {
    "url": "url",
    "username": "username",
    "password": "password",
    "domain": "domain",
    "apikey": "apikey",
    "secretkey": "secretkey",
}
CMK6_GLOBAL_KEYS = {"timeout": "timeout", "verifycert": "verify_tls"}
CLOUDMONKEY5_PROFILE_KEYS = {
    **CMK6_PROFILE_KEYS,
    "verifysslcert": "verify_tls",
    "signatureversion": "signature_version",
    "timeout": "timeout",
}
CLOUDMONKEY5_RESERVED = ("core", "ui")


@dataclass
class IniConfig:
    """What one CloudMonkey file says: its default profile and one layer per profile."""

    path: Path
    default: str | None = None
    default_key: str = "profile"
    layers: dict[str, Layer] = field(default_factory=dict)

    @property
    def holds_secrets(self) -> bool:
        return any(layer.holds_secrets for layer in self.layers.values())


def unquote_goini(raw: str) -> str:
    """A value as go-ini returns it from the text after ``=`` (inline comments off)."""
    value = raw.strip()
    for quote in ('"""', "`"):
        if len(value) > len(quote) and value.startswith(quote):
            end = value.rfind(quote, len(quote))
            if end != -1:
                return value[len(quote) : end]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] not in inner:  # go-ini's hasSurroundedQuote
            return inner
    return value


def _parse(path: Path, text: str, *, headerless: bool) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(
        interpolation=None,
        strict=False,  # go-ini merges repeated sections and keeps the last value of a key
        default_section=_NO_DEFAULTS,  # no key may leak from the globals into each profile
        delimiters=("=", ":"),
        comment_prefixes=("#", ";"),
        inline_comment_prefixes=None,
        empty_lines_in_values=False,
    )
    parser.optionxform = str.lower  # type: ignore[assignment,method-assign]
    # go-ini ignores indentation (configparser would read an indented line as a continuation)
    lines = [line.lstrip() for line in text.splitlines()]
    offset = 0
    if headerless:  # go-ini: keys before the first header belong to the unnamed DEFAULT section
        lines.insert(0, f"[{_GLOBAL}]")
        offset = 1
    try:
        parser.read_string("\n".join(lines) + "\n", source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(
            f"cannot parse {display_path(path)}: line {exc.lineno - offset} comes before any "
            "[section] header; put the profile's keys under a [name] line"
        ) from None
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0] - offset if exc.errors else 0
        # the line itself is not shown: it may hold a password
        raise ConfigError(
            f"cannot parse {display_path(path)}: line {lineno} is not `key = value` "
            "or a [section] header; fix or remove that line"
        ) from None
    except configparser.Error as exc:
        raise ConfigError(
            f"cannot parse {display_path(path)}: {exc.__class__.__name__}; "
            "fix the file's INI syntax"
        ) from None
    return parser


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read {display_path(path)}: not UTF-8 ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {display_path(path)}: {exc.strerror}; check its permissions"
        ) from None


def _layer(
    path: Path, section: str, items: dict[str, str], keymap: dict[str, str], kind: str
) -> Layer:
    layer = Layer(origin=path, section=f"[{section}]" if section else "", kind=kind)
    for key, raw in items.items():
        name = keymap.get(key)
        if name is None:
            continue  # cmk's own keys (or ones we don't use)
        value = unquote_goini(raw)
        if value == "" and name != "url":
            continue  # cmk writes `apikey =` for "not set"
        layer.set(name, value, key)
    return layer


def read_cmk6(path: Path) -> IniConfig:
    """Parse a cmk 6 ``~/.cmk/config``."""
    parser = _parse(path, _read_text(path), headerless=True)
    cfg = IniConfig(path=path)
    globals_: dict[str, str] = dict(parser.items(_GLOBAL)) if parser.has_section(_GLOBAL) else {}
    cfg.default = unquote_goini(globals_.get("profile", "")) or None
    base = _layer(path, "", globals_, CMK6_GLOBAL_KEYS, "cmk6")
    for section in parser.sections():
        if section == _GLOBAL:
            continue
        layer = base.copy_for(f"[{section}]")
        own = _layer(path, section, dict(parser.items(section)), CMK6_PROFILE_KEYS, "cmk6")
        layer.update(own)
        cfg.layers[section] = layer
    return cfg


def read_cloudmonkey5(path: Path) -> IniConfig:
    """Parse a cloudmonkey 5.x ``~/.cloudmonkey/config`` (``[core]``, ``[ui]``, profiles)."""
    parser = _parse(path, _read_text(path), headerless=False)
    cfg = IniConfig(path=path, default_key="[core] profile")
    if parser.has_section("core"):
        cfg.default = unquote_goini(parser.get("core", "profile", fallback="")) or None
    for section in parser.sections():
        if section.lower() in CLOUDMONKEY5_RESERVED:
            continue
        items = dict(parser.items(section))
        cfg.layers[section] = _layer(
            path, section, items, CLOUDMONKEY5_PROFILE_KEYS, "cloudmonkey5"
        )
    return cfg
