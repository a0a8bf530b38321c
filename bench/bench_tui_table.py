"""Refreshing a 5,000-row system VM table: in-place sync vs clear-and-re-add (the baseline).

Run: .venv/bin/python bench/bench_tui_table.py [ROWS]
Both strategies show the same rows; each refresh changes the agent state of 1% of them.
"""

from __future__ import annotations

import asyncio
import sys
import time

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from widgets.systemvms import Column, SyncTable

COLUMNS = [Column(k, k) for k in ("mark", "name", "type", "state", "agent", "host", "ip")]


def rows(n: int, generation: int) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for i in range(n):
        flip = (i + generation) % 100 == 0
        agent = "Disconnected" if flip else "Up"
        out.append((f"id-{i}", ("✘" if flip else "✔", f"v-{i}-VM", "CPVM", "Running", agent,
                                f"kvm{i % 50:02d}", f"10.0.{i // 250}.{i % 250}")))
    return out


class Bench(App[None]):
    def compose(self) -> ComposeResult:
        yield SyncTable(COLUMNS, id="sync")
        yield DataTable(id="plain")


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    app = Bench()
    async with app.run_test(size=(120, 40)) as pilot:
        sync = app.query_one("#sync", SyncTable)
        plain = app.query_one("#plain", DataTable)
        plain.add_columns(*[c.key for c in COLUMNS])
        await pilot.pause()
        t = time.perf_counter()
        sync.sync(rows(n, 0))
        first = time.perf_counter() - t
        timings: dict[str, list[float]] = {"sync": [], "clear": []}
        for gen in range(1, 11):
            data = rows(n, gen)
            t = time.perf_counter()
            sync.sync(data)
            await pilot.pause()
            timings["sync"].append(time.perf_counter() - t)
            t = time.perf_counter()
            plain.clear()
            for key, cells in data:
                plain.add_row(*cells, key=key)
            await pilot.pause()
            timings["clear"].append(time.perf_counter() - t)
        s = sum(timings["sync"]) / 10
        c = sum(timings["clear"]) / 10
        print(f"{n} rows; first fill {first * 1000:.0f} ms")
        print(f"in-place sync (1% changed)   {s * 1000:7.1f} ms per refresh")
        print(f"clear + re-add (baseline)    {c * 1000:7.1f} ms per refresh")
        print(f"speed-up x{c / s:.1f}; cursor kept: {sync.cursor_row == 0}")


if __name__ == "__main__":
    asyncio.run(main())
