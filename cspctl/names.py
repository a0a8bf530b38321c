"""System VMs and zones named on the command line: one validity rule, one "not found".

``cspctl ssh NAME``, ``cspctl diagnose NAME`` and ``cspctl list --zone NAME`` all go through
here, so an unknown name gives the same message and the same exit status (3, "could not run":
there is nothing to act on) whatever the command. A name that could not be a CloudStack name
(shell metacharacters, a leading ``-``) is a usage error (2) before anything is looked up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cspctl.errors import CspctlError, UsageError
from cspctl.text import safe_line

if TYPE_CHECKING:
    from cspctl.cloudstack.models import SystemVm

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
NOT_FOUND_EXIT = 3


class NotFound(CspctlError):
    """A system VM or zone named by the operator does not exist in the profile's cloud."""

    exit_code = NOT_FOUND_EXIT


def is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


def check_vm_argument(name: str) -> str:
    """A system VM name or id as typed by the operator; UsageError for anything else."""
    if isinstance(name, str) and (_UUID.fullmatch(name) or _NAME.fullmatch(name)):
        return name
    raise UsageError(
        f"invalid system VM name {name!r}: expected a CloudStack name like v-2-VM / s-1-VM "
        "or the VM's UUID"
    )


def _where(api: Any) -> str:
    profile = getattr(api, "profile_name", "") or ""
    return f"profile {safe_line(profile, 64)}" if profile else safe_line(
        getattr(api, "server", "the API"), 200)


def vm_not_found(name: str, api: Any) -> NotFound:
    """The one message for an unknown system VM."""
    return NotFound(
        f"no system VM named {name!r} in {_where(api)} (see `cspctl list systemvms`)"
    )


def zone_not_found(name: str, api: Any, known: Iterable[str | None]) -> NotFound:
    """The one message for an unknown zone; ``known`` (from the API) is shown safely."""
    names = ", ".join(sorted(safe_line(str(k), 64) for k in known if k)) or "none"
    return NotFound(f"no zone named {name!r} in {_where(api)}; known zones: "
                    f"{safe_line(names, 400)}")


async def find_system_vms(api: Any, name: str) -> list[SystemVm]:
    """The system VMs whose name or id is ``name`` (validated first); NotFound when none."""
    check_vm_argument(name)
    params = {"id": name} if is_uuid(name) else {"name": name}
    found = [vm for vm in await api.list_system_vms(**params) if name in (vm.id, vm.name)]
    if not found:
        raise vm_not_found(name, api)
    return found
