"""The engine/UI split holds: import-linter contracts, and headless commands load no Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" not in proc.stdout.lower() or "0 broken" in proc.stdout.lower()


def test_headless_cli_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from cspctl.cli.main import build_parser\n"
        "build_parser()\n"
        "import cspctl.cloudstack.models, cspctl.sessionlog\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui', 'widgets'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"headless import pulled in: {proc.stdout}"


def test_version_flag() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cspctl", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("cspctl ")


def test_building_the_cli_parser_stays_light() -> None:
    """Every command (even --help) builds the parser: it must not load SSH, HTTP or the lab."""
    code = (
        "import sys\n"
        "from cspctl.cli.main import build_parser\n"
        "build_parser()\n"
        "heavy = ('asyncssh', 'httpx', 'aiohttp', 'cspctl.lab.world')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"the parser pulled in: {proc.stdout}"
