"""Find, merge and validate profiles from cmk, cloudmonkey, cspctl's TOML and the environment.

A profile is built from layers, later ones winning field by field:
``[defaults]`` of cspctl's TOML -> the cmk 6 (or else cloudmonkey 5) section of that name ->
``[profiles.NAME]`` of cspctl's TOML. The ``env`` profile is ``[defaults]`` ->
``[profiles.env]`` -> the ``CSPCTL_*`` variables.

The default profile: ``CSPCTL_PROFILE`` (the CLI's ``--profile``), else ``env`` when
``CSPCTL_URL``/credentials are set, else ``defaults.profile`` in cspctl's TOML, else cmk's
``profile``, else cloudmonkey's ``[core] profile``, else the only profile there is.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from cspctl.config.cmk import IniConfig, read_cloudmonkey5, read_cmk6
from cspctl.config.profile import Profile
from cspctl.config.sources import Layer, display_path, permission_warning
from cspctl.config.tomlfile import (
    PROFILE_KEYS,
    TomlConfig,
    dumps,
    load_raw,
    read_toml,
    write_private,
)
from cspctl.config.ui import UiConfig
from cspctl.config.validate import EXAMPLE_URL, build_profile
from cspctl.errors import ConfigError

ENV_PROFILE = "env"
ENV_KEYS = {
    "CSPCTL_URL": "url",
    "CSPCTL_APIKEY": "apikey",
    "CSPCTL_SECRETKEY": "secretkey",
    "CSPCTL_USERNAME": "username",
    "CSPCTL_PASSWORD": "password",
    "CSPCTL_DOMAIN": "domain",
    "CSPCTL_VERIFY_TLS": "verify_tls",
    "CSPCTL_TIMEOUT": "timeout",
    "CSPCTL_SSH_KEY": "ssh_key",
    "CSPCTL_READ_ONLY": "read_only",
}
ENV_TRIGGERS = (
    "CSPCTL_URL",
    "CSPCTL_APIKEY",
    "CSPCTL_SECRETKEY",
    "CSPCTL_USERNAME",
    "CSPCTL_PASSWORD",
)


class ConfigWarning(UserWarning):
    """Something an operator should fix that does not stop cspctl (e.g. a 0644 secrets file)."""


def config_dir() -> Path:
    """cspctl's configuration directory (``CSPCTL_CONFIG_DIR`` overrides platformdirs)."""
    override = os.environ.get("CSPCTL_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir("cspctl"))


def config_path() -> Path:
    """cspctl's own TOML file."""
    return config_dir() / "config.toml"


def cmk_config_path() -> Path:
    return Path(os.path.expanduser("~")) / ".cmk" / "config"


def cloudmonkey_config_path() -> Path:
    return Path(os.path.expanduser("~")) / ".cloudmonkey" / "config"


@dataclass
class Config:
    """Everything read from every source; builds validated profiles on demand."""

    cmk: IniConfig | None = None
    cloudmonkey: IniConfig | None = None
    toml: TomlConfig | None = None
    env: Layer | None = None
    environ_profile: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """The files that were read, in precedence order (lowest first)."""
        found = [c.path for c in (self.cloudmonkey, self.cmk) if c]
        return [*found, self.toml.path] if self.toml else found

    def names(self) -> list[str]:
        """Every profile name, each once: env, cmk, cloudmonkey, then cspctl-only ones."""
        names: list[str] = [ENV_PROFILE] if self.env else []
        for src in (self.cmk, self.cloudmonkey, self.toml):
            if src:
                names += [n for n in src.layers if n not in names]
        return names

    def default_name(self) -> tuple[str | None, str]:
        """The default profile's name and what chose it (for messages and the table)."""
        if self.environ_profile:
            return self.environ_profile, "CSPCTL_PROFILE/--profile"
        if self.env:
            return ENV_PROFILE, "CSPCTL_* environment variables"
        for src, key in (
            (self.toml, "`profile` in [defaults]"),
            (self.cmk, "`profile`"),
            (self.cloudmonkey, "`profile` in [core]"),
        ):
            if src and src.default:
                return src.default, f"{key} of {display_path(src.path)}"
        names = self.names()
        if len(names) == 1:
            return names[0], "the only profile"
        return None, ""

    def resolve(self, name: str | None = None) -> Profile:
        """The named (or default) profile, merged and validated; raises ConfigError."""
        chosen_by = "--profile"
        if name is None:
            name, chosen_by = self.default_name()
        if name is None:
            self._no_default()
        assert name is not None
        layers = self._layers(name)
        if layers is None and name == ENV_PROFILE:
            raise ConfigError(
                "profile 'env' comes from the environment, and CSPCTL_URL is not set; export "
                f"CSPCTL_URL={EXAMPLE_URL} with CSPCTL_APIKEY and CSPCTL_SECRETKEY "
                "(or CSPCTL_USERNAME and CSPCTL_PASSWORD)"
            )
        if layers is None:
            known = self.names()
            by = "" if chosen_by == "--profile" else f" (named by {chosen_by})"
            if not known:
                raise ConfigError(
                    f"no profile {name!r}{by}: no CloudStack profile configured; "
                    f"create ~/.cmk/config (cmk) or run `cspctl --lab`"
                )
            files = ", ".join(display_path(p) for p in self.files) or "the environment"
            raise ConfigError(f"no profile {name!r}{by}; known: {', '.join(known)} (from {files})")
        return build_profile(name, layers, self.warnings)

    def profiles(self) -> list[tuple[str, Profile | ConfigError]]:
        """Every profile, or the error that keeps it from loading."""
        out: list[tuple[str, Profile | ConfigError]] = []
        for name in self.names():
            try:
                out.append((name, self.resolve(name)))
            except ConfigError as exc:
                out.append((name, exc))
        return out

    def _no_default(self) -> None:
        names = self.names()
        if not names:
            raise ConfigError(
                "no CloudStack profile configured: create ~/.cmk/config (cmk), set "
                "CSPCTL_URL with CSPCTL_APIKEY and CSPCTL_SECRETKEY, or run `cspctl --lab`"
            )
        raise ConfigError(
            f"several profiles ({', '.join(names)}) and none is the default; pass "
            f'--profile NAME or add `profile = "{names[0]}"` under [defaults] in '
            f"{display_path(config_path())}"
        )

    def _layers(self, name: str) -> list[Layer] | None:
        """The layers that make up profile ``name``, lowest precedence first."""
        base = [self.toml.defaults] if self.toml and self.toml.defaults else []
        own = self.toml.layers.get(name) if self.toml else None
        if name == ENV_PROFILE and self.env:
            return [*base, *([own] if own else []), self.env]
        ini = None
        for src in (self.cmk, self.cloudmonkey):
            if src and name in src.layers:
                ini = src.layers[name]
                break
        if ini is None and own is None:
            return None
        return [*base, *(x for x in (ini, own) if x)]


def _env_layer(environ: Mapping[str, str]) -> Layer | None:
    if not any(environ.get(k) for k in ENV_TRIGGERS):
        return None
    layer = Layer(origin=None, section="environment", kind="env")
    for key, name in ENV_KEYS.items():
        value = environ.get(key)
        if value:
            layer.set(name, value, key)
    return layer


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read every source (missing files are fine; broken ones raise ConfigError)."""
    environ = os.environ if environ is None else environ
    cfg = Config(environ_profile=environ.get("CSPCTL_PROFILE") or None, env=_env_layer(environ))
    cm5 = cloudmonkey_config_path()
    if cm5.is_file():
        cfg.cloudmonkey = read_cloudmonkey5(cm5)
    cmk = cmk_config_path()
    if cmk.is_file():
        cfg.cmk = read_cmk6(cmk)
    own = config_path()
    if own.is_file():
        cfg.toml = read_toml(own)
        cfg.warnings += cfg.toml.warnings
    for src in (cfg.cloudmonkey, cfg.cmk, cfg.toml):
        if src and src.holds_secrets:
            warning = permission_warning(src.path)
            if warning:
                cfg.warnings.append(warning)
    return cfg


def emit_warnings(messages: list[str]) -> None:
    """Hand config warnings to :mod:`warnings` (the CLI prints them as ``cspctl: warning:``)."""
    for message in dict.fromkeys(messages):
        warnings.warn(message, ConfigWarning, stacklevel=3)


def load_profile(name: str | None = None) -> Profile:
    """The named profile, or the default one (see the module docstring); raises ConfigError."""
    cfg = load_config()
    try:
        return cfg.resolve(name)
    finally:
        emit_warnings(cfg.warnings)


def load_ui() -> UiConfig:
    """The console's ``[ui]`` and ``[keymap]`` from cspctl's TOML (defaults when it has none);
    raises ConfigError on a bad value. Warnings (unknown keys) go to :mod:`warnings`."""
    path = config_path()
    if not path.is_file():
        return UiConfig()
    toml = read_toml(path)
    emit_warnings(toml.warnings)
    return toml.ui


def list_profiles() -> list[Profile]:
    """Every profile that loads; broken ones are reported as ConfigWarnings."""
    cfg = load_config()
    good: list[Profile] = []
    for _, result in cfg.profiles():
        if isinstance(result, Profile):
            good.append(result)
        else:
            cfg.warnings.append(str(result))
    emit_warnings(cfg.warnings)
    return good


def save_profile(profile: Profile) -> Path:
    """Write ``profile`` as ``[profiles.NAME]`` of cspctl's TOML (replacing it), mode 0600."""
    path = config_path()
    data = load_raw(path)
    profiles = data.setdefault("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(
            f"cannot update {display_path(path)}: `profiles` is not a table; fix the file first"
        )
    defaults = Profile(name=profile.name, source=None, url="")
    table: dict[str, Any] = {}
    for key in PROFILE_KEYS:
        value = getattr(profile, key)
        if key == "url" or (value is not None and value != getattr(defaults, key)):
            table[key] = dict(value) if isinstance(value, dict) else value
    profiles[profile.name] = table
    write_private(path, dumps(data))
    return path
