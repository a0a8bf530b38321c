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
        assert term.backlog > 1_000_000  # feed only queues: the parse thread takes it
        await pilot.pause(0.1)
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


async def test_backlog_stays_bounded_under_a_2mb_burst() -> None:
    """A reader that waits for room (as the shell pane does) never queues past the bound,
    and the screen still ends on the burst's last line."""
    from widgets.terminal.widget import BACKLOG_LIMIT

    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = app.query_one(Terminal)
        await pilot.pause()
        data = burst(35_000)
        assert len(data) > 2_000_000
        peak = 0
        for start in range(0, len(data), 65536):  # what one SSH read returns at most
            chunk = data[start:start + 65536]
            await term.wait_for_room(len(chunk))
            term.feed(chunk)
            peak = max(peak, term.backlog)
        assert peak <= BACKLOG_LIMIT and term.emulator.max_pending <= BACKLOG_LIMIT
        for _ in range(1200):
            if term.idle:
                break
            await pilot.pause(0.05)
        term.flush()
        assert term.display_lines[-2] == "log 034999 ERROR something ✘ happened here ok"
        assert term.emulator.malformed == 0


def test_malformed_sequences_never_raise() -> None:
    emu = Emulator(20, 4)
    emu.feed(b"ok\x1b[1;2;3Cstill\r\nnext \x1b[99999999999999999999X line")
    emu.process(None)
    assert emu.display()[:2] == ["okstill", "next  line"]
    assert emu.malformed == 1


def test_fast_lane_draws_what_pyte_draws() -> None:
    """Text, CR/LF and SGR handled outside pyte's parser give pyte's own screen, whatever
    the read boundaries (wide and combining characters, line drawing, insert mode, modes)."""
    import random

    import pyte

    from widgets.terminal.screen import TerminalScreen
    from widgets.terminal.stream import FastByteStream

    class PyteScreen(TerminalScreen):
        def draw(self, data: str) -> None:
            pyte.Screen.draw(self, data)

    pieces = [b"hello world ", b"\r\n", b"\r", b"\n", b"\x1b[31m", b"\x1b[0m", b"\x1b[m",
              b"\x1b[1;4;38;5;196m", b"x" * 100, b"\x1b[?7l", b"\x1b[?7h", b"\x1b(0lqqk\x1b(B",
              "中文".encode(), b"\x1b[4h", b"\x1b[4l", b"\x1b[5;10H", b"\t", "e\u0301".encode(),
              b"\x1b[1;7m", b"\x1b[2J", b"\x1b[K", b"abc\x08\x08Z", b"\x1b]0;title\x07",
              b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[3;7r", b"\x1bM", b"\x1b7", b"\x1b8",
              b"\x1b[;m", "✔ ok".encode(), b"\xc3"]
    rnd = random.Random(7)
    for _ in range(200):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 150)))
        ours, theirs = TerminalScreen(37, 9, scrollback=50), PyteScreen(37, 9, scrollback=50)
        fast, slow = FastByteStream(ours), pyte.ByteStream(theirs)
        cuts = sorted(rnd.sample(range(len(data) + 1), min(4, len(data) + 1)))
        try:
            for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
                slow.feed(data[a:b])
                fast.feed(data[a:b])
        except Exception:  # pyte gave up on a sequence (and the rest of its read): we drop
            continue  # that sequence alone (test_malformed_sequences_never_raise)
        for y in range(9):
            assert [ours.buffer[y][x] for x in range(37)] == \
                [theirs.buffer[y][x] for x in range(37)], data
        assert (ours.cursor.x, ours.cursor.y, ours.cursor.attrs) == \
            (theirs.cursor.x, theirs.cursor.y, theirs.cursor.attrs), data
        assert [dict(line) for line in ours.history] == [dict(line) for line in theirs.history]
