"""The listing at the network limit: cspctl against ``cs`` and against a bare minimum client.

The lab (``large``: 50 zones, 5,000 system VMs) runs in its own process (``cspctl lab serve``)
with ``api_latency`` added to every request; every variant is a fresh process, as an operator
runs it, and the variants are interleaved, ``--reps`` times each (min and median printed):

* list 5,000 VMs: ``cspctl list systemvms --json`` vs ``cs`` ``listSystemVms(fetch_list=True)``
  (the peer, pages one after the other) vs the round-trip limit (a bare process: stdlib only,
  every page signed and sent at once on its own connection, rows not even parsed into objects);
* ``list zones --json`` cold: ``cspctl`` vs ``cs listZones`` (wall and CPU of the process).

Run: .venv/bin/python bench/bench_listing.py [--reps 5] [--latency 0.02]
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import Series, row  # noqa: E402

CS_LIST = """
import sys, cs
api = cs.CloudStack(endpoint=sys.argv[1], key=sys.argv[2], secret=sys.argv[3])
vms = api.listSystemVms(fetch_list=True)
assert len(vms) == int(sys.argv[4]), len(vms)
"""

LIMIT = """
import base64, hashlib, hmac, http.client, json, sys, threading, urllib.parse
url, key, secret, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlsplit(url)
pages = -(-total // 500)
rows = [0] * pages
def one(page):
    params = {"command": "listSystemVms", "page": str(page), "pagesize": "500",
              "response": "json", "apikey": key}
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='*')}" for k, v in sorted(params.items()))
    sig = base64.b64encode(hmac.new(secret.encode(), query.lower().encode(),
                                    hashlib.sha1).digest()).decode()
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.request("GET", f"{u.path}?{query}&signature={urllib.parse.quote(sig, safe='')}")
    body = conn.getresponse().read()
    rows[page - 1] = len(json.loads(body)["listsystemvmsresponse"]["systemvm"])
threads = [threading.Thread(target=one, args=(p,)) for p in range(1, pages + 1)]
for t in threads: t.start()
for t in threads: t.join()
assert sum(rows) == total, rows
"""


def run_process(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one child process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=300)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def start_lab(tmp: Path, latency: float) -> tuple[subprocess.Popen[str], dict[str, object]]:
    info = tmp / "lab.json"
    env = {**os.environ, "CSPCTL_CONFIG_DIR": str(tmp / "cfg"),
           "CSPCTL_STATE_DIR": str(tmp / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cspctl", "lab", "serve", "--scenario", "large",
         "--time-scale", "0.01", "--info", str(info), "--fault", f"api_latency={latency}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not info.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"lab serve did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
        time.sleep(0.05)
    time.sleep(0.2)
    return proc, json.loads(info.read_text())


def interleave(variants: dict[str, Callable[[], tuple[float, float]]], reps: int
               ) -> dict[str, list[tuple[float, float]]]:
    for fn in variants.values():  # warm the page cache and the lab's SSH-free paths
        fn()
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, fn in variants.items():
            out[name].append(fn())
    return out


def fmt(samples: list[tuple[float, float]], index: int = 0) -> str:
    values = [s[index] for s in samples]
    return f"min {min(values):6.3f} s, median {statistics.median(values):6.3f} s"


def med(samples: list[tuple[float, float]], index: int = 0) -> float:
    return statistics.median(s[index] for s in samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.02, help="API latency per request, s")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-listing-") as tmpdir:
        tmp = Path(tmpdir)
        lab, info = start_lab(tmp, args.latency)
        try:
            # as installed by pip: bytecode compiled once (cs's is, in site-packages), not
            # recompiled on every run as PYTHONDONTWRITEBYTECODE in a build shell would make it
            env = {**os.environ, "CSPCTL_CONFIG_DIR": str(tmp / "cfg"),
                   "CSPCTL_STATE_DIR": str(tmp / "state"), "PYTHONPATH": str(ROOT),
                   "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
                   "CLOUDSTACK_ENDPOINT": str(info["url"]), "CLOUDSTACK_KEY": str(info["apikey"]),
                   "CLOUDSTACK_SECRET": str(info["secretkey"])}
            env.pop("CSPCTL_PROFILE", None)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            creds = [str(info["url"]), str(info["apikey"]), str(info["secretkey"]), "5000"]
            py = sys.executable
            cspctl = [py, "-m", "cspctl", "--profile", "lab"]
            listing = interleave({
                "cspctl": lambda: run_process([*cspctl, "list", "systemvms", "--json"], env),
                "cs": lambda: run_process([py, "-c", CS_LIST, *creds], env),
                "limit": lambda: run_process([py, "-c", LIMIT, *creds], env),
            }, args.reps)
            zones = interleave({
                "cspctl": lambda: run_process([*cspctl, "list", "zones", "--json"], env),
                "cs": lambda: run_process([str(Path(py).with_name("cs")), "listZones"], env),
            }, args.reps)
        finally:
            lab.send_signal(signal.SIGINT)
            try:
                lab.wait(15)
            except subprocess.TimeoutExpired:
                lab.kill()
    ms = args.latency * 1000
    print(f"list 5,000 VMs, 50 zones, {ms:.0f} ms latency (process, {args.reps} reps, "
          "interleaved; lab in its own process)")
    for name, label in (("cspctl", "cspctl list systemvms --json"),
                        ("cs", "cs fetch_list (sequential pages)"),
                        ("limit", "round-trip limit (bare stdlib, all pages at once)")):
        print(f"  {label:<50} {fmt(listing[name])}")
    speed = med(listing["cs"]) / med(listing["cspctl"])
    to_limit = med(listing["cspctl"]) / med(listing["limit"])
    print(f"  ratio: {speed:.2f}x faster than cs (goal >= 3x: "
          f"{'met' if speed >= 3 else 'NOT met'}); {to_limit:.2f}x the limit (goal <= 1.5x: "
          f"{'met' if to_limit <= 1.5 else 'NOT met'})")
    print(f"`list zones --json` cold vs cs listZones ({args.reps} reps, interleaved)")
    for name, label in (("cspctl", "cspctl list zones --json"), ("cs", "cs listZones")):
        print(f"  {label:<50} wall {fmt(zones[name])}; CPU {fmt(zones[name], 1)}")
    wall = med(zones["cspctl"]) / med(zones["cs"])
    cpu = med(zones["cspctl"], 1) / med(zones["cs"], 1)
    print(f"  ratio: wall {wall:.2f}x, CPU {cpu:.2f}x cs (goal <= 1.0x: "
          f"{'met' if max(wall, cpu) <= 1.0 else 'NOT met'})")

    def series(samples: list[tuple[float, float]], index: int = 0) -> Series:
        return Series([s[index] for s in samples])

    row(f"list 5,000 VMs, 50 zones, {ms:.0f} ms latency (process)", series(listing["cspctl"]),
        series(listing["cs"]), peer_label="`cs` fetch_list", key="list_5000",
        goal_text="≥ 3x faster than `cs` (ratio ≤ 0.33x), ≤ 1.5x the limit",
        also=speed >= 3 and to_limit <= 1.5,
        note=f"{speed:.2f}x faster than cs; {to_limit:.2f}x the round-trip limit "
             f"({series(listing['limit']).text()})")
    row("`list zones --json` cold", series(zones["cspctl"]), series(zones["cs"]),
        peer_label="`cs listZones`", key="list_zones_cold", goal_ratio=1.0,
        also=cpu <= 1.0, note=f"CPU {series(zones['cspctl'], 1).text()} vs "
                              f"{series(zones['cs'], 1).text()} ({cpu:.2f}x)")


if __name__ == "__main__":
    main()
