"""Diagnose a sample of the `large` lab's VMs at concurrency 1 and N; print times and ratio.

    .venv/bin/python bench/bench_diagnose.py [--vms 24] [--concurrency 8] [--delay 0.05]

``--delay`` is the lab's per-command SSH delay (fault injection), standing in for a real
network round trip. Prints wall time per run, commands per second and the speed-up.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import tempfile
import time


async def run_once(vms_n: int, concurrency: int, delay: float) -> tuple[float, int, str]:
    from cspctl.diagnostics import DiagnosisRunner, select_vms
    from cspctl.lab.faults import Faults
    from cspctl.lab.runner import Lab
    from cspctl.session import Session

    faults = Faults()
    if hasattr(faults, "ssh_command_delay"):
        faults.ssh_command_delay = delay
    async with Lab("large", time_scale=0.01, faults=faults) as lab:
        profile = dataclasses.replace(lab.profile(), host_key_policy="accept-new")
        async with Session.open(profile=profile) as session:
            vms = (await select_vms(session.api, zone="zone01"))[:vms_n]
            runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                                     journal=session.journal, concurrency=concurrency,
                                     timeout=30)
            started = time.perf_counter()
            diagnosis = await runner.run(vms)
            elapsed = time.perf_counter() - started
            commands = sum(1 for r in diagnosis.reports for f in r.findings
                           for e in f.evidence if e.source in ("vm", "host"))
            counts = lab.ssh.connection_counts if lab.ssh else {}
            per_vm = [n for k, n in counts.items() if k.startswith("vm:")]
            conns = f"{sum(per_vm)} VM connections, at most {max(per_vm, default=0)} per VM"
    return elapsed, commands, conns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=24)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--delay", type=float, default=0.05)
    args = ap.parse_args()
    os.environ.setdefault("CSPCTL_CONFIG_DIR", tempfile.mkdtemp(prefix="bench-cfg-"))
    os.environ.setdefault("CSPCTL_STATE_DIR", tempfile.mkdtemp(prefix="bench-state-"))
    base, cmds, conns1 = asyncio.run(run_once(args.vms, 1, args.delay))
    print(f"concurrency 1: {args.vms} VMs in {base:.2f} s ({cmds / base:.0f} commands/s, "
          f"{conns1})")
    fast, cmds, conns = asyncio.run(run_once(args.vms, args.concurrency, args.delay))
    print(f"concurrency {args.concurrency}: {args.vms} VMs in {fast:.2f} s "
          f"({cmds / fast:.0f} commands/s, {conns})")
    print(f"speed-up: {base / fast:.1f}x")


if __name__ == "__main__":
    main()
