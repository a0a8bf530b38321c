"""The check catalogue, in report order (area modules register on import)."""

from __future__ import annotations

from cspctl.diagnostics.checks import (
    access,
    agent,
    boot,
    certs,
    clock,
    console,
    hosts,
    mgmt,
    reconcile,
    resources,
    ssvm,
    state,
    zone,
)
from cspctl.diagnostics.checks.base import REGISTRY
from cspctl.diagnostics.model import Check

AREAS = (state, hosts, zone, access, boot, agent, reconcile, console, clock, resources, ssvm, certs,
         mgmt)
"""Every area module (importing them registers their checks)."""

REPORT_ORDER = (
    "mgmt-servers", "vm-state", "ssh", "host-agent", "ssvm-for-store", "linklocal-3922",
    "version", "boot-params",
    "mgmt-connect", "boot-timeline", "java-process", "cloud-service", "agent-reconcile",
    "java-cwd",
    "asset-protection", "ports", "novnc", "ssvm-ports", "static-assets", "ssl-settings",
    "console-cert", "ssvm-ssl-settings", "clock-drift", "timezone", "disk", "memory", "dns",
    "secondary-storage", "systemvm-template", "ssvm-download-trust", "ssvm-cert", "agent-cert",
    "agent-keystore", "agent-log", "alerts", "agent-state",
)
"""The operator's order: what CloudStack says, can we get in, the agent, the console, time,
resources, SSVM specifics, certificates; the agent-state verdict (reads the others) last.
Checks not listed follow in registration order, before agent-state."""


def _ordered() -> tuple[Check, ...]:
    def key(c: Check) -> tuple[int, int]:
        if c.id == "agent-state":
            return (2, 0)
        if c.id in REPORT_ORDER:
            return (0, REPORT_ORDER.index(c.id))
        return (1, REGISTRY.index(c))

    return tuple(sorted(REGISTRY, key=key))


CATALOGUE: tuple[Check, ...] = _ordered()


def by_id(check_id: str) -> Check:
    """The catalogue entry with this id (KeyError if none)."""
    for c in CATALOGUE:
        if c.id == check_id:
            return c
    raise KeyError(check_id)


__all__ = ["CATALOGUE", "by_id"]
