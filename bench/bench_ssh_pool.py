"""SSH pool vs a new connection per command, against a real OpenSSH sshd on loopback.

    .venv/bin/python bench/bench_ssh_pool.py [--commands 50] [--jump]

Baseline: every command opens (and closes) its own connection, as chained ``ssh`` invocations
do. Pooled: one connection, reused by every command (sequential, then concurrent). ``--jump``
routes through a first sshd (host hop) to a second one (system VM hop). Prints wall time,
commands per second, the number of connections the server accepted, and the speed-ups.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cspctl.ssh import Hop, HostKeyStore, Route, SshPool
from tests.sshd import SshdServer, keygen


def make_route(vm: SshdServer, key: Path, host: SshdServer | None, kh: Path) -> Route:
    vm_hop = Hop("systemvm", "127.0.0.1", vm.port, "root", name="v-1-VM", keys=(str(key),))
    if host is None:
        return Route("bench-vm", "v-1-VM", "direct", (vm_hop,))
    host_hop = Hop("host", "127.0.0.1", host.port, "root", name="kvm-01", keys=(str(key),),
                   known_hosts=str(kh))
    return Route("bench-vm", "v-1-VM", "linklocal", (host_hop, vm_hop))


async def timed(label: str, n: int, coro_factory, servers: list[SshdServer]) -> float:
    before = sum(s.accepted_count() for s in servers)
    t0 = time.perf_counter()
    await coro_factory()
    dt = time.perf_counter() - t0
    conns = sum(s.accepted_count() for s in servers) - before
    print(f"{label:<28} {dt:7.3f} s  {n / dt:8.1f} cmd/s  {conns:4d} connections")
    return dt


async def main(n: int, jump: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cspctl-bench-ssh-"))
    os.environ.setdefault("CSPCTL_CONFIG_DIR", str(tmp / "config"))
    key = keygen(tmp / "id_bench")
    vm = SshdServer(tmp / "vm", [key])
    host = SshdServer(tmp / "host", [key]) if jump else None
    servers = [s for s in (vm, host) if s is not None]
    for s in servers:
        s.start()
    kh = tmp / "known_hosts"
    kh.write_text(host.known_hosts_line() if host else "")
    route = make_route(vm, key, host, kh)
    store = HostKeyStore(tmp / "known_systemvms.json")
    try:
        async def baseline() -> None:
            for i in range(n):
                async with SshPool(hostkeys=store, policy="accept-new") as pool:
                    await pool.run(route, f"echo {i}")

        async def pooled() -> None:
            async with SshPool(hostkeys=store, policy="accept-new") as pool:
                for i in range(n):
                    await pool.run(route, f"echo {i}")

        async def pooled_concurrent() -> None:
            async with SshPool(hostkeys=store, policy="accept-new") as pool:
                await asyncio.gather(*(pool.run(route, f"echo {i}") for i in range(n)))

        print(f"{n} commands, route: {route.summary()}")
        base = await timed("new connection per command", n, baseline, servers)
        seq = await timed("pool, sequential", n, pooled, servers)
        conc = await timed("pool, concurrent", n, pooled_concurrent, servers)
        print(f"speed-up pool sequential vs baseline: {base / seq:5.1f}x")
        print(f"speed-up pool concurrent vs baseline: {base / conc:5.1f}x")
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commands", type=int, default=50)
    ap.add_argument("--jump", action="store_true", help="go through a host hop")
    a = ap.parse_args()
    asyncio.run(main(a.commands, a.jump))
