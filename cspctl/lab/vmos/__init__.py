"""Simulated Linux machines for the lab: CloudStack system VMs and KVM hosts.

`SystemVmOS` and `HostOS` hold a machine's state (filesystem, processes, services, clock,
network view) and answer command lines like bash on Debian/CentOS would (`execute`).
"""

from .base import Proc, SimOS
from .host import HostOS
from .shell import Shell
from .spec import (
    ALL_FAULTS,
    CONSOLEPROXY,
    SECONDARYSTORAGEVM,
    SYSTEMD,
    SYSVINIT,
    ExecResult,
    HostSpec,
    LabClock,
    VmFault,
    VmSpec,
)
from .systemvm import SystemVmOS

__all__ = [
    "ALL_FAULTS", "CONSOLEPROXY", "SECONDARYSTORAGEVM", "SYSTEMD", "SYSVINIT", "ExecResult",
    "HostOS", "HostSpec", "LabClock", "Proc", "Shell", "SimOS", "SystemVmOS", "VmFault", "VmSpec",
]
