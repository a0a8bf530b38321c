"""What pyproject.toml ships is there: every package-data pattern names files that exist (a
pattern left from a removed directory ships nothing and misleads the reader)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_data_pattern_matches_a_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data: dict[str, list[str]] = config["tool"]["setuptools"]["package-data"]
    assert "*.tcss" in data["tui"]  # the console's stylesheet ships
    for package, patterns in data.items():
        directory = ROOT.joinpath(*package.split("."))
        assert directory.is_dir(), f"package-data for {package}: no directory {directory}"
        for pattern in patterns:
            assert list(directory.glob(pattern)), f"{package}: {pattern} matches nothing"
