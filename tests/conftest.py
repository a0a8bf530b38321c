"""Shared fixtures: every test runs with its own HOME, config and state directories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cspctl.lab.runner import Lab

pytest_plugins = ["tests.sshd"]  # real OpenSSH sshd fixtures for the SSH tests

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cloudstack"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real ~/.cmk, config dir or journal dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CSPCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CSPCTL_STATE_DIR", str(tmp_path / "state"))
    for var in ("CSPCTL_PROFILE", "CSPCTL_URL", "CSPCTL_APIKEY", "CSPCTL_SECRETKEY",
                "SSH_AUTH_SOCK", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def fixtures_dir() -> Path:
    """The recorded CloudStack responses in tests/fixtures/cloudstack (see its SOURCES.md)."""
    assert FIXTURES.is_dir(), f"recorded fixtures not found at {FIXTURES}"
    return FIXTURES


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    """The lab's seed scenario, running at the console tests' time scale (a module may define
    its own ``lab``, e.g. with a saved profile, which then takes precedence)."""
    from cspctl.lab.runner import Lab
    from tests.tui_helpers import TIME_SCALE

    async with Lab("seed", time_scale=TIME_SCALE) as running:
        yield running
