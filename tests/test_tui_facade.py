"""The console talks to the engine through one facade, ``tui.backend.Backend``.

The import contracts (pyproject.toml) are checked as ``scripts/test`` checks them, and shown to
break when a console module reaches past the facade; no pane reaches into the backend's
session; the real-terminal hand-off runs a real shell on a lab VM through a real PTY.
"""

from __future__ import annotations

import ast
import asyncio
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cspctl.gate import ReadOnlyRefused
from cspctl.lab.runner import Lab
from tests.tui_helpers import fixed_settings
from tui.backend import Backend

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
NEW_CONTRACTS = (
    "Only the console's facade opens engine sessions",
    "The console never imports the CLI or the lab, but for the --lab launch seam",
    "Console panes drive the engine only through tui.backend",
)


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_facade_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in NEW_CONTRACTS:
        assert f"{name} KEPT" in result.stdout, result.stdout


def test_a_console_module_reaching_past_the_facade_breaks_the_contracts(tmp_path: Path) -> None:
    # a copy of the console, with one module doing what a pane must not
    shutil.copytree(ROOT / "tui", tmp_path / "tui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tui" / "reach.py").write_text(
        "from cspctl.cli.cmd_ssh import make_tty_ask\n"
        "from cspctl.diagnostics.runner import DiagnosisRunner\n"
        "from cspctl.lab.world import World\n"
        "from cspctl.session import Session\n"
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = lint_imports(tmp_path, pythonpath=tmp_path)
    out = result.stdout
    assert result.returncode != 0, out
    for name in NEW_CONTRACTS:
        assert f"{name} BROKEN" in out, out
    for line in ("tui.reach -> cspctl.session", "tui.reach -> cspctl.cli.cmd_ssh",
                 "tui.reach -> cspctl.lab.world", "tui.reach -> cspctl.diagnostics.runner"):
        assert line in out, out
    # the facade's own imports stay allowed: only the new module is reported
    assert "tui.backend ->" not in out, out


def _backend_reaches(path: Path) -> list[str]:
    """``<x>.backend.session`` / ``backend.lab`` (and deeper) in a console module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in ("session", "lab", "owns_lab"):
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else (
                owner.id if isinstance(owner, ast.Name) else "")
            if name == "backend":
                found.append(f"{path.name}:{node.lineno} backend.{node.attr}")
    return found


def test_no_console_module_reaches_into_the_backends_session() -> None:
    modules = [p for p in sorted((ROOT / "tui").glob("*.py")) if p.name != "backend.py"]
    assert any(p.name == "diag_pane.py" for p in modules)
    reaches = [r for p in modules for r in _backend_reaches(p)]
    assert reaches == []
    # the check itself sees a reach when there is one
    assert _backend_reaches(ROOT / "tests" / "test_tui_app.py")


# -- the real-terminal hand-off ---------------------------------------------------------------

async def _read_until(master: int, seen: bytearray, token: bytes, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    readable = asyncio.Event()
    os.set_blocking(master, False)
    loop.add_reader(master, readable.set)
    try:
        while token not in seen:
            await asyncio.wait_for(readable.wait(), max(0.1, deadline - loop.time()))
            readable.clear()
            try:
                chunk = os.read(master, 4096)
            except BlockingIOError:  # a readiness already consumed
                continue
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        loop.remove_reader(master)
    assert token in seen, bytes(seen)


async def test_real_shell_hands_a_vm_shell_to_a_real_terminal(lab: Lab) -> None:
    backend = Backend.for_lab(lab, settings=fixed_settings())
    master, slave = pty.openpty()
    try:
        snapshot = await backend.snapshot()
        vm = next(v for v in snapshot.vms if v.name == "s-1-VM")
        task = asyncio.create_task(backend.real_shell(vm, terminal=(slave, slave)))
        seen = bytearray()
        await _read_until(master, seen, b"#")  # the root prompt, in our terminal
        os.write(master, b"hostname; exit 3\r")
        status = await asyncio.wait_for(task, 30)
        await _read_until(master, seen, b"ended (exit 3)")
    finally:
        os.close(master)
        os.close(slave)
        await backend.close()
    assert status == 3
    text = seen.decode("utf-8", "replace")
    assert "cspctl: shell on s-1-VM (" in text and "exit returns to the console" in text
    assert "# hostname; exit 3\r\ns-1-VM\r\n" in text  # typed, echoed, run, answered
    assert text.rstrip().endswith("cspctl: shell on s-1-VM ended (exit 3)")
    events = [e for e in backend.session.journal.events()
              if e["event"] in ("ui.real_terminal", "ssh.shell")]
    assert [e["event"] for e in events][:2] == ["ui.real_terminal", "ssh.shell"]
    assert events[0]["vm"] == "s-1-VM"


async def test_real_shell_is_refused_in_read_only_mode_before_connecting(lab: Lab) -> None:
    backend = Backend.for_lab(lab, read_only=True, settings=fixed_settings())
    try:
        vm = next(v for v in (await backend.snapshot()).vms if v.name == "s-1-VM")
        before = dict(lab.ssh.connection_counts)
        with pytest.raises(ReadOnlyRefused):
            await backend.real_shell(vm, terminal=(0, 1))
        assert dict(lab.ssh.connection_counts) == before
    finally:
        await backend.close()
    events = [e["event"] for e in backend.session.journal.events()]
    assert "ssh.refused" in events and "ui.real_terminal" not in events


async def test_ctrl_t_where_the_terminal_cannot_be_handed_over_says_so_and_opens_nothing(
        lab: Lab) -> None:
    from tests.tui_helpers import lab_app, loaded, notifications, until
    from tui.shell_pane import ShellPane

    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:  # headless: no terminal to suspend
        await loaded(pilot)
        await pilot.press("slash", "s", "minus", "enter", "s")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell tab")
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: pane.state == "open", what="shell open")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: any("cannot open the real terminal here" in n
                                       for n in notifications(app)), what="warning")
        assert pane.state == "open" and app.tabs.active != "overview"
        assert app.backend is not None
        events = [e for e in app.backend.session.journal.events()
                  if e["event"] in ("ui.real_terminal", "ssh.shell")]
    # only the pane's own shell: nothing was handed over, so nothing says it was
    assert [(e["event"], e.get("action")) for e in events][:1] == [("ssh.shell", "start")]
    assert not [e for e in events if e["event"] == "ui.real_terminal"]
