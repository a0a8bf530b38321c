"""Zone diagnosis in the console (headless, driven by Pilot) vs the CLI (``cspctl diagnose
--zone``), same lab, same profile, same engine.

The lab (``large``, a zone of 100 system VMs) runs in its own process (``cspctl lab serve``)
with ``--latency`` added to every SSH connection and command. Each repetition: the console
(already showing the zone) gets ``D`` and is timed until its diagnosis tab says done; then the
CLI diagnoses the same zone in its own process. Interleaved, ``--reps`` times; min and median.

The headless figure is the CLI's own diagnosis time (the ``duration`` it reports: from its
first check to its last), which is what the console's "``D`` → done" is compared with; the
CLI process's whole wall time (start-up and listing included) is printed as well.

Run: .venv/bin/python bench/bench_console_diagnose.py [--reps 5] [--latency 0.03]
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.labproc import start_lab  # noqa: E402
from bench.stats import Series, row  # noqa: E402


def cli_zone(env: dict[str, str], zone: str) -> tuple[float, float, int]:
    """(diagnosis seconds as the CLI reports them, process wall seconds, checks that could
    not run) of one ``cspctl diagnose --zone ZONE`` process."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "cspctl", "--profile", "lab", "diagnose", "--zone", zone,
         "--json"], env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"diagnose --zone {zone} failed ({proc.returncode}): "
                         f"{proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    return float(data["duration"]), wall, int(data["could_not_run"])


class Console:
    """One console on the lab's profile, showing the first zone; ``zone()`` diagnoses it."""

    def __init__(self) -> None:
        from tests.tui_helpers import fixed_settings
        from tui.app import CspctlApp
        from tui.backend import Backend

        settings = fixed_settings()

        async def opener() -> Backend:
            return await Backend.open_profile("lab", settings=settings)

        self.app = CspctlApp(opener, settings=settings)
        self.vms = 0
        self._context: Any = None
        self.pilot: Any = None

    async def __aenter__(self) -> Console:
        from tests.tui_helpers import loaded

        self._context = self.app.run_test(size=(160, 50))
        self.pilot = await self._context.__aenter__()
        await loaded(self.pilot, timeout=180)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(*exc)

    async def zone(self) -> tuple[float, float, int, str]:
        """(wall s, this process's CPU s, checks that could not run, zone name) of ``D`` →
        the diagnosis tab done."""
        from tests.tui_helpers import until
        from tui.diag_pane import DiagnosticsPane

        app, pilot = self.app, self.pilot
        before = set(app.query(DiagnosticsPane))  # the previous rep's tab: D replaces it
        zone_id = app.overview.selected_zone()
        zone = next(z.name for z in app.snapshot.zones if z.id == zone_id)
        self.vms = len(app.snapshot.vms_in(zone_id))
        t0, c0 = time.perf_counter(), time.process_time()
        await pilot.press("D")
        await until(pilot, lambda: any(p.state in ("done", "failed")
                                       for p in app.query(DiagnosticsPane) if p not in before),
                    timeout=900, what="zone diagnosis done")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        pane = next(p for p in app.query(DiagnosticsPane) if p not in before)
        assert pane.state == "done", pane.state
        steps = len(pane.steps.steps)
        assert steps > 10 * len(pane.vms), steps
        return wall, cpu, pane.diagnosis.could_not_run, zone  # type: ignore[attr-defined]


async def main(reps: int, latency: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-console-diag-") as tmpdir:
        tmp = Path(tmpdir)
        lab = start_lab(tmp, latency)
        os.environ["CSPCTL_CONFIG_DIR"] = str(tmp / "cfg")
        os.environ["CSPCTL_STATE_DIR"] = str(tmp / "state")
        os.environ.pop("CSPCTL_PROFILE", None)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        console, cli, cli_wall, cpu = Series(), Series(), Series(), Series()
        unknown = {"console": 0, "cli": 0}
        try:
            async with Console() as app:
                # warm-up: the lab builds its VMs' SSH models on first use
                _, _, _, zone = await app.zone()
                for _ in range(reps):  # interleaved: console, CLI, console, CLI, ...
                    wall, used, could_not, zone = await app.zone()
                    console.add(wall)
                    cpu.add(used)
                    unknown["console"] += could_not
                    took, whole, could_not = cli_zone(env, zone)
                    cli.add(took)
                    cli_wall.add(whole)
                    unknown["cli"] += could_not
        finally:
            lab.send_signal(signal.SIGINT)
            try:
                lab.wait(15)
            except subprocess.TimeoutExpired:
                lab.kill()
    ms = latency * 1000
    vms = app.vms
    print(f"zone diagnosis, {vms} VMs, {ms:.0f} ms SSH latency ({reps} reps, interleaved; "
          "lab in its own process)")
    print(f"  console (D -> done)        {console}; CPU {cpu}")
    print(f"  CLI (its diagnosis time)   {cli}")
    print(f"  CLI (whole process)        {cli_wall}")
    print(f"  checks that could not run: console {unknown['console']}, CLI {unknown['cli']} "
          "(over every rep)")
    row("zone diagnosis in the console vs headless", console, cli,
        peer_label="headless (`cspctl diagnose --zone`, its diagnosis time)",
        key="zone_diag_console", goal_ratio=1.2,
        also=unknown["console"] <= unknown["cli"],
        note=f"{vms} VMs, {ms:.0f} ms SSH latency; CLI process wall {cli_wall.text()}; "
             f"checks that could not run: console {unknown['console']}, "
             f"CLI {unknown['cli']}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.03, help="SSH latency, seconds")
    args = ap.parse_args()
    asyncio.run(main(args.reps, args.latency))
