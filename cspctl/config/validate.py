"""Validate profile fields, whatever file or variable set them, into a :class:`Profile`.

Each error names where the bad value is (file, section, key, or variable) and how to write it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cspctl.config.profile import (
    ACCESS_MODES,
    HOST_KEY_POLICIES,
    SIGNATURE_VERSIONS,
    Profile,
    parse_bastion,
)
from cspctl.config.sources import Layer, display_path
from cspctl.errors import ConfigError

INI_TIMEOUT_CAP = 30.0
"""cmk's ``timeout`` (1800 s by default) also bounds async-job waits: far too long for one HTTP
request, so a cmk/cloudmonkey timeout only ever shortens cspctl's request timeout."""

EXAMPLE_URL = "https://mgmt:8080/client/api"
_TRUE = ("true", "yes", "on", "1", "t", "y")  # what go-ini's Key.Bool() accepts
_FALSE = ("false", "no", "off", "0", "f", "n")



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


def build_profile(name: str, layers: list[Layer], warns: list[str]) -> Profile:
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
