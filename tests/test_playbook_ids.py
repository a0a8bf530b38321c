"""One list of playbook ids: what a check can point at is what the repair catalogue has."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cspctl.diagnostics import CATALOGUE as CHECKS
from cspctl.diagnostics.checks.known_errors import KNOWN_ERRORS
from cspctl.diagnostics.model import Finding, Status, playbooks_by_cause
from cspctl.playbook_ids import KNOWN, PlaybookId, cause_rank
from cspctl.repair import CATALOGUE, PLAYBOOKS, suggest

CHECK_SOURCES = Path(__file__).resolve().parents[1] / "cspctl" / "diagnostics" / "checks"

CHOSEN_BY_HAND = {"patch"}
"""Playbooks no finding names: the operator picks them (patch: the version check's advice
offers patchSystemVm on 4.17+ beside recreate, which it names)."""


def _named_by_checks() -> dict[str, list[str]]:
    """Every playbook id a check's source names: ``ctx.fail/warn(summary, advice, ID)`` or
    ``playbook=ID``, and the known agent-log errors' playbooks."""
    named: dict[str, list[str]] = {}
    for path in sorted(CHECK_SOURCES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            values = [k.value for k in node.keywords if k.arg == "playbook"]
            if name in ("fail", "warn") and len(node.args) >= 3:
                values.append(node.args[2])
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    named.setdefault(value.value, []).append(f"{path.name}:{node.lineno}")
    for known in KNOWN_ERRORS:
        if known.playbook is not None:
            named.setdefault(known.playbook, []).append(f"known error {known.id}")
    return named


def test_the_catalogue_has_exactly_one_playbook_per_id() -> None:
    ids = [p.id for p in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(PlaybookId) == KNOWN
    assert all(PLAYBOOKS[pid].id == pid for pid in KNOWN)


def test_every_playbook_a_check_points_at_exists_and_every_playbook_is_pointed_at() -> None:
    named = _named_by_checks()
    assert len(named) >= 8  # the scan sees the checks' calls (not vacuously true)
    unknown = {pid: where for pid, where in named.items() if pid not in PLAYBOOKS}
    assert not unknown, f"checks name playbooks the catalogue lacks: {unknown}"
    orphans = set(PLAYBOOKS) - set(named) - CHOSEN_BY_HAND
    assert not orphans, f"playbooks no check names (add them to CHOSEN_BY_HAND?): {orphans}"
    assert not CHOSEN_BY_HAND & set(named), "named by a check now: drop it from CHOSEN_BY_HAND"


def test_playbooks_fix_and_verify_real_checks() -> None:
    check_ids = {c.id for c in CHECKS}
    for pb in CATALOGUE:
        assert set(pb.fixes) <= check_ids, pb.id
        assert set(pb.verify) <= check_ids, pb.id


def test_a_finding_cannot_name_an_unknown_playbook() -> None:
    with pytest.raises(ValueError, match="unknown playbook id 'reinstall'"):
        Finding("disk", "Disk", Status.FAIL, "full", playbook="reinstall")


def _f(check: str, status: Status, playbook: str | None) -> Finding:
    return Finding(check, check, status, f"{check} {status.value}", playbook=playbook)


def test_one_ranking_failures_first_then_the_likeliest_cause() -> None:
    findings = [
        _f("agent-state", Status.FAIL, "reboot"),
        _f("timezone", Status.WARN, "fix-timezone"),
        _f("java-cwd", Status.FAIL, "protect-assets"),
        _f("static-assets", Status.FAIL, "protect-assets"),
        _f("ssl-settings", Status.OK, "ssl-off"),      # ok findings suggest nothing
        _f("disk", Status.WARN, "free-disk"),
        _f("cloud-service", Status.FAIL, "reboot"),
    ]
    assert cause_rank("free-disk") < cause_rank("protect-assets") < cause_rank("reboot")
    assert cause_rank(None) == cause_rank("nothing") == len(PlaybookId)
    order = ["protect-assets", "reboot", "free-disk", "fix-timezone"]
    assert playbooks_by_cause(findings) == order
    ranked = suggest(findings)
    assert [p.id for p, _ in ranked] == order
    assert [f.check_id for f in ranked[0][1]] == ["java-cwd", "static-assets"]
    assert [p.id for p, _ in suggest(findings, exclude="protect-assets")] == order[1:]
