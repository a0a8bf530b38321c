"""``[ui]`` and ``[keymap]`` of config.toml: read by the real config loader, checked against
the console's bindings, applied with ``App.set_keymap`` in the running console; mistakes are
one line and a non-zero exit, before the screen is taken over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from cspctl.config import config_path, load_ui
from cspctl.errors import ConfigError
from cspctl.lab.runner import Lab
from tests.cli_helpers import ROOT, assert_one_clean_error_line, run_cli
from tests.tui_helpers import (
    TIME_SCALE,
    fixed_settings,
    lab_app,
    loaded,
    screen_text,
    until,
    until_text,
)
from tui.help import HelpScreen
from tui.launch import console_settings
from tui.shell_pane import ShellPane


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    async with Lab("seed", time_scale=TIME_SCALE) as running:
        yield running


def write_config(text: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def settings_from_file(text: str) -> object:
    """Settings as ``cspctl`` builds them from the file (the real loader and checks), with
    the tests' seams (pinned clock, no auto-refresh)."""
    write_config(text)
    settings = console_settings(load_ui())
    base = fixed_settings()
    return replace(base, keymap=settings.keymap, shell_term=settings.shell_term,
                   diagnose_concurrency=settings.diagnose_concurrency)


async def test_a_keymap_entry_remaps_a_binding_in_the_running_console(lab: Lab) -> None:
    settings = settings_from_file('[keymap]\n"console.help" = "f2"\n"console.diagnose" = "x"\n')
    app = lab_app(lab, settings)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")  # the old key no longer opens help
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f2")  # the new one does
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help on f2")
        text = await until_text(pilot, "console.help")
        assert "f2" in text and "console.help" in text  # help shows the key as remapped
        assert "[keymap]" in text  # and says how to remap; its rows document [ui] too
        rows = app.screen.rows
        assert ("console", "f2", "Help", "console.help") in rows
        assert ("config [ui]", '"textual-light"', "Theme", "theme") in rows
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")
        # the footer advertises the new key for diagnose, and x runs it; d does nothing now
        assert "x Diagnose" in screen_text(app)
        await pilot.press("d")
        await pilot.pause()
        assert app.tabs.tab_count == 1
        await pilot.press("x")
        await until(pilot, lambda: app.tabs.tab_count == 2, what="diagnosis tab on x")


async def test_in_a_shell_a_remapped_key_goes_to_the_shell_and_priority_keys_stay(
        lab: Lab) -> None:
    """console.quit moved off ctrl+q: in a shell ctrl+q is now the shell's, the new quit key
    stays the console's; the footer shows only what works there (no Diagnose, no Help)."""
    settings = settings_from_file('[keymap]\n"console.quit" = "f10"\n')
    app = lab_app(lab, settings)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", "v", "minus", "enter", "s")
        await until(pilot, lambda: bool(app.query(ShellPane)), what="shell tab")
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: pane.state == "open", timeout=30, what="shell open")
        sent: list[bytes] = []
        writer = pane.terminal.writer
        assert writer is not None
        pane.terminal.writer = lambda data: (sent.append(data), writer(data))[1]
        footer = screen_text(app).splitlines()[-1]
        assert "Diagnose" not in footer and "Help" not in footer and "Quit" in footer
        await pilot.press("ctrl+q", "d")
        await pilot.pause()
        assert app.is_running and b"\x11" in sent and b"d" in sent
        await pilot.press("f10")
        await until(pilot, lambda: not app.is_running, what="quit on f10")


def test_keymap_and_ui_are_validated() -> None:
    write_config('[ui]\ntheme = "textual-light"\ndiagnose_concurrency = 3\n'
                 'show_journal_path = false\n[keymap]\n"console.shell" = "X, F5,ctrl+G"\n')
    ui = load_ui()
    assert ui.keymap == {"console.shell": "X,f5,ctrl+g"}
    settings = console_settings(ui)
    assert (settings.theme, settings.diagnose_concurrency, settings.show_journal_path) == (
        "textual-light", 3, False)
    for text, words in [
        ('[keymap]\n"console.shel" = "x"\n', "did you mean 'console.shell'"),
        ('[keymap]\n"console.shell" = "ctrl+"\n', "is not a key"),
        ('[keymap]\n"console.shell" = 5\n', "must be text naming keys"),
        ("[keymap]\nshell = \"x\"\n", "not a binding id"),
        ('[keymap]\n"console.shell" = "d"\n', "d is both console.shell's and console.diagnose's"),
        ('[keymap]\n"console.help" = "f1"\n"console.log" = "f1"\n', "f1 is both"),
        ("[ui]\ndiagnose_concurrency = 0\n", "from 1 to 64"),
        ("[ui]\nshow_journal_path = \"no\"\n", "not a boolean"),
        ('keymap = "x"\n', "must be a table"),
    ]:
        write_config(text)
        with pytest.raises(ConfigError, match=r"config\.toml") as caught:
            console_settings(load_ui())
        assert words in str(caught.value), (text, caught.value)


@pytest.mark.parametrize(("text", "words"), [
    ('[keymap]\n"console.nope" = "x"\n', "no binding has the id 'console.nope'"),
    ('[ui]\ntheme = "no-such-theme"\n', "not a theme"),
])
async def test_a_bad_keymap_or_theme_stops_the_console_with_one_line(text: str,
                                                                      words: str) -> None:
    write_config(text)
    result = await run_cli("--lab", timeout=60)
    line = assert_one_clean_error_line(result)
    assert words in line and "config.toml" in line
    assert result.returncode == 2


def test_the_readme_example_is_a_valid_config() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Settings and keys"):]
    example = section[section.index("```toml\n") + 8:section.index("```\n", 8)]
    write_config(example)
    settings = console_settings(load_ui())
    assert settings.keymap["console.shell"] == "x" and settings.theme == "textual-light"
