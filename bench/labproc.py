"""The lab in its own process for the fleet benches (its CPU never mixes with the client's)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_lab(tmp: Path, latency: float) -> subprocess.Popen[str]:
    """``cspctl lab serve`` on ``large`` with ``latency`` seconds per SSH connect and command;
    returns once its info file (``tmp/lab.json``) exists."""
    info = tmp / "lab.json"
    env = {**os.environ, "CSPCTL_CONFIG_DIR": str(tmp / "cfg"),
           "CSPCTL_STATE_DIR": str(tmp / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cspctl", "lab", "serve", "--scenario", "large",
         "--time-scale", "0.01", "--info", str(info),
         "--fault", f"ssh_command_delay={latency}", "--fault", f"ssh_connect_delay={latency}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not info.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"lab serve did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
        time.sleep(0.05)
    return proc
