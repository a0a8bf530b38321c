"""`cspctl diagnose` end to end: a `cspctl lab serve` process and the CLI in another process."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TIME_SCALE = "0.01"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CSPCTL_PROFILE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def lab_serve(tmp_path: Path, scenario: str) -> Iterator[dict[str, object]]:
    """Run ``cspctl lab serve`` until the info file appears; stop it afterwards."""
    info = tmp_path / f"lab-{scenario}.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cspctl", "lab", "serve", "--scenario", scenario,
         "--time-scale", TIME_SCALE, "--info", str(info)],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not info.exists():
            if proc.poll() is not None:
                raise AssertionError(f"lab serve exited: {proc.stderr.read()}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise AssertionError("lab serve did not become ready")
            time.sleep(0.05)
        yield json.loads(info.read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def diagnose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cspctl", "--profile", "lab", "diagnose", *args],
        env=env or _env(), capture_output=True, text=True, timeout=120,
    )


def _diagnose_with_tty_stderr(*args: str) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (interactive); returns rc, out, err."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cspctl", "--profile", "lab", "diagnose", *args],
        env=_env(), stdout=subprocess.PIPE, stderr=slave, text=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read()  # type: ignore[union-attr]
    rc = proc.wait(60)
    os.close(master)
    return rc, out, b"".join(chunks).decode(errors="replace")


def test_healthy_exit_0_with_a_readable_report(tmp_path: Path) -> None:
    with lab_serve(tmp_path, "healthy"):
        result = diagnose("--all", "--timeout", "10")
        tty_rc, tty_out, tty_err = _diagnose_with_tty_stderr("v-2-VM")
        zone = diagnose("--zone", "zone1", "--no-ssh", "--json")
        no_zone = diagnose("--zone", "atlantis")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "v-2-VM" in out and "s-1-VM" in out
    assert "✔ OK" in out
    assert "✘" not in out and "FAIL" not in out.replace("0 FAIL", "")
    assert "Java working directory intact" in out
    assert "Traceback" not in result.stderr
    assert result.stderr == ""  # not interactive: no progress
    # interactive: progress on stderr, the report on stdout
    assert tty_rc == 0
    assert "v-2-VM: " in tty_err and "✔ OK    Java working directory intact" in tty_err
    assert tty_out.startswith("v-2-VM (CPVM")
    # a zone, API checks only
    assert zone.returncode == 0, zone.stderr
    data = json.loads(zone.stdout)
    assert [v["vm"] for v in data["vms"]] == ["management-server", "v-2-VM", "s-1-VM"]
    for vm in data["vms"][1:]:
        steps = {f["check_id"]: f for f in vm["findings"]}
        assert steps["vm-state"]["status"] == "ok"
        assert steps["agent-state"]["status"] == "ok"
        assert steps["java-cwd"]["status"] == "skipped"
        assert "--no-ssh" in steps["java-cwd"]["reason"]
    assert no_zone.returncode == 3
    assert no_zone.stderr.strip() == (
        "cspctl: no zone named 'atlantis' in profile lab; known zones: zone1")


def test_seed_exit_2_text_json_and_markdown(tmp_path: Path) -> None:
    with lab_serve(tmp_path, "seed"):
        text = diagnose("v-2-VM", "--timeout", "10")
        js = diagnose("--all", "--json", "--timeout", "10")
        md = diagnose("v-2-VM", "--format", "md", "--timeout", "10")
        missing = diagnose("v-99-VM")
    assert text.returncode == 2, text.stdout + text.stderr
    assert "✘ FAIL" in text.stdout and "! WARN" in text.stdout
    assert "(deleted)" in text.stdout
    assert "playbook: protect-assets (cspctl repair protect-assets v-2-VM)" in text.stdout
    assert "(repair: cspctl repair protect-assets v-2-VM; why: cspctl repair list v-2-VM)" \
        in text.stdout
    assert "advice:" in text.stdout
    assert js.returncode == 2
    data = json.loads(js.stdout)
    assert data["exit_code"] == 2
    vms = {v["vm"]: v for v in data["vms"]}
    assert set(vms) == {"management-server", "v-2-VM", "s-1-VM"}  # --all: mgmt too
    mgmt = {f["check_id"]: f for f in vms["management-server"]["findings"]}
    assert set(mgmt) == {"mgmt-servers"} and mgmt["mgmt-servers"]["status"] == "ok"
    cp = {f["check_id"]: f for f in vms["v-2-VM"]["findings"]}
    assert cp["java-cwd"]["status"] == "fail"
    assert cp["java-cwd"]["playbook"] == "protect-assets"
    assert cp["timezone"]["status"] == "warn"
    assert any("(deleted)" in e["output"] for e in cp["java-cwd"]["evidence"])
    assert "protect-assets" in vms["v-2-VM"]["playbooks"]
    assert md.returncode == 2
    assert md.stdout.startswith("# cspctl diagnosis")
    assert "| ✘ FAIL | Java working directory intact |" in md.stdout
    assert "**Playbook:** `protect-assets`" in md.stdout
    assert missing.returncode == 3
    assert missing.stderr.startswith("cspctl: no system VM named 'v-99-VM'")
    assert missing.stdout == ""


def test_could_not_run_when_the_api_is_down_or_the_name_is_hostile() -> None:
    env = _env()
    env.update(CSPCTL_URL="http://127.0.0.1:9/client/api", CSPCTL_APIKEY="k",
               CSPCTL_SECRETKEY="s", CSPCTL_TIMEOUT="3")
    down = subprocess.run([sys.executable, "-m", "cspctl", "diagnose", "--all"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 3
    assert down.stderr.startswith("cspctl: ") and "Traceback" not in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    listing = subprocess.run([sys.executable, "-m", "cspctl", "diagnose", "--list-checks"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0
    ids = [line.split()[0] for line in listing.stdout.splitlines() if not line.startswith(" ")]
    assert {"java-cwd", "static-assets", "timezone", "agent-state"} <= set(ids)
    hostile = subprocess.run([sys.executable, "-m", "cspctl", "diagnose", "x; rm -rf /"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert hostile.returncode == 2
    assert hostile.stderr.startswith("cspctl: invalid system VM name 'x; rm -rf /'")



def test_list_checks_shows_where_each_check_lives() -> None:
    """Every check: one aligned row (id, targets, needs, title), then, indented under the
    targets, its description and where it is written (path:line function), the path one the
    repo has and the line its @check declaration; docs/checks.md names the same modules."""
    from cspctl.diagnostics.checks import CATALOGUE

    listing = subprocess.run([sys.executable, "-m", "cspctl", "diagnose", "--list-checks"],
                             env=_env(), capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0 and listing.stderr == ""
    lines = listing.stdout.splitlines()
    rows = [i for i, line in enumerate(lines) if not line.startswith(" ")]
    assert [lines[i].split()[0] for i in rows] == [c.id for c in CATALOGUE]
    root = Path(__file__).resolve().parent.parent
    title_at = {lines[i].index(c.title) for i, c in zip(rows, CATALOGUE, strict=True)}
    assert len(title_at) == 1  # titles in one column, however long the longest id
    indent = max(len(c.id) for c in CATALOGUE) + 1
    docs = (root / "docs" / "checks.md").read_text(encoding="utf-8")  # its Module column
    for i, check in zip(rows, CATALOGUE, strict=True):
        where = lines[i + 2 if check.description else i + 1]
        assert where.startswith(" " * indent) and where[indent] != " "
        location, func = where.split()
        path, line = location.rsplit(":", 1)
        assert path.startswith("cspctl/diagnostics/checks/") and path.endswith(".py")
        source = (root / path).read_text(encoding="utf-8").splitlines()
        assert source[int(line) - 1].lstrip().startswith(f'@check("{check.id}"'), where
        assert f"async def {func}(" in "\n".join(source[int(line) - 1:int(line) + 8])
        (doc_row,) = [r for r in docs.splitlines() if r.startswith(f"| `{check.id}` |")]
        assert doc_row.endswith(f"| `{path}` |"), doc_row


@pytest.mark.timeout(300)
def test_large_all_with_limit_completes(tmp_path: Path) -> None:
    with lab_serve(tmp_path, "large"):
        result = diagnose("--all", "--limit", "20", "--concurrency", "5", "--json",
                          "--timeout", "15")
    assert result.returncode in (0, 1, 2), result.stderr
    data = json.loads(result.stdout)
    vms = [v for v in data["vms"] if v["type"] != "management"]
    assert len(vms) == 20 and len(data["vms"]) == 21
    assert all(v["findings"] for v in data["vms"])
    assert all(v["findings"][1]["check_id"] == "ssh" and v["findings"][1]["status"] == "ok"
               for v in vms)
