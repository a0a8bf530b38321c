"""The console at 5,000 system VMs, against a plain Textual DataTable app (the peer).

Run: .venv/bin/python bench/bench_console.py [--reps 5]

The labs (``seed`` and ``large``) run as ``cspctl lab serve`` processes, so their CPU does not
mix with the console's. Variants are interleaved, each measured ``--reps`` times; min and
median are printed, then ``ROW {json}`` lines for ``bench/run``:

* launch → first VM row on screen (headless, 120x40): the console on ``large`` vs on
  ``seed``, and a plain DataTable app listing the first zone of ``large`` (the peer);
* ``/`` + one key with "all zones" (5,000 rows) in the console, vs a plain DataTable showing
  the same rows filtered by clear + re-add (the peer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stats import Series, row


def serve(scenario: str, tmp: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    info = tmp / f"info-{scenario}.json"
    env = {**os.environ, "CSPCTL_CONFIG_DIR": str(tmp / "cfg"),
           "CSPCTL_STATE_DIR": str(tmp / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "cspctl", "lab", "serve", "--scenario",
                             scenario, "--info", str(info), "--no-save"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not info.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"lab serve {scenario} did not start")
        time.sleep(0.02)
    return proc, json.loads(info.read_text())


def profile(info: dict[str, Any]) -> Any:
    from cspctl.config import Profile

    return Profile(name=f"bench-{info['scenario']}", source=None, url=info["url"],
                   apikey=info["apikey"], secretkey=info["secretkey"],
                   ssh_key=Path(info["ssh_key"]), ssh_user=info["ssh_user"],
                   ssh_port=info["ssh_port"] or 22, known_hosts=Path(info["known_hosts"]),
                   host_key_policy="accept-new", access={"kvm": "linklocal"}, is_lab=True)


def console(info: dict[str, Any]) -> Any:
    from cspctl.session import Session
    from tests.tui_helpers import fixed_settings
    from tui.app import CspctlApp
    from tui.backend import Backend

    settings = fixed_settings()

    async def opener() -> Backend:
        return Backend(Session.open(profile=profile(info)), settings=settings)

    return CspctlApp(opener, settings=settings)


def vm_row_drawn(app: Any) -> bool:
    """A VM row of the table is on screen in full (name, type, state and agent): any of the
    rows in view, not only the first (rows arriving page by page move the first one)."""
    from tests.tui_helpers import screen_text

    table = app.overview.table
    if not table.row_count:
        return False
    lines = screen_text(app).splitlines()
    keys = table.shown_columns
    for index in range(min(table.row_count, 40)):
        wanted = [cell for key, cell in zip(keys, table.get_row_at(index), strict=False)
                  if key in ("name", "type", "state", "agent")]
        if any(all(w in line for w in wanted) for line in lines):
            return True
    return False


async def launch_console(info: dict[str, Any], complete: Series | None = None) -> float:
    """Seconds until the first VM row is on screen (the first pages of a large listing are
    shown while the rest arrive); ``complete`` gets the time until every row is in."""
    from tests.tui_helpers import loaded

    t0 = time.perf_counter()
    app = console(info)
    async with app.run_test(size=(120, 40)) as pilot:
        # polled on the event loop itself: Pilot.pause() would wait for the app to be idle,
        # which it is not while the other pages of the listing arrive
        deadline = time.monotonic() + 120
        while not vm_row_drawn(app):
            if time.monotonic() > deadline:
                raise SystemExit("no VM row on screen within 120 s")
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        await loaded(pilot, timeout=120)
        if complete is not None:
            complete.add(time.perf_counter() - t0)
    return elapsed


def plain_table_app(info: dict[str, Any]) -> Any:
    """The peer: list the first zone's system VMs into a DataTable, nothing else."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from cspctl.cloudstack import CloudStackClient

    class Plain(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="t")

        async def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("Name", "Type", "State", "Agent", "Host", "Private IP")
            async with CloudStackClient(info["url"], apikey=info["apikey"],
                                        secretkey=info["secretkey"]) as api:
                zones = await api.list_zones()
                vms = await api.list_system_vms(zoneid=zones[0].id)
            table.add_rows([(vm.name or "", vm.short_type, vm.state or "", vm.agentstate or "",
                             vm.hostname or "", vm.privateip or "") for vm in vms])
            self.first_row = vms[0].name if vms else ""

    return Plain()


async def launch_plain(info: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    app = plain_table_app(info)
    async with app.run_test(size=(120, 40)) as pilot:
        while not getattr(app, "first_row", None) or not any(
                app.first_row in strip.text
                for strip in app.screen._compositor.render_strips()):
            await pilot.pause(0.005)
        elapsed = time.perf_counter() - t0
    return elapsed


async def filter_console(info: dict[str, Any], reps: int, key: str,
                         peer: Callable[[], Awaitable[float]], peer_series: Series,
                         series: Series, cpu: Series) -> None:
    """One console, all zones; each rep: Esc, then ``/`` + ``key`` timed to the repaint.
    The peer runs between reps (interleaved)."""
    from tests.tui_helpers import loaded, until

    app = console(info)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, timeout=120)
        table = app.overview.table
        await pilot.press("z", "home")
        await until(pilot, lambda: table.row_count == 5000, timeout=120, what="all zones")
        table.focus()
        await pilot.pause()
        for _ in range(reps):
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("slash")
            await pilot.pause()
            t0, c0 = time.perf_counter(), time.process_time()
            await pilot.press(key)
            await pilot.pause()  # the repaint that follows the key
            series.add(time.perf_counter() - t0)
            cpu.add(time.process_time() - c0)
            assert 0 < table.row_count < 5000
            peer_series.add(await peer())


def rows_5000() -> list[tuple[str, ...]]:
    return [(f"v-{i}-VM", "CPVM" if i % 2 else "SSVM", "Running",
             "Up" if i % 37 else "Disconnected", f"kvm{i % 50:02d}",
             f"10.{i // 65536}.{i // 256 % 256}.{i % 256}") for i in range(5000)]


async def datatable_filter_factory() -> tuple[Callable[[], Awaitable[float]], Any]:
    """A plain DataTable app holding 5,000 rows; the returned call filters by clear + re-add."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Plain(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="t")

    data = rows_5000()
    app = Plain()
    context = app.run_test(size=(120, 40))
    pilot = await context.__aenter__()
    table = app.query_one(DataTable)
    table.add_columns("Name", "Type", "State", "Agent", "Host", "IP")
    table.add_rows(data)
    await pilot.pause()
    flip = [False]

    async def run() -> float:
        flip[0] = not flip[0]
        key = "7" if flip[0] else "3"
        t0 = time.perf_counter()
        table.clear()
        table.add_rows([r for r in data if any(key in c for c in r)])
        await pilot.pause()
        return time.perf_counter() - t0

    return run, context


async def main(reps: int) -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        os.environ.setdefault("CSPCTL_CONFIG_DIR", str(tmp / "client-cfg"))
        os.environ.setdefault("CSPCTL_STATE_DIR", str(tmp / "client-state"))
        procs = []
        try:
            seed_proc, seed = serve("seed", tmp)
            procs.append(seed_proc)
            large_proc, large = serve("large", tmp)
            procs.append(large_proc)
            launch = {"seed": Series(), "large": Series(), "peer": Series()}
            whole = Series()
            for _ in range(reps):  # interleaved: seed, large, peer, seed, large, peer, ...
                launch["seed"].add(await launch_console(seed))
                launch["large"].add(await launch_console(large, whole))
                launch["peer"].add(await launch_plain(large))
            for name, s in launch.items():
                print(f"launch -> first VM row  {name:5s}  {s}")
            print(f"launch -> all 5,000 rows in  large  {whole}")
            row("launch → first VM row, `large` vs `seed` (headless)", launch["large"],
                launch["seed"], peer_label="seed", goal_ratio=1.2, key="launch",
                note=f"plain DataTable app (first zone of large): {launch['peer'].text()}; "
                     f"every row of large in: {whole.text()}")

            peer_run, peer_ctx = await datatable_filter_factory()
            try:
                ours, peer, cpu = Series(), Series(), Series()
                await filter_console(large, reps, "7", peer_run, peer, ours, cpu)
            finally:
                await peer_ctx.__aexit__(None, None, None)
            print(f"/ + one key, 5,000 rows  console {ours}")
            print(f"clear + re-add, 5,000    DataTable {peer}")
            row("`/` + one key at 5,000 rows (console, headless)", ours, peer,
                peer_label="DataTable clear + re-add", goal_abs=0.050, key="console_filter",
                note=f"CPU per keystroke: {cpu}")
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    asyncio.run(main(ap.parse_args().reps))
