"""Shell quoting and validation of every value that reaches a remote command line."""

from __future__ import annotations

import ipaddress
import re
import shlex

from cspctl.errors import UsageError

# CloudStack system VM names are <type>-<id>-<instance.name>: v-2-VM (CPVM), s-1-VM (SSVM),
# r-10-VM (router); instance.name ("VM" by default) is alphanumeric.
_VM_NAME = re.compile(r"^[vsr]-[0-9]{1,10}-[A-Za-z0-9]{1,32}$")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")


def quote(value: str) -> str:
    """Quote one value for a POSIX shell (``shlex.quote``): ``shlex.split`` gives it back."""
    return shlex.quote(str(value))


def quote_argv(argv: list[str] | tuple[str, ...]) -> str:
    """Join a list of words into one safely quoted command line."""
    return " ".join(quote(a) for a in argv)


def is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


def validate_vm_name(name: str) -> str:
    """Accept a system VM name (v-2-VM, s-1-VM, r-10-VM) or a UUID; anything else: UsageError."""
    if isinstance(name, str) and (_VM_NAME.fullmatch(name) or _UUID.fullmatch(name)):
        return name
    raise UsageError(
        f"invalid system VM name {name!r}: expected a CloudStack name like v-2-VM / s-1-VM "
        "or the VM's UUID"
    )


def validate_ip(value: str | None, what: str = "address") -> str:
    """An IPv4/IPv6 address from the API or the command line, normalised; else UsageError."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise UsageError(f"invalid {what} {value!r}: not an IP address") from None


def validate_host(value: str | None, what: str = "host") -> str:
    """An IP address or a DNS host name (no shell metacharacters); else UsageError."""
    text = str(value or "").strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if _HOSTNAME.fullmatch(text):
        return text
    raise UsageError(f"invalid {what} {value!r}: not an IP address or host name")


def validate_user(value: str | None, what: str = "user") -> str:
    """A POSIX user name; else UsageError."""
    if isinstance(value, str) and _USER.fullmatch(value):
        return value
    raise UsageError(f"invalid {what} {value!r}: not a user name")


def validate_port(value: object, what: str = "port") -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise UsageError(f"invalid {what} {value!r}: not a number") from None
    if not 0 < port < 65536:
        raise UsageError(f"invalid {what} {port}: must be 1-65535")
    return port
