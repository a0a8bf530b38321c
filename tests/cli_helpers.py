"""Run the real ``cspctl`` command in a subprocess (async, so a loopback server can answer)."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


async def run_cli(*argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> CliResult:
    """``python -m cspctl ARGV`` with the test's environment (HOME, config/state dirs) plus
    ``env``; never hangs the test (killed after ``timeout``)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTHONWARNINGS", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *argv,
        cwd=ROOT, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"cspctl {' '.join(argv)} did not finish in {timeout} s") from None
    return CliResult(proc.returncode or 0, out.decode(), err.decode())


def assert_one_clean_error_line(result: CliResult) -> str:
    """Non-zero exit, exactly one ``cspctl: ...`` line on stderr, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.output, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cspctl: "), lines[0]
    return lines[0]
