"""The terminal widget: bytes in (bursts, split UTF-8, full-screen programs), lines out."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from widgets.terminal import Emulator, Terminal, key_to_bytes, paste_bytes


def burst(n_lines: int) -> bytes:
    return b"".join(
        b"log %06d \x1b[1;31mERROR\x1b[0m something \xe2\x9c\x98 happened here ok\r\n" % i
        for i in range(n_lines)
    )


def test_multi_megabyte_burst_scrolls_into_history() -> None:
    emu = Emulator(80, 24, scrollback=1000)
    data = burst(40_000)
    assert len(data) > 2_000_000
    # Arbitrary read boundaries, including inside multi-byte UTF-8 characters.
    for start in range(0, len(data), 4093):
        emu.feed(data[start:start + 4093])
    emu.process(None)
    lines = emu.display()
    assert lines[-2] == "log 039999 ERROR something ✘ happened here ok"
    assert lines[0] == "log 039977 ERROR something ✘ happened here ok"
    history = emu.history_text()
    assert len(history) == 1000
    assert history[-1] == "log 039976 ERROR something ✘ happened here ok"
    # The colour survives as a style on the rendered segments.
    from rich.style import Style
    segs = emu.segments(emu.screen.buffer[22], Style())
    red = [s for s in segs if s.text == "ERROR"]
    assert red and red[0].style.bold and red[0].style.color.number == 1


def test_split_utf8_character_survives() -> None:
    emu = Emulator(20, 3)
    raw = "naïve ✘ ok".encode()
    for i in range(len(raw)):
        emu.feed(raw[i:i + 1])
    emu.process(None)
    assert emu.display()[0] == "naïve ✘ ok"


def test_alternate_screen_in_and_out_restores_main_screen() -> None:
    emu = Emulator(40, 10)
    emu.feed(b"$ top\r\n")
    emu.process(None)
    cursor_before = (emu.screen.cursor.x, emu.screen.cursor.y)
    emu.feed(b"\x1b[?1049h\x1b[H\x1b[2Jtop - 10:00:01 up 1 day\x1b[3;1H  PID USER  COMMAND"
             b"\x1b[4;1H 1234 root  \x1b[7mjava\x1b[27m")
    emu.process(None)
    assert emu.screen.in_alternate
    shown = emu.display()
    assert shown[0] == "top - 10:00:01 up 1 day"
    assert shown[3] == " 1234 root  java"
    assert "$ top" not in shown
    emu.feed(b"\x1b[?1049l")
    emu.process(None)
    assert not emu.screen.in_alternate
    assert emu.display()[0] == "$ top"
    assert (emu.screen.cursor.x, emu.screen.cursor.y) == cursor_before
    # Mode 47 (no cursor save) switches too.
    emu.feed(b"\x1b[?47hALT\x1b[?47l")
    emu.process(None)
    assert emu.display()[0] == "$ top"


def test_full_screen_output_does_not_pollute_history() -> None:
    emu = Emulator(20, 4, scrollback=100)
    emu.feed(b"\x1b[?1049h" + b"x\r\n" * 50 + b"\x1b[?1049l")
    emu.process(None)
    assert emu.history_text() == []


def test_device_status_report_is_answered() -> None:
    replies: list[bytes] = []
    emu = Emulator(20, 4, on_reply=replies.append)
    emu.feed(b"ab\x1b[6n")
    emu.process(None)
    assert replies == [b"\x1b[1;3R"]


def test_resize_keeps_cursor_line_visible() -> None:
    emu = Emulator(30, 10)
    emu.feed(b"\r\n".join(b"row %d" % i for i in range(10)))
    emu.process(None)
    emu.resize(30, 5)
    assert emu.display()[-1] == "row 9"
    assert emu.history_text()[-1] == "row 4"


def test_process_budget_leaves_the_rest_queued() -> None:
    emu = Emulator(80, 24)
    emu.feed(burst(20_000))
    done = emu.process(0.0)
    assert 0 < done < emu.pending_bytes + done
    assert emu.pending_bytes > 0


@pytest.mark.parametrize(
    ("key", "char", "app", "expected"),
    [
        ("up", None, False, b"\x1b[A"), ("up", None, True, b"\x1bOA"),
        ("ctrl+c", None, False, b"\x03"), ("f5", None, False, b"\x1b[15~"),
        ("enter", "\r", False, b"\r"), ("backspace", None, False, b"\x7f"),
        ("ctrl+left", None, False, b"\x1b[1;5D"), ("a", "a", False, b"a"),
        ("tab", "\t", False, b"\t"), ("pagedown", None, False, b"\x1b[6~"),
        ("escape", None, False, b"\x1b"), ("f12", None, False, b"\x1b[24~"),
    ],
)
def test_keys_to_bytes(key: str, char: str | None, app: bool, expected: bytes) -> None:
    assert key_to_bytes(key, char, app_cursor=app) == expected


def test_paste_bracketed() -> None:
    assert paste_bytes("a\nb", bracketed=True) == b"\x1b[200~a\rb\x1b[201~"
    assert paste_bytes("a\nb", bracketed=False) == b"a\rb"


class TermApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []

    def compose(self) -> ComposeResult:
        yield Terminal(writer=self.sent.append, on_resize=lambda c, r: self.sizes.append((c, r)))
        yield Input(id="other")


async def test_widget_renders_keys_resize_and_burst() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 18)) as pilot:
        term = app.query_one(Terminal)
        term.focus()
        await pilot.pause()
        assert (term.emulator.columns, term.emulator.lines) == (60, 15)
        assert app.sizes[-1] == (60, 15)
        await pilot.press("l", "s", "enter", "up", "ctrl+c")
        assert b"".join(app.sent) == b"ls\r\x1b[A\x03"
        # A 2 MB burst: the app keeps answering while it drains, then shows the tail.
        term.feed(burst(30_000))
        await pilot.pause(0.1)
        assert term.emulator.pending_bytes > 0  # spread over frames, not parsed at once
        for _ in range(600):
            if term.idle:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        assert term.idle
        assert term.frames > 3
        rendered = [term.render_line(y).text.rstrip() for y in range(15)]
        assert rendered[-2] == "log 029999 ERROR something ✘ happened here ok"
        # Full-screen program in and out.
        term.feed(b"\x1b[?1049h\x1b[2J\x1b[HVI SCREEN")
        term.flush()
        await pilot.pause()
        assert term.render_line(0).text.startswith("VI SCREEN")
        term.feed(b"\x1b[?1049l")
        term.flush()
        await pilot.pause()
        assert term.render_line(13).text.rstrip() == "log 029999 ERROR something ✘ happened here ok"
        # Scrollback and back.
        await pilot.press("shift+pageup")
        assert term.scroll_back == 14
        assert term.render_line(0).text.startswith("log 029972")
        await pilot.press("shift+pagedown")
        assert term.scroll_back == 0
        # Bracketed paste once the remote program asked for it.
        app.sent.clear()
        term.feed(b"\x1b[?2004h")
        term.flush()
        from textual import events

        term.post_message(events.Paste("echo hi\nls"))
        await pilot.pause()
        assert b"".join(app.sent) == b"\x1b[200~echo hi\rls\x1b[201~"
        # Leave the pane without closing it.
        await pilot.press("ctrl+right_square_bracket")
        assert not term.has_focus
        assert app.focused is app.query_one("#other")
        await pilot.resize_terminal(50, 13)
        await pilot.pause()
        assert app.sizes[-1] == (50, 10)
