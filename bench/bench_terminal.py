"""Throughput of the terminal widget's model layer vs raw pyte, and frame pacing in the widget.

Run: .venv/bin/python bench/bench_terminal.py [MB]
Prints MB/s for (1) raw pyte (Screen + ByteStream), (2) pyte's HistoryScreen, (3) our Emulator
(scrollback + alternate screen, fed in read-sized chunks), (4) our Emulator plus rendering every
dirty row to segments once per 1/30 s of input, and the ratios to raw pyte; then (5) the widget
in a headless Textual app: how long a burst takes to drain and how many frames were drawn.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pyte
from rich.style import Style

from widgets.terminal import Emulator, Terminal


def payload(megabytes: float) -> bytes:
    line = b"2026-11-25 10:00:00 \x1b[32mINFO\x1b[0m [c.c.a.Agent] ping \xe2\x9c\x94 host ok\r\n"
    return line * int(megabytes * 1_000_000 / len(line))


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def chunks(data: bytes, size: int = 4096):  # type: ignore[no-untyped-def]
    for i in range(0, len(data), size):
        yield data[i:i + size]


def raw_pyte(data: bytes) -> None:
    stream = pyte.ByteStream(pyte.Screen(80, 24))
    for c in chunks(data):
        stream.feed(c)


def history_pyte(data: bytes) -> None:
    stream = pyte.ByteStream(pyte.HistoryScreen(80, 24, history=5000))
    for c in chunks(data):
        stream.feed(c)


def ours(data: bytes) -> None:
    emu = Emulator(80, 24, scrollback=5000)
    for c in chunks(data):
        emu.feed(c)
    emu.process(None)


def ours_rendered(data: bytes) -> None:
    emu = Emulator(80, 24, scrollback=5000)
    style = Style()
    for c in chunks(data, 32 * 1024):  # ~one frame's worth of a fast link
        emu.feed(c)
        emu.process(None)
        for y in sorted(emu.screen.dirty):
            emu.segments(emu.screen.buffer[y], style)
        emu.screen.dirty.clear()


async def widget_drain(data: bytes) -> tuple[float, int, list[float]]:
    from textual.app import App, ComposeResult

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            yield Terminal()

    app = Bench()
    async with app.run_test(size=(80, 24)) as pilot:
        term = app.query_one(Terminal)
        await pilot.pause()
        lags: list[float] = []
        start = time.perf_counter()
        term.feed(data)
        while not term.idle:
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)  # how long the event loop takes to come back to us
            lags.append(time.perf_counter() - t0 - 0.01)
        await pilot.pause()
        lags.sort()
        return time.perf_counter() - start, term.frames, lags




def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    data = payload(mb)
    size = len(data) / 1e6
    print(f"payload: {size:.2f} MB of coloured log lines, 80x24")
    base = timed(lambda: raw_pyte(data))
    rows = [("raw pyte Screen (baseline)", base)]
    rows.append(("pyte HistoryScreen", timed(lambda: history_pyte(data))))
    rows.append(("cspctl Emulator", timed(lambda: ours(data))))
    rows.append(("cspctl Emulator + render dirty rows", timed(lambda: ours_rendered(data))))
    for name, secs in rows:
        print(f"{name:40s} {secs:7.2f} s  {size / secs:6.2f} MB/s  x{base / secs:5.2f} of baseline")
    drain, frames, lags = asyncio.run(widget_drain(data))
    print(f"{'Terminal widget (headless app) drain':40s} {drain:7.2f} s  {size / drain:6.2f} MB/s"
          f"  x{base / drain:5.2f} of baseline; {frames} frames")

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(p * len(lags)))] * 1000 if lags else 0.0

    print(f"event-loop lag while draining (UI responsiveness): p50 {pct(0.5):.0f} ms, "
          f"p95 {pct(0.95):.0f} ms, max {pct(1.0):.0f} ms over {len(lags)} samples")


if __name__ == "__main__":
    main()
