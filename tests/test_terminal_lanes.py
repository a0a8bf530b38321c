"""The terminal's fast and bulk lanes give pyte's own screen, history and cursor.

Property tests (hypothesis): random mixes of lines (narrow and wide text, SGR, tabs, erases),
text, CR/LF, SGR, cursor and mode escapes (tab stops too), wide and combining characters,
long (wrapping) lines, fed in random read sizes at several screen sizes, through the pane's
stream (``FastByteStream``: fast lane, bulk lane, packed scrollback) and through plain pyte
(``pyte.ByteStream`` drawing cell by cell into the same screen class), must leave the same
cells, cursor, modes and scrollback.
"""

from __future__ import annotations

import itertools

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from widgets.terminal import Emulator
from widgets.terminal.bulk import Rows
from widgets.terminal.screen import TerminalScreen
from widgets.terminal.stream import FastByteStream


class PyteScreen(TerminalScreen):
    """The reference: pyte's own ``draw`` (the stream feeding it is pyte's own too)."""

    def draw(self, data: str) -> None:
        pyte.Screen.draw(self, data)


NARROW = [*"abcxyz ABC019.:-_/[]()=", "✔", "é", "ß", "Ω", "─"]
WIDE = ["中", "文", "한", "🙂"]
COMBINING = ["\u0301", "\u0308"]
SGR_PARAMS = ["", "0", "1", "4", "7", "27", "31", "32", "39", "42", "91", "38;5;196",
              "48;5;17", "38;2;10;20;30", "1;31", "0;1;4;7", "38;5", "22"]
ESCAPES = [
    "\x1b[H", "\x1b[3;5H", "\x1b[2A", "\x1b[B", "\x1b[3C", "\x1b[D", "\x1b[K", "\x1b[1K",
    "\x1b[2K", "\x1b[2J", "\x1b[J", "\x1b[3J", "\x1bM", "\x1bD", "\x1bE", "\x1b7", "\x1b8",
    "\x1b[2;3r", "\x1b[r", "\x1b[?1049h", "\x1b[?1049l", "\x1b[?47h", "\x1b[?47l",
    "\x1b[?7l", "\x1b[?7h", "\x1b[4h", "\x1b[4l", "\x1b[?5h", "\x1b[?5l", "\x1b[20h",
    "\x1b[20l", "\t", "\x08", "\x1b[2L", "\x1b[M", "\x1b[3P", "\x1b[2@", "\x1b[X",
    "\x1b[5G", "\x1b[2d", "\x1b[?25l", "\x1b[?25h", "\x1b]0;title\x07", "\x1b[6n",
    "\x1b(0", "\x1b(B", "\x0e", "\x0f", "\x1bH", "\x1b[g", "\x1b[3g",
]

sgr = st.lists(st.sampled_from(SGR_PARAMS), max_size=3).map(lambda p: f"\x1b[{';'.join(p)}m")
narrow_text = st.text(alphabet=st.sampled_from(NARROW), min_size=1, max_size=30)
any_text = st.text(alphabet=st.sampled_from(NARROW + WIDE + COMBINING), min_size=1,
                   max_size=30)
long_text = st.integers(1, 200).map(lambda n: "".join(NARROW[i % len(NARROW)]
                                                      for i in range(n)))
in_line = st.sampled_from(["\t", "\x1b[K", "\x1b[0K", "\x1b[1K", "\x1b[2K"])
wide_text = st.text(alphabet=st.sampled_from(NARROW + WIDE), min_size=1, max_size=30)
plain_line = st.lists(st.one_of(narrow_text, sgr, long_text, in_line, wide_text),
                      max_size=6).map("".join)
plain_lines = st.lists(plain_line, min_size=1, max_size=60).map(
    lambda lines: "".join(f"{line}\r\n" for line in lines))
token = st.one_of(
    plain_lines, plain_lines, any_text, narrow_text, sgr, long_text,
    st.sampled_from(["\r\n", "\r", "\n"]), st.sampled_from(ESCAPES),
)
SIZES = [(1, 1), (5, 2), (20, 4), (37, 9), (80, 24)]


def feed_both(ours: TerminalScreen, theirs: TerminalScreen, data: bytes,
              cuts: list[int]) -> None:
    fast, slow = FastByteStream(ours), pyte.ByteStream(theirs)
    edges = [0, *sorted(cuts), len(data)]
    for a, b in itertools.pairwise(edges):
        slow.feed(data[a:b])
        fast.feed(data[a:b])


def assert_same(ours: TerminalScreen, theirs: TerminalScreen, data: bytes) -> None:
    for y in range(theirs.lines):
        assert [ours.buffer[y][x] for x in range(theirs.columns)] == \
            [theirs.buffer[y][x] for x in range(theirs.columns)], (y, data)
    assert (ours.cursor.x, ours.cursor.y, ours.cursor.attrs, ours.cursor.hidden) == \
        (theirs.cursor.x, theirs.cursor.y, theirs.cursor.attrs, theirs.cursor.hidden), data
    assert ours.mode == theirs.mode and ours.in_alternate == theirs.in_alternate
    assert ours.history_version == theirs.history_version
    assert [dict(line) for line in ours.history] == [dict(line) for line in theirs.history]


@settings(max_examples=250, deadline=None)
@given(tokens=st.lists(token, min_size=1, max_size=40), size=st.sampled_from(SIZES),
       scrollback=st.sampled_from([0, 3, 50, 1000]), data=st.data())
def test_lanes_draw_what_pyte_draws(tokens: list[str], size: tuple[int, int],
                                    scrollback: int, data: st.DataObject) -> None:
    raw = "".join(tokens).encode()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=6), label="read cuts")
    columns, lines = size
    ours = TerminalScreen(columns, lines, scrollback=scrollback)
    theirs = PyteScreen(columns, lines, scrollback=scrollback)
    feed_both(ours, theirs, raw, cuts)
    assert_same(ours, theirs, raw)


@settings(max_examples=100, deadline=None)
@given(before=st.lists(token, max_size=15), after=st.lists(token, max_size=15),
       size=st.sampled_from(SIZES), new_size=st.sampled_from(SIZES))
def test_lanes_match_pyte_across_a_resize(before: list[str], after: list[str],
                                          size: tuple[int, int],
                                          new_size: tuple[int, int]) -> None:
    """Rows kept packed in history keep the width they were drawn at after a resize."""
    ours = TerminalScreen(*size, scrollback=200)
    theirs = PyteScreen(*size, scrollback=200)
    fast, slow = FastByteStream(ours), pyte.ByteStream(theirs)
    for stream in (fast, slow):
        stream.feed("".join(before).encode())
    for screen in (ours, theirs):
        screen.resize(new_size[1], new_size[0])
    for stream in (fast, slow):
        stream.feed("".join(after).encode())
    assert_same(ours, theirs, ("".join(before) + "|" + "".join(after)).encode())


def test_a_burst_is_placed_without_drawing_what_scrolls_away(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Lines that scroll through unseen are never built into cells: a 10,000-line burst
    builds about a screenful per parsed chunk (the rows left on screen; chunks grow to
    64 KB), and history builds a row only when it is read."""
    built = 0
    build = Rows.build

    def counting(self: Rows, row):  # type: ignore[no-untyped-def]
        nonlocal built
        built += 1
        return build(self, row)

    monkeypatch.setattr(Rows, "build", counting)
    emu = Emulator(80, 24, scrollback=1000)
    data = b"".join(b"%05d \x1b[32mok\x1b[0m \xe2\x9c\x94 line\r\n" % i for i in range(10_000))
    for start in range(0, len(data), 65536):
        emu.feed(data[start:start + 65536])
    steps = 0
    while emu.step():
        steps += 1
    assert emu.display()[-2] == "09999 ok ✔ line"
    assert built <= 24 * steps <= 24 * 20, (built, steps)  # not 10,000
    assert emu.screen.history.packed > 900
    assert emu.history_text()[-1] == "09976 ok ✔ line"  # reading history builds it
    assert emu.screen.history.packed == 0


def test_unprintable_and_odd_input_never_raises() -> None:
    """Characters pyte cannot draw (C1 controls, zero-width non-combining) in a run of
    lines fall back to pyte; nothing raises and the lines around them are drawn."""
    emu = Emulator(20, 4)
    emu.feed(b"one\r\ntwo\xc2\x85x\r\nthree\xe2\x80\x8dy\r\nfour\r\n" * 3)
    emu.process(None)
    assert emu.display()[-2] == "four"
    assert emu.malformed == 0
