"""The repair playbooks' ids: the one list the diagnostics and the repair catalogue share.

A finding names the playbook that fixes it by one of these ids (``cspctl.diagnostics``);
``cspctl.repair.playbooks`` implements exactly one playbook per id (a test holds both sides
to it). The order is the suggestion order, the likeliest cause first: a full disk breaks
everything, a deleted working directory breaks every relative path, a wrong clock breaks
certificates, then the fixes that address the symptom rather than the cause.
"""

from __future__ import annotations

from enum import StrEnum


class PlaybookId(StrEnum):
    """One repair playbook, in cause-first order (see :func:`cause_rank`)."""

    FREE_DISK = "free-disk"
    PROTECT_ASSETS = "protect-assets"
    FIX_TIMEZONE = "fix-timezone"
    PROVISION_CERT = "provision-cert"
    PATCH = "patch"
    RECREATE = "recreate"
    RESTART_CLOUD = "restart-cloud"
    REBOOT = "reboot"
    SSL_OFF = "ssl-off"
    UNPROTECT_ASSETS = "unprotect-assets"


KNOWN: frozenset[str] = frozenset(PlaybookId)
"""Every playbook id as plain text (what a finding's ``playbook`` may be)."""

_RANK = {p.value: i for i, p in enumerate(PlaybookId)}


def cause_rank(playbook: str | None) -> int:
    """Where ``playbook`` stands in cause-first order (unknown or None: after every id)."""
    return _RANK.get(playbook or "", len(_RANK))
