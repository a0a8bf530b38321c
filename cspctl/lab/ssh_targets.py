"""What the lab's SSH servers (sshd.py) need of the world, its hosts and its system VMs: the
lab's `World`, `LabHost` and `LabSystemVm` have it, and so do a test's stand-ins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import asyncssh

from cspctl.lab.vmos import SimOS


class SshHost(Protocol):
    """What the SSH servers need of a hypervisor host (a LabHost, or a test's stand-in)."""

    @property
    def name(self) -> str: ...
    @property
    def ipaddress(self) -> str: ...
    @property
    def host_key(self) -> asyncssh.SSHKey: ...
    @property
    def os(self) -> SimOS: ...


class SshVm(Protocol):
    """What the SSH servers need of a system VM."""

    @property
    def name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def host_key(self) -> asyncssh.SSHKey: ...
    @property
    def os(self) -> SimOS: ...


class SshWorld(Protocol):
    """What the SSH servers need of the world: its hosts and the VMs on their link-local net."""

    @property
    def hosts(self) -> Sequence[SshHost]: ...
    def vm_by_linklocal(self, host: Any, ip: str) -> SshVm | None: ...


def vm_running(vm: SshVm) -> bool:
    """Whether a VM's SSH server answers: a Running (or changing) record, a booted machine."""
    return vm.state in ("Running", "Starting", "Stopping") and vm.os.running
