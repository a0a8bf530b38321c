"""Runner construction rules that need no cloud: the check graph must be runnable."""

from __future__ import annotations

import pytest

from cspctl.diagnostics.checks import CATALOGUE
from cspctl.diagnostics.checks.base import API
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import PLAYBOOKS, AppliesTo, Check, Finding
from cspctl.diagnostics.runner import check_order


async def _noop(ctx: CheckContext) -> Finding:
    return ctx.ok("fine")


def _check(cid: str, *after: str) -> Check:
    return Check(cid, cid, (AppliesTo.SYSTEMVM,), API, _noop, after=after)


def test_catalogue_is_runnable_and_complete() -> None:
    check_order(CATALOGUE)  # no cycle, no duplicate
    ids = [c.id for c in CATALOGUE]
    assert ids[:2] == ["mgmt-servers", "vm-state"] and ids[-1] == "agent-state"
    for required in ("ssh", "boot-params", "mgmt-connect", "java-process", "cloud-service",
                     "java-cwd", "ports", "static-assets", "ssl-settings", "ssvm-ssl-settings",
                     "clock-drift", "timezone", "version", "disk", "memory", "dns",
                     "secondary-storage", "agent-cert", "agent-state"):
        assert required in ids
    for c in CATALOGUE:
        assert c.title and c.description, c.id
    assert len(PLAYBOOKS) == 10
    from cspctl.repair import PLAYBOOKS as IMPLEMENTED

    assert set(IMPLEMENTED) == set(PLAYBOOKS)  # every playbook a finding names exists


def test_cycles_and_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        check_order([_check("a", "b"), _check("b", "a")])
    with pytest.raises(ValueError, match="duplicate check ids: a"):
        check_order([_check("a"), _check("a")])
    check_order([_check("a", "missing"), _check("z", "*"), _check("b", "a")])
