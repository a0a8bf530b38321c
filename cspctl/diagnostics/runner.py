"""Run the catalogue on one VM, a zone or every system VM; stream progress; journal it all.

The events and reports it produces live in :mod:`cspctl.diagnostics.results` (re-exported here).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cspctl.cloudstack.models import SystemVm
from cspctl.diagnostics.batch import ProbeBatch
from cspctl.diagnostics.checks import CATALOGUE
from cspctl.diagnostics.context import CheckContext, RunCache, VmState, cancel_pending
from cspctl.diagnostics.model import MGMT_TYPE, Check, Finding, Need, Status
from cspctl.diagnostics.results import (
    DiagEvent,
    Diagnosis,
    OnEvent,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    VmReport,
)
from cspctl.errors import CspctlError
from cspctl.gate import Gate

if TYPE_CHECKING:
    from cspctl.cloudstack.client import CloudStackClient
    from cspctl.config import Profile
    from cspctl.sessionlog import Journal
    from cspctl.ssh import SshPool

__all__ = [
    "DEFAULT_CONCURRENCY", "DiagEvent", "Diagnosis", "DiagnosisRunner", "OnEvent", "RunFinished",
    "RunStarted", "StepFinished", "StepStarted", "VmReport", "check_order", "management_target",
]

SSH_CHECK = "ssh"
MGMT_ID = "management-server"
DEFAULT_CONCURRENCY = 32
"""VMs diagnosed at once, by the CLI and the console alike: sized for fleets (each VM is one
SSH connection, a channel on its host's connection, and a few round trips)."""


def management_target() -> SystemVm:
    """The pseudo target the management-server checks run on (``include_mgmt=True``)."""
    return SystemVm.from_api({"id": MGMT_ID, "name": MGMT_ID, "systemvmtype": MGMT_TYPE,
                               "state": "Running"})


def check_order(checks: Sequence[Check]) -> None:
    """Refuse duplicate ids and ``after`` cycles (they would wait forever)."""
    ids = [c.id for c in checks]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate check ids: {', '.join(sorted(dupes))}")
    graph = {c.id: DiagnosisRunner._deps(c, set(ids)) for c in checks}
    finals = {c.id for c in checks if "*" in c.after}
    for cid in finals:
        graph[cid] |= set(ids) - finals
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = [*path[path.index(node):], node]
            raise ValueError(f"check order cycle: {' -> '.join(cycle)}")
        state[node] = 1
        for dep in sorted(graph[node]):
            visit(dep, [*path, node])
        state[node] = 2

    for cid in ids:
        visit(cid, [])


# ---- the runner ----------------------------------------------------------------------------
class DiagnosisRunner:
    """Runs checks per VM (concurrently where independent) and VMs with a concurrency bound.

    One SSH connection per VM: every command of every check goes through ``ssh`` (the session's
    pool) on the same route. ``timeout`` bounds each check; a check that exceeds it becomes
    ``error`` and the others still run.
    """

    def __init__(
        self,
        api: CloudStackClient,
        ssh: SshPool | None,
        profile: Profile | None,
        *,
        journal: Journal | None = None,
        checks: Sequence[Check] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = 20.0,
        use_ssh: bool = True,
        channels_per_vm: int = 4,
        on_event: OnEvent | None = None,
        clock: Callable[[], float] = time.time,
        gate: Gate | None = None,
    ) -> None:
        self.api = api
        # the session's gate, which its API client carries: read-only skips write tests
        self.gate = gate or getattr(api, "gate", None) or Gate()
        self.ssh = ssh
        self.profile = profile
        self.journal = journal
        self.checks = tuple(checks if checks is not None else CATALOGUE)
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.use_ssh = use_ssh and ssh is not None
        self.channels_per_vm = channels_per_vm
        self.on_event = on_event
        self.clock = clock
        self.cache = RunCache()
        self.run_id = uuid.uuid4().hex[:8]
        check_order(self.checks)

    @classmethod
    def for_session(cls, session: Any, *, use_ssh: bool = True, **kw: Any) -> DiagnosisRunner:
        """The runner for a session's API, SSH pool, profile and journal: the one path the
        CLI and the console both take."""
        return cls(session.api, session.ssh if use_ssh else None, session.profile,
                   journal=session.journal, use_ssh=use_ssh, **kw)

    async def _emit(self, event: DiagEvent) -> None:
        if self.on_event is None:
            return
        try:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # a broken listener must never break the diagnosis
            self._record("diag.listener_error", error=f"{type(exc).__name__}: {exc}")

    def _record(self, event: str, **fields: Any) -> None:
        """Journal one event of this run (the journal writes without waiting for the disk)."""
        if self.journal is not None:
            self.journal.record(event, run_id=self.run_id, **fields)

    def _record_soon(self, event: str, **fields: Any) -> None:
        """Journal one of this run's many findings: held briefly and written with others (a
        bounded delay; the run's end, a cancellation and exit write them)."""
        if self.journal is not None:
            self.journal.record_soon(event, run_id=self.run_id, **fields)

    async def run(self, vms: Iterable[SystemVm], *, include_mgmt: bool = False) -> Diagnosis:
        """Diagnose these VMs (at most ``concurrency`` at a time); journalled start to end.

        ``include_mgmt``: also run the management-server checks, reported first as the
        target ``management-server``.
        """
        vms = list(vms)
        if include_mgmt and any(c.applies(MGMT_TYPE) for c in self.checks):
            vms.insert(0, management_target())
        started = time.monotonic()
        names = [vm.name for vm in vms]
        self._record(
            "diag.start",
            vms=names if len(names) <= 50 else [*names[:50], f"… {len(names) - 50} more"],
            count=len(vms),
            checks=[c.id for c in self.checks],
            concurrency=self.concurrency,
            timeout=self.timeout,
            ssh=self.use_ssh,
            read_only=not self.gate.allows_writes(),
        )
        sem = asyncio.Semaphore(self.concurrency)

        async def bounded(vm: SystemVm) -> VmReport:
            async with sem:
                return await self._run_vm(vm)

        try:
            reports = list(await asyncio.gather(*(bounded(vm) for vm in vms)))
        except asyncio.CancelledError:
            self.cache.cancel_pending()  # stopped (Ctrl+C, SIGTERM): no load goes on
            raise
        finally:
            if self.journal is not None:
                self.journal.flush()  # every finding so far is in the journal
        diagnosis = Diagnosis(self.run_id, reports, time.monotonic() - started)
        self._record(
            "diag.end",
            status=diagnosis.status.value,
            exit_code=diagnosis.exit_code,
            counts=diagnosis.counts(),
            duration=round(diagnosis.duration, 3),
        )
        return diagnosis

    async def run_vm(self, vm: SystemVm) -> VmReport:
        """Diagnose a single VM (journalled as a run of one)."""
        return (await self.run([vm])).reports[0]

    # -- one VM ---------------------------------------------------------------------------------
    def _plan(self, vm: SystemVm) -> list[Check]:
        return [c for c in self.checks if c.applies(vm.systemvmtype)]

    @staticmethod
    def _deps(check: Check, ids: set[str]) -> set[str]:
        deps: set[str] = set()
        for dep in check.after:
            if dep == "*":
                continue
            deps.add(dep)
        if (Need.VM_SSH in check.needs or Need.HOST_SSH in check.needs) and check.id != SSH_CHECK:
            deps.add(SSH_CHECK)
        return deps & ids - {check.id}

    async def _run_vm(self, vm: SystemVm) -> VmReport:
        plan = self._plan(vm)
        ids = {c.id for c in plan}
        vm_id = vm.id or vm.name or "?"
        state = VmState(vm, channels=asyncio.Semaphore(self.channels_per_vm))
        # every declared probe of the plan goes out in one round trip per place
        state.batches = {"vm": ProbeBatch([p for c in plan for p in c.probes]),
                         "host": ProbeBatch([p for c in plan for p in c.host_probes])}
        if vm.systemvmtype == MGMT_TYPE:
            state.vm_ssh_error = state.host_ssh_error = "not a system VM"
        elif not self.use_ssh:
            state.vm_ssh_error = "SSH not used for this run (--no-ssh)"
            state.host_ssh_error = state.vm_ssh_error
        started = time.monotonic()
        await self._emit(RunStarted(vm, tuple(c.id for c in plan)))
        done = {c.id: asyncio.Event() for c in plan}
        finals = {c.id for c in plan if "*" in c.after}

        async def one(check: Check) -> None:
            deps = self._deps(check, ids)
            if check.id in finals:
                deps |= ids - finals
            for dep in deps:
                await done[dep].wait()
            try:
                finding = await self._run_check(check, state, vm_id)
            finally:
                done[check.id].set()
            state.findings[check.id] = finding

        try:
            await asyncio.gather(*(one(c) for c in plan))
        finally:  # a shared fact nobody waits for any more stops with the VM's checks
            cancel_pending(state.facts.values())
            # and a script still running stops (and is journalled) before the run ends
            await state.aclose()
        findings = [state.findings[c.id] for c in plan]
        report = VmReport(
            vm,
            findings,
            list(state.route.describe()) if state.route is not None else [],
            time.monotonic() - started,
        )
        await self._emit(RunFinished(vm_id, tuple(findings)))
        return report

    def _unmet(self, check: Check, state: VmState) -> str | None:
        if check.id == SSH_CHECK:
            return None
        if Need.VM_SSH in check.needs and (state.vm_ssh_error or state.route is None):
            return state.vm_ssh_error or state.route_error or "no SSH route to the VM"
        if Need.HOST_SSH in check.needs and (state.host_ssh_error or state.host_route is None):
            return state.host_ssh_error or "no SSH route to the VM's host"
        return None

    async def _run_check(self, check: Check, state: VmState, vm_id: str) -> Finding:
        ctx = CheckContext(
            check, state, api=self.api, ssh=self.ssh, profile=self.profile, cache=self.cache,
            timeout=self.timeout, clock=self.clock,
            scrub=self.journal.scrub if self.journal is not None else None, gate=self.gate,
        )
        await self._emit(StepStarted(vm_id, check.id, check.title))
        started = time.monotonic()
        reason = self._unmet(check, state)
        if reason is not None:
            ssh = state.findings.get(SSH_CHECK)
            # SSH could not even be checked (API error, timeout, drop): this check could not
            # run either, which is an error to count, not a deliberate skip
            could_not = ssh is not None and ssh.status is Status.ERROR
            finding = ctx.error(reason) if could_not else ctx.skip(reason)
        else:
            try:
                finding = await asyncio.wait_for(check.run(ctx), self.timeout)
            except TimeoutError:
                finding = ctx.error(f"timed out after {self.timeout:g} s")
            except CspctlError as exc:
                finding = ctx.error(str(exc))
            except Exception as exc:  # a broken check must not stop the others
                finding = ctx.error(f"internal error in check {check.id}: "
                                    f"{type(exc).__name__}: {exc}")
        finding = dataclasses.replace(finding, duration=time.monotonic() - started)
        if check.id == SSH_CHECK and finding.status is not Status.OK:
            # whatever went wrong (even a timeout), don't let every in-VM check hang on it too
            why = finding.reason or finding.summary
            if finding.status is Status.ERROR:
                why = f"SSH access to {state.vm.name}: {why}"
            state.vm_ssh_error = state.vm_ssh_error or why
            state.host_ssh_error = state.host_ssh_error or why
        self._record_soon(
            "diag.finding",
            vm=state.vm.name,
            vm_id=state.vm.id,
            vm_type=state.vm.short_type,
            check_id=finding.check_id,
            title=finding.title,
            status=finding.status.value,
            summary=finding.summary,
            playbook=finding.playbook,
            reason=finding.reason,
            # a problem carries its evidence and advice: the incident report shows them
            **({"advice": finding.advice,
                "evidence": [e.to_dict() for e in finding.evidence]}
               if finding.status in (Status.FAIL, Status.WARN, Status.ERROR) else {}),
        )
        await self._emit(StepFinished(vm_id, finding))
        return finding
