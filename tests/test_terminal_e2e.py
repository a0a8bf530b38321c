"""The shell pane end to end on real OpenSSH: a loopback CloudStack API, a real sshd as the
KVM host and another as the system VM's link-local sshd; the console opens the pane and runs
real ``less``, ``top`` and ``vi`` (full-screen, alternate screen) and a 2 MB burst."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest

from tests.tui_helpers import fixed_settings, loaded, until
from tui.app import CspctlApp
from tui.backend import Backend
from tui.shell_pane import ShellPane
from widgets.terminal import Terminal
from widgets.terminal.widget import BACKLOG_LIMIT

pytestmark = pytest.mark.sshd


def screen(term: Terminal) -> str:
    return "\n".join(term.display_lines)


async def run(pilot, term: Terminal, command: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*command, "enter")


async def test_less_top_and_vi_in_the_pane(cloud: dict, tmp_path: Path) -> None:
    for tool in ("less", "top", "vi"):
        assert shutil.which(tool), f"{tool} is needed (scripts/test installs it)"
    settings = fixed_settings()
    app = CspctlApp(partial(Backend.open_profile, "t", settings=settings), settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"v-1", "enter", "s")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell tab")
        pane = app.query_one(ShellPane)
        term = pane.terminal
        await until(pilot, lambda: pane.state == "open", timeout=30, what="shell open")
        emu = term.emulator
        await run(pilot, term, "PS1='ready> '; echo MARK-$((6*7))")
        await until(pilot, lambda: "MARK-42" in screen(term), what="shell answers")

        # less: enters the alternate screen, pages, quits back to the shell's screen.
        text = tmp_path / "lines.txt"
        text.write_text("".join(f"line {i:04d}\n" for i in range(1, 500)))
        await run(pilot, term, f"less {text}")
        await until(pilot, lambda: emu.screen.in_alternate and "line 0001" in screen(term),
                    what="less on the alternate screen")
        assert "MARK-42" not in screen(term)
        await pilot.press("G")
        await until(pilot, lambda: "line 0499" in screen(term), what="less at the end")
        await pilot.press("q")
        await until(pilot, lambda: not emu.screen.in_alternate and "MARK-42" in screen(term),
                    what="back from less")

        # top: full screen (procps draws over the main screen, no alternate one), live,
        # quits on q back to the prompt.
        await run(pilot, term, "clear; top -d 0.5")
        await until(pilot, lambda: "PID" in screen(term) and "load average" in screen(term)
                    and "MARK-42" not in screen(term), timeout=20, what="top running")
        await pilot.press("q")
        await until(pilot, lambda: any(line.startswith("ready>")
                                       for line in term.display_lines[-3:]),
                    what="back from top")
        await run(pilot, term, "echo MARK-$((6*7))")
        await until(pilot, lambda: "MARK-42" in screen(term), what="shell answers")

        # vi: insert text, write, quit; the file has it.
        target = tmp_path / "edited.txt"
        await run(pilot, term, f"vi {target}")
        await until(pilot, lambda: emu.screen.in_alternate, what="vi on the alternate screen")
        await pilot.press("i", *"hello from vi", "escape", *":wq", "enter")
        await until(pilot, lambda: not emu.screen.in_alternate, what="back from vi")
        await until(pilot, lambda: target.exists() and "hello from vi" in target.read_text(),
                    what="vi wrote the file")
        await run(pilot, term, f"cat {target}; echo DONE-$((1+1))")
        await until(pilot, lambda: "DONE-2" in screen(term), what="cat")
        assert "hello from vi" in screen(term)

        # A 2 MB burst: the backlog stays bounded (the reader waits, SSH flow control holds
        # the sender) and the pane ends on the last line.
        peak = 0

        def watch() -> bool:
            nonlocal peak
            peak = max(peak, term.backlog)
            return "END-OF-BURST" in screen(term)

        await run(pilot, term, "seq -f 'burst line %07g ......................' 1 50000; "
                               "echo END-OF-BURST")
        await until(pilot, watch, timeout=120, what="the burst drained")
        assert emu.max_pending <= BACKLOG_LIMIT, emu.max_pending
        assert peak <= BACKLOG_LIMIT
        assert "burst line 0050000" in screen(term)
        await pane.close()
