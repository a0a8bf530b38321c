"""Background refreshes, recorded only when something changed (and then what changed).

A console polls the API every few seconds; journalling each poll buried the incident under
hundreds of identical lines. Inside :func:`background`, successful API calls are not
journalled (failures still are); the caller records one ``refresh`` event with the changes
:func:`inventory_changes` finds, e.g. ``v-2-VM agent Disconnected → Up``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

_BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("cspctl_background",
                                                                  default=False)

WATCHED = (("state", "state"), ("agentstate", "agent"), ("hostname", "host"),
           ("version", "version"))
"""System VM fields a refresh compares, with the word the change is told with."""


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Calls made inside are a background poll: only failures reach the journal."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def in_background() -> bool:
    return _BACKGROUND.get()


def _field(vm: Any, name: str) -> Any:
    return vm.get(name) if isinstance(vm, Mapping) else getattr(vm, name, None)


def inventory_changes(before: Iterable[Any], after: Iterable[Any]) -> list[str]:
    """What differs between two lists of system VMs: new, gone, and changed fields."""
    old = {str(_field(vm, "id")): vm for vm in before}
    new = {str(_field(vm, "id")): vm for vm in after}
    changes: list[str] = []
    for vm_id, vm in new.items():
        name = _field(vm, "name") or vm_id
        prev = old.get(vm_id)
        if prev is None:
            changes.append(f"{name} appeared ({_field(vm, 'state') or '?'})")
            continue
        for attr, word in WATCHED:
            a, b = _field(prev, attr), _field(vm, attr)
            if a != b:
                changes.append(f"{name} {word} {a or '-'} → {b or '-'}")
    for vm_id, vm in old.items():
        if vm_id not in new:
            changes.append(f"{_field(vm, 'name') or vm_id} gone")
    return changes
