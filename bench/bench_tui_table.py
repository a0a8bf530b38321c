"""The system VM table widget at 5,000 rows vs a plain Textual DataTable (the peer).

Run: .venv/bin/python bench/bench_tui_table.py [--rows 5000] [--reps 5]

Both widgets sit in one headless app; each variant is timed until the app has repainted,
interleaved, ``--reps`` times (min and median):
  * a filter (rows containing "7", then "3"): ``SyncTable.set_filter`` (index operation) vs
    DataTable ``clear`` + re-add of the matching rows;
  * a refresh where 1% of the rows changed agent state: ``SyncTable.sync`` (in place) vs
    DataTable ``clear`` + re-add.
Then ``ROW {json}`` lines for ``bench/run``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stats import Series, row
from widgets.linetable import Column, SyncTable

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
    CSS = "SyncTable, DataTable { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield SyncTable(COLUMNS, id="sync")
        yield DataTable(id="plain")


async def main(n: int, reps: int) -> None:
    app = Bench()
    async with app.run_test(size=(120, 60)) as pilot:
        sync = app.query_one("#sync", SyncTable)
        plain = app.query_one("#plain", DataTable)
        plain.add_columns(*[c.key for c in COLUMNS])
        data = rows(n, 0)
        sync.sync(data)
        for key, cells in data:
            plain.add_row(*cells, key=key)
        await pilot.pause()
        f_ours, f_peer, r_ours, r_peer = Series(), Series(), Series(), Series()
        for rep in range(reps):
            word = "7" if rep % 2 else "3"
            keys = {key for key, cells in data if any(word in c for c in cells)}
            t = time.perf_counter()
            sync.set_filter(keys)
            await pilot.pause()
            f_ours.add(time.perf_counter() - t)
            t = time.perf_counter()
            plain.clear()
            plain.add_rows([cells for key, cells in data if key in keys])
            await pilot.pause()
            f_peer.add(time.perf_counter() - t)
            assert sync.row_count == plain.row_count == len(keys)

            data = rows(n, rep + 1)
            sync.set_filter(None)
            await pilot.pause()
            t = time.perf_counter()
            sync.sync(data)
            await pilot.pause()
            r_ours.add(time.perf_counter() - t)
            t = time.perf_counter()
            plain.clear()
            for key, cells in data:
                plain.add_row(*cells, key=key)
            await pilot.pause()
            r_peer.add(time.perf_counter() - t)
        print(f"{n} rows, {reps} interleaved reps")
        print(f"filter   SyncTable.set_filter        {f_ours}")
        print(f"filter   DataTable clear + re-add    {f_peer}")
        print(f"refresh  SyncTable.sync (1% changed) {r_ours}")
        print(f"refresh  DataTable clear + re-add    {r_peer}")
        row(f"table filter at {n:,} rows (widget)", f_ours, f_peer,
            peer_label="DataTable clear + re-add", goal_abs=0.050, key="table_filter_widget")
        row(f"table refresh at {n:,} rows, 1% changed (widget)", r_ours, r_peer,
            peer_label="DataTable clear + re-add", goal_ratio=1.0, key="table_refresh_widget")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    asyncio.run(main(args.rows, args.reps))
