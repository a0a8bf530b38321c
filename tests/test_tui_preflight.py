"""A bad scenario or a missing profile fails with one line before the console takes the screen."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--lab", "--scenario", "nosuch"], "unknown lab scenario 'nosuch'"),
        ([], "no CloudStack profile configured"),
        (["--profile", "prod"], "no profile 'prod'"),
    ],
)
def test_console_refuses_bad_start_without_touching_the_screen(
    argv: list[str], needle: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cspctl", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert "\x1b[" not in proc.stdout + proc.stderr, "the console started before failing"
