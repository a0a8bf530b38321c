"""How fast the lab is ready and serves the ``large`` scenario (50 zones, 5,000 system VMs).

Prints figures and ratios against baselines run in the same script:
  * ``cspctl lab serve`` wall time until ``--info`` appears: healthy (baseline) vs large
    (claim: under 2 s for both);
  * in-process ``Lab(...).start()``: healthy vs large;
  * listing every system VM with the ``cs`` client (pages of 500): 2 VMs vs 5,000.

Run: .venv/bin/python bench/bench_lab_large.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def serve_ready(scenario: str, tmp: Path) -> float:
    """Seconds from process start to the --info file (the lab answers from then on)."""
    info = tmp / f"info-{scenario}-{time.monotonic_ns()}.json"
    env = {**os.environ, "CSPCTL_CONFIG_DIR": str(tmp / "cfg"),
           "CSPCTL_STATE_DIR": str(tmp / "state")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cspctl", "lab", "serve", "--scenario",
                             scenario, "--info", str(info), "--no-save"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while not info.exists():
        if proc.poll() is not None:
            raise SystemExit(f"lab serve {scenario} exited with {proc.returncode}")
        time.sleep(0.005)
    ready = time.perf_counter() - t0
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return ready


async def start_in_process(scenario: str) -> tuple[float, float, int]:
    """(build+start seconds, list-all seconds via cs, VMs listed)."""
    import cs

    from cspctl.lab import Lab

    t0 = time.perf_counter()
    lab = Lab(scenario, time_scale=0.01)
    await lab.start()
    started = time.perf_counter() - t0
    try:
        api = cs.CloudStack(endpoint=lab.url, key=lab.apikey, secret=lab.secretkey)
        loop = asyncio.get_running_loop()
        t1 = time.perf_counter()
        vms = await loop.run_in_executor(None, lambda: api.listSystemVms(fetch_list=True))
        listed = time.perf_counter() - t1
    finally:
        await lab.stop()
    return started, listed, len(vms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        base = [serve_ready("healthy", tmp) for _ in range(args.repeat)]
        large = [serve_ready("large", tmp) for _ in range(args.repeat)]
    b, lg = statistics.median(base), statistics.median(large)
    print(f"cspctl lab serve ready  healthy (baseline): {b:.3f} s   large: {lg:.3f} s   "
          f"ratio {lg / b:.2f}x   (claim: < 2 s; {'OK' if lg < 2 and b < 2 else 'MISSED'})")
    hs, hl, hn = asyncio.run(start_in_process("healthy"))
    ls, ll, ln = asyncio.run(start_in_process("large"))
    print(f"Lab.start() in process  healthy: {hs:.3f} s   large: {ls:.3f} s   "
          f"ratio {ls / hs:.1f}x")
    print(f"cs listSystemVms all    {hn} VMs: {hl:.3f} s   {ln} VMs: {ll:.3f} s   "
          f"ratio {ll / hl:.1f}x   ({ln / ll:.0f} VMs/s)")


if __name__ == "__main__":
    main()
