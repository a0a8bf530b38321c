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
from urllib.parse import urlsplit

import platformdirs

from cspctl.config.cmk import IniConfig, read_cloudmonkey5, read_cmk6
from cspctl.config.profile import (
    ACCESS_MODES,
    HOST_KEY_POLICIES,
    SIGNATURE_VERSIONS,
    Profile,
    parse_bastion,
)
from cspctl.config.sources import Layer, display_path, permission_warning
from cspctl.config.tomlfile import (
    PROFILE_KEYS,
    TomlConfig,
    dumps,
    load_raw,
    read_toml,
    write_private,
)
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
INI_TIMEOUT_CAP = 30.0
"""cmk's ``timeout`` (1800 s by default) also bounds async-job waits: far too long for one HTTP
request, so a cmk/cloudmonkey timeout only ever shortens cspctl's request timeout."""

EXAMPLE_URL = "https://mgmt:8080/client/api"
_TRUE = ("true", "yes", "on", "1", "t", "y")  # what go-ini's Key.Bool() accepts
_FALSE = ("false", "no", "off", "0", "f", "n")


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
        return _build(name, layers, self.warnings)

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


# ---------------------------------------------------------------------------- validation


def _fail(layer: Layer, name: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{layer.locate(name)} {problem}; {fix}")


def _example(layer: Layer, name: str, value: str) -> str:
    """How to write ``name = value`` in that layer's own syntax."""
    key = layer.keys.get(name, name)
    if layer.kind == "env":
        return f"export {key}={value}"
    if (
        layer.kind == "toml"
        and not value.replace(".", "").isdigit()
        and value
        not in (
            "true",
            "false",
        )
    ):
        return f'use `{key} = "{value}"`'
    return f"use `{key} = {value}`"


def _bool(layer: Layer, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise _fail(
        layer, name, f"is {value!r}, not a boolean", _example(layer, name, "true") + " or false"
    )


def _number(layer: Layer, name: str, value: Any, kind: type, example: str) -> Any:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        problem = f"is {value!r}, not a number"
        raise _fail(layer, name, problem, _example(layer, name, example)) from None
    if number <= 0:
        raise _fail(layer, name, f"is {value!r}, must be above 0", _example(layer, name, example))
    return number


def _text(layer: Layer, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(
            layer, name, f"must be text, not {type(value).__name__}", _example(layer, name, "…")
        )
    return value.strip()


def _choice(layer: Layer, name: str, value: Any, choices: tuple[str, ...]) -> str:
    text = _text(layer, name, value).lower()
    if text not in choices:
        raise _fail(layer, name, f"is {value!r}", "use one of: " + ", ".join(choices))
    return text


def _path(layer: Layer, name: str, value: Any) -> Path:
    return Path(os.path.expanduser(_text(layer, name, value)))


def _url(layer: Layer, value: Any, warns: list[str]) -> str:
    url = _text(layer, "url", value)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(
            layer, "url", f"is {url!r}, not an http(s) URL", _example(layer, "url", EXAMPLE_URL)
        )
    if parts.path.rstrip("/") in ("", "/client"):
        warns.append(
            f"{layer.locate('url')} is {url!r}; CloudStack's API is usually at "
            f"{parts.scheme}://{parts.netloc}/client/api"
        )
    return url


def _access(layer: Layer, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _fail(
            layer,
            "access",
            "must be a table of hypervisor = mode",
            'e.g. `access = { kvm = "linklocal", vmware = "private" }`',
        )
    out: dict[str, str] = {}
    for hv, mode in value.items():
        if not isinstance(mode, str) or mode.lower() not in ACCESS_MODES:
            raise _fail(
                layer, "access", f"gives {hv} = {mode!r}", "use one of: " + ", ".join(ACCESS_MODES)
            )
        out[str(hv).lower()] = mode.lower()
    return out


def _build(name: str, layers: list[Layer], warns: list[str]) -> Profile:
    """Merge ``layers`` (later wins) into a validated Profile."""
    merged: dict[str, tuple[Any, Layer]] = {}
    access: dict[str, str] = {}
    for layer in layers:
        for key, value in layer.fields.items():
            if key == "access":
                access.update(_access(layer, value))
            merged[key] = (value, layer)
    primary = next(
        (lay for lay in layers if lay.kind in ("cmk6", "cloudmonkey5", "env")), layers[-1]
    )
    kwargs: dict[str, Any] = {"access": access}
    for key, (value, layer) in merged.items():
        if key in ("apikey", "secretkey", "username", "password"):
            # kept exactly: go-ini keeps blanks inside quotes, and so does the server
            kwargs[key] = (value if isinstance(value, str) else _text(layer, key, value)) or None
        elif key == "url":
            kwargs[key] = _url(layer, value, warns) if value != "" else ""
        elif key == "domain":
            kwargs[key] = _text(layer, key, value) or "/"
        elif key in ("verify_tls", "read_only", "is_lab"):
            kwargs[key] = _bool(layer, key, value)
        elif key in ("timeout", "refresh_interval"):
            number = float(_number(layer, key, value, float, "30"))
            if key == "timeout" and layer.kind in ("cmk6", "cloudmonkey5"):
                number = min(number, INI_TIMEOUT_CAP)
            kwargs[key] = number
        elif key == "signature_version":
            version = _number(layer, key, value, int, "3")
            if version not in SIGNATURE_VERSIONS:
                raise _fail(layer, key, f"is {value!r}", "use 3 (or 2 for the classic signature)")
            kwargs[key] = version
        elif key == "ssh_port":
            port = _number(layer, key, value, int, "22")
            if port > 65535:
                raise _fail(layer, key, f"is {value!r}, not a TCP port", "use 1 to 65535")
            kwargs[key] = port
        elif key in ("ssh_key", "known_hosts", "host_keys"):
            kwargs[key] = _path(layer, key, value)
        elif key == "ssh_user":
            kwargs[key] = _text(layer, key, value) or "root"
        elif key == "host_key_policy":
            kwargs[key] = _choice(layer, key, value, HOST_KEY_POLICIES)
        elif key == "bastion":
            text = _text(layer, key, value)
            try:
                parse_bastion(text)
            except ValueError as exc:
                raise _fail(
                    layer,
                    key,
                    f"is {text!r}: {exc}",
                    _example(layer, key, "ops@jump.example.com:22"),
                ) from None
            kwargs[key] = text or None
    _require(name, merged, kwargs, primary)
    url_layer = merged["url"][1]
    # the file holding the url/credentials first, then those adding extras
    origins = [url_layer.origin, *(lay.origin for lay in layers if lay.fields)]
    sources = tuple(dict.fromkeys(o for o in origins if o is not None))
    return Profile(name=name, source=url_layer.origin, sources=sources, **kwargs)


def _require(
    name: str, merged: dict[str, tuple[Any, Layer]], kwargs: dict[str, Any], primary: Layer
) -> None:
    """A url and one complete set of credentials, or a message saying what to add where."""

    def where(layer: Layer) -> str:
        if layer.kind == "env":
            return "the environment"
        section = layer.section or f"[{name}]"
        return f"its {section} section of {display_path(layer.origin or '')}"

    def add(layer: Layer, key: str, value: str) -> str:
        if layer.kind == "env":
            return f"export CSPCTL_{key.upper()}={value}"
        quoted = f'"{value}"' if layer.kind == "toml" else value
        return f"add `{key} = {quoted}` to {where(layer)}"

    label = (
        f"profile {name!r} in {display_path(primary.origin)}"
        if primary.origin
        else f"profile {name!r} from the environment"
    )
    if not kwargs.get("url"):
        if primary.kind == "env":
            raise ConfigError(
                f"{label} has no url (CSPCTL_URL is not set); export CSPCTL_URL={EXAMPLE_URL}"
            )
        raise ConfigError(f"{label} has no url; {add(primary, 'url', EXAMPLE_URL)}")
    apikey, secretkey = kwargs.get("apikey"), kwargs.get("secretkey")
    username, password = kwargs.get("username"), kwargs.get("password")
    if (apikey and secretkey) or (username and password):
        return
    if apikey and not secretkey:
        raise ConfigError(
            f"{label} has an apikey but no secretkey; {add(merged['apikey'][1], 'secretkey', '…')}"
        )
    if secretkey and not apikey:
        raise ConfigError(
            f"{label} has a secretkey but no apikey; {add(merged['secretkey'][1], 'apikey', '…')}"
        )
    if username and not password:
        raise ConfigError(
            f"{label} has a username but no password; "
            f"{add(merged['username'][1], 'password', '…')} "
            "(or use apikey and secretkey)"
        )
    if password and not username:
        raise ConfigError(
            f"{label} has a password but no username; "
            f"{add(merged['password'][1], 'username', 'admin')}"
        )
    raise ConfigError(
        f"{label} has no credentials; {add(primary, 'apikey', '…')} and a secretkey "
        "(or a username and password)"
    )
