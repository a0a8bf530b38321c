"""Fetch 5,000 system VMs (10 pages of 500) from the loopback API server: sequential pages
(page_concurrency=1) vs concurrent pages, with a simulated per-request latency.

    .venv/bin/python bench/bench_pagination.py [--latency 0.05] [--vms 5000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cspctl.cloudstack import CloudStackClient
from tests.apiserver import APIKEY, SECRETKEY, ApiServer


async def fetch(srv: ApiServer, concurrency: int) -> tuple[float, int]:
    async with CloudStackClient(srv.url, apikey=APIKEY, secretkey=SECRETKEY,
                                page_concurrency=concurrency) as api:
        start = time.perf_counter()
        vms = await api.list_system_vms()
        elapsed = time.perf_counter() - start
    assert [vm.id for vm in vms] == [v["id"] for v in srv.systemvms], "incomplete or reordered"
    return elapsed, len(vms)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--latency", type=float, default=0.05, help="server latency per request, s")
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    async with ApiServer(n_systemvms=args.vms, latency=args.latency) as srv:
        await fetch(srv, args.concurrency)  # warm-up
        seq = min([(await fetch(srv, 1))[0] for _ in range(args.rounds)])
        con = min([(await fetch(srv, args.concurrency))[0] for _ in range(args.rounds)])
    pages = -(-args.vms // 500)
    print(f"{args.vms} system VMs, {pages} pages of 500, {args.latency * 1000:.0f} ms "
          f"latency per request, best of {args.rounds}")
    print(f"sequential  (page_concurrency=1): {seq:7.3f} s")
    print(f"concurrent  (page_concurrency={args.concurrency}): {con:7.3f} s")
    print(f"speed-up: {seq / con:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
