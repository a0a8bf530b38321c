"""Fleets at the network limit: ``diagnose --all --limit 200`` against ``--limit 1`` (one VM,
the baseline), with SSH latency, wall time and CPU per VM of the cspctl process.

The lab (``large``) runs in its own process (``cspctl lab serve``), so its CPU is not counted
with the client's; ``ssh_command_delay`` and ``ssh_connect_delay`` add the latency to every
command and every connection. Variants interleaved, ``--reps`` times each; min and median.

Run: .venv/bin/python bench/bench_fleet.py [--reps 5] [--vms 200] [--latency 0.03]

Prints a ``ROW`` line (``bench/stats.py``) for ``bench/run``: the wall ratio and the CPU per VM
(the client's, ``--limit 200`` minus ``--limit 1``, over the extra VMs), both against their goals.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.labproc import start_lab  # noqa: E402
from bench.stats import Series, row  # noqa: E402


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def diagnose(env: dict[str, str], limit: int, lab_pid: int = 0
             ) -> tuple[float, float, int, float]:
    """(wall s, CPU s, VMs diagnosed, lab CPU s) of one ``cspctl diagnose --all --limit N``
    process."""
    lab_before = proc_cpu(lab_pid) if lab_pid else 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "cspctl", "--profile", "lab", "diagnose", "--all", "--limit",
         str(limit), "--json"], env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"diagnose --limit {limit} failed ({proc.returncode}): "
                         f"{proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    vms = [v for v in data["vms"] if v["type"] != "management"]
    errors = sum(1 for v in vms for f in v["findings"] if f["status"] == "error")
    if errors:
        print(f"  note: {errors} checks could not run in the --limit {limit} run",
              file=sys.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, len(vms), (proc_cpu(lab_pid) - lab_before) if lab_pid else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--vms", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.03, help="SSH latency, seconds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmpdir:
        tmp = Path(tmpdir)
        lab = start_lab(tmp, args.latency)
        env = {**os.environ, "CSPCTL_CONFIG_DIR": str(tmp / "cfg"),
               "CSPCTL_STATE_DIR": str(tmp / "state"), "PYTHONPATH": str(ROOT)}
        env.pop("CSPCTL_PROFILE", None)
        try:
            diagnose(env, args.vms)  # warm-up: the lab builds its VMs' SSH models on first use
            runs: dict[int, list[tuple[float, float, int, float]]] = {1: [], args.vms: []}
            for _ in range(args.reps):
                for limit in runs:
                    runs[limit].append(diagnose(env, limit, lab.pid))
        finally:
            lab.send_signal(signal.SIGINT)
            try:
                lab.wait(15)
            except subprocess.TimeoutExpired:
                lab.kill()
    one, many = runs[1], runs[args.vms]
    n = many[0][2]

    def stats(samples: list[tuple[float, float, int, float]], i: int) -> str:
        values = [s[i] for s in samples]
        return f"min {min(values):6.2f} s, median {statistics.median(values):6.2f} s"

    ms = args.latency * 1000
    print(f"`diagnose --all --limit {args.vms}` vs `--limit 1`, {ms:.0f} ms SSH latency "
          f"({args.reps} reps, interleaved; lab in its own process)")
    print(f"  --limit 1   ({one[0][2]} VM):  wall {stats(one, 0)}; CPU {stats(one, 1)}; "
          f"lab CPU {stats(one, 3)}")
    print(f"  --limit {args.vms} ({n} VMs): wall {stats(many, 0)}; CPU {stats(many, 1)}; "
          f"lab CPU {stats(many, 3)}")
    ratio = statistics.median(s[0] for s in many) / statistics.median(s[0] for s in one)
    per_vm = (statistics.median(s[1] for s in many)
              - statistics.median(s[1] for s in one)) / max(1, n - 1) * 1000
    print(f"  ratio: {ratio:.1f}x (goal <= 3x: {'met' if ratio <= 3 else 'NOT met'}); "
          f"CPU per VM {per_vm:.0f} ms (goal <= 15 ms: {'met' if per_vm <= 15 else 'NOT met'})")
    lab_share = statistics.median(s[3] for s in many) / statistics.median(s[0] for s in many)
    print(f"  the lab process was busy {lab_share:.0%} of the --limit {args.vms} wall time "
          "(2 cores shared by client, lab and anything else running)")
    lab_per_vm = (statistics.median(s[3] for s in many)
                  - statistics.median(s[3] for s in one)) / max(1, n - 1) * 1000
    load = os.getloadavg()[0]
    row(f"`diagnose --all --limit {args.vms}` vs `--limit 1`, {ms:.0f} ms SSH latency",
        Series([s[0] for s in many]), Series([s[0] for s in one]), peer_label="one VM",
        key="diagnose_limit", goal_text="≤ 3x; ≤ 15 ms CPU per VM",
        also=ratio <= 3 and per_vm <= 15,
        note=f"CPU per VM {per_vm:.0f} ms (client; the lab {lab_per_vm:.0f} ms); "
             f"load average {load:.1f}")


if __name__ == "__main__":
    main()
