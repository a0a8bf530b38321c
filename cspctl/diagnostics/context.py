"""What a check sees while it runs: the VM, the API, bound command runners and shared caches."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cspctl.diagnostics.batch import ProbeBatch
from cspctl.diagnostics.model import Check, Evidence, Finding, Source, Status
from cspctl.gate import Gate

if TYPE_CHECKING:
    from cspctl.cloudstack.client import CloudStackClient
    from cspctl.cloudstack.models import SystemVm
    from cspctl.config import Profile
    from cspctl.ssh import CommandResult, Route, SshPool

T = TypeVar("T")

_KV_SECRET = re.compile(r"(?i)\b(vmpassword|password|passwd|secretkey|apikey)=(\S+)")


def redact_output(text: str, scrub: Callable[[str], str] | None = None) -> str:
    """Mask ``vmpassword=…`` style values (cmdline) and every secret the session knows."""
    text = _KV_SECRET.sub(lambda m: f"{m.group(1)}=***", text)
    return scrub(text) if scrub is not None else text


def _retrieved(fut: asyncio.Future[Any]) -> None:
    """Mark a shared future's failure as seen: the check that wanted it may have timed out
    and gone, and its error is already that check's finding (no "never retrieved" noise)."""
    if not fut.cancelled():
        fut.exception()


class RunCache:
    """Run-wide memo for API data (configurations, versions, hosts) shared by every VM.

    Concurrent callers of the same key share one request; a failure is remembered too, so an
    API that is down is asked once, not once per VM.
    """

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: str, loader: Callable[[], Awaitable[T]]) -> T:
        fut = self._futures.get(key)
        if fut is None:
            fut = asyncio.ensure_future(loader())
            fut.add_done_callback(_retrieved)
            self._futures[key] = fut
        return await asyncio.shield(fut)

    def cancel_pending(self) -> None:
        """Stop loads nobody waits for any more (the run was cancelled)."""
        cancel_pending(self._futures.values())


def cancel_pending(futures: Iterable[asyncio.Future[Any]]) -> None:
    for fut in futures:
        if not fut.done():
            fut.cancel()


@dataclass
class VmState:
    """Per-VM state shared by the checks of one VM: routes, reachability, facts, findings."""

    vm: SystemVm
    route: Route | None = None
    host_route: Route | None = None
    route_error: str | None = None
    vm_ssh_error: str | None = None
    """Why commands cannot run inside the VM (set by the reachability check)."""
    host_ssh_error: str | None = None
    findings: dict[str, Finding] = field(default_factory=dict)
    facts: dict[str, asyncio.Future[tuple[Any, list[Evidence]]]] = field(default_factory=dict)
    channels: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    """Bounds the SSH channels open at once on this VM's one connection."""
    batches: dict[Source, ProbeBatch] = field(default_factory=dict)
    """The plan's declared probes per place ("vm", "host"): sent in one script on first use."""


class CheckContext:
    """Handed to ``Check.run``: everything one check may use, recording its evidence."""

    def __init__(
        self,
        check: Check,
        state: VmState,
        *,
        api: CloudStackClient,
        ssh: SshPool | None,
        profile: Profile | None,
        cache: RunCache,
        timeout: float,
        clock: Callable[[], float] = time.time,
        scrub: Callable[[str], str] | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.check = check
        self.gate = gate or Gate()
        """A check that would write (a test file) asks :attr:`may_write` first."""
        self.state = state
        self.vm = state.vm
        self.api = api
        self.ssh = ssh
        self.profile = profile
        self.cache = cache
        self.timeout = timeout
        self.clock = clock
        self.scrub = scrub
        self.evidence: list[Evidence] = []

    # ---- evidence -------------------------------------------------------------------------
    def add_evidence(
        self,
        source: Source,
        command: str,
        output: str,
        exit_status: int | None = None,
        duration: float = 0.0,
        *,
        tail_only: bool = False,
    ) -> Evidence:
        ev = Evidence.make(source, redact_output(command, self.scrub),
                           redact_output(output, self.scrub), exit_status, duration,
                           tail_only=tail_only)
        self.evidence.append(ev)
        return ev

    def api_evidence(self, command: str, output: str, duration: float = 0.0) -> Evidence:
        """Record an API call (``listSystemVms id=…``) and the fields that mattered."""
        return self.add_evidence("api", command, output, None, duration)

    # ---- remote commands --------------------------------------------------------------------
    @property
    def may_write(self) -> bool:
        """False in read-only (or dry-run) mode: a check then skips its write test."""
        return self.gate.allows_writes()

    async def vm_write(self, command: str, *, timeout: float | None = None) -> CommandResult:
        """Run a command that changes something inside the VM (a write test); refused by the
        session's gate (:class:`~cspctl.gate.ReadOnlyRefused`) in read-only mode."""
        self.gate.check_shell(f"the diagnostic write test {command!r}")
        return await self.vm_run(command, timeout=timeout)

    @property
    def vm_reachable(self) -> bool:
        return self.state.route is not None and self.state.vm_ssh_error is None

    @property
    def host_reachable(self) -> bool:
        return self.state.host_route is not None and self.state.host_ssh_error is None

    async def vm_run(
        self, command: str, *, timeout: float | None = None, tail_only: bool = False
    ) -> CommandResult:
        """Run ``command`` inside the system VM over the pooled connection; recorded.

        ``tail_only``: long output is trimmed to its newest lines in the evidence (logs).
        """
        if self.state.route is None or self.ssh is None:
            raise RuntimeError(self.state.route_error or "no SSH route to the VM")
        return await self._run("vm", self.state.route, command, timeout, tail_only)

    async def host_run(self, command: str, *, timeout: float | None = None) -> CommandResult:
        """Run ``command`` on the hypervisor host running the VM; recorded."""
        if self.state.host_route is None or self.ssh is None:
            raise RuntimeError("no SSH route to the VM's host")
        return await self._run("host", self.state.host_route, command, timeout)

    async def _run(
        self, source: Source, route: Route, command: str, timeout: float | None,
        tail_only: bool = False,
    ) -> CommandResult:
        assert self.ssh is not None
        batch = self.state.batches.get(source)
        if batch is not None and command in batch:
            batched = await self._from_batch(batch, source, route, command)
            if batched is not None:
                return self._record_result(source, command, batched, tail_only)
        started = time.monotonic()
        try:
            async with self.state.channels:
                # the check's own timeout fires first; the pool's is a backstop
                result = await self.ssh.run(route, command, timeout=(timeout or self.timeout) + 1)
        except asyncio.CancelledError:
            self.add_evidence(source, command, "(no answer before the check's time limit)",
                              None, time.monotonic() - started)
            raise
        except Exception as exc:
            self.add_evidence(source, command, str(exc), None, time.monotonic() - started)
            raise
        return self._record_result(source, command, result, tail_only)

    def _record_result(self, source: Source, command: str, result: CommandResult,
                       tail_only: bool) -> CommandResult:
        output = result.stdout
        if result.stderr.strip():
            output = f"{output.rstrip()}\n{result.stderr.rstrip()}" if output.strip() else (
                result.stderr
            )
        self.add_evidence(source, command, output.rstrip("\n"), result.exit_status,
                          result.duration, tail_only=tail_only)
        return result

    async def _from_batch(self, batch: ProbeBatch, source: Source, route: Route,
                          command: str) -> CommandResult | None:
        """The probe's result from its VM's batch (sent now if it was not yet); None when the
        batch did not deliver it (the caller then runs it alone)."""
        ssh, state, limit = self.ssh, self.state, self.timeout + 1
        assert ssh is not None

        async def run(script: str, on_output: Callable[[str, str], None]) -> CommandResult:
            async with state.channels:
                return await ssh.run(route, script, timeout=limit, on_output=on_output)

        batch.start(run)
        started = time.monotonic()
        try:
            return await batch.result(command)
        except asyncio.CancelledError:
            self.add_evidence(source, command, "(no answer before the check's time limit)",
                              None, time.monotonic() - started)
            raise
        except Exception as exc:
            self.add_evidence(source, command, str(exc), None, time.monotonic() - started)
            raise

    # ---- shared caches ----------------------------------------------------------------------
    async def fact(self, key: str, loader: Callable[[CheckContext], Awaitable[T]]) -> T:
        """A per-VM fact (parsed cmdline, java pid...) computed once and shared between checks.

        The evidence gathered while computing it is attached to every check that uses it.
        """
        fut = self.state.facts.get(key)
        if fut is None:
            sub = CheckContext(
                self.check, self.state, api=self.api, ssh=self.ssh, profile=self.profile,
                cache=self.cache, timeout=self.timeout, clock=self.clock, scrub=self.scrub,
                gate=self.gate,
            )

            async def compute() -> tuple[Any, list[Evidence]]:
                value = await loader(sub)
                return value, sub.evidence

            fut = asyncio.ensure_future(compute())
            fut.add_done_callback(_retrieved)
            self.state.facts[key] = fut
        value, evidence = await asyncio.shield(fut)
        for ev in evidence:
            if ev not in self.evidence:
                self.evidence.append(ev)
        return cast(T, value)

    async def cached(self, key: str, loader: Callable[[], Awaitable[T]]) -> T:
        """Run-wide API data (one request per run, whatever the number of VMs)."""
        return await self.cache.get(key, loader)

    def finding_of(self, check_id: str) -> Finding | None:
        """The finding of another check on this VM, when it has finished."""
        return self.state.findings.get(check_id)

    @property
    def findings(self) -> dict[str, Finding]:
        return dict(self.state.findings)

    # ---- findings -----------------------------------------------------------------------------
    def _finding(self, status: Status, summary: str, **kw: Any) -> Finding:
        return Finding(
            check_id=self.check.id,
            title=self.check.title,
            status=status,
            summary=summary,
            evidence=list(self.evidence),
            **kw,
        )

    def ok(self, summary: str) -> Finding:
        return self._finding(Status.OK, summary)

    def warn(self, summary: str, advice: str, playbook: str | None = None) -> Finding:
        return self._finding(Status.WARN, summary, advice=advice, playbook=playbook)

    def fail(self, summary: str, advice: str, playbook: str | None = None) -> Finding:
        return self._finding(Status.FAIL, summary, advice=advice, playbook=playbook)

    def skip(self, reason: str) -> Finding:
        return self._finding(Status.SKIPPED, f"skipped: {reason}", reason=reason)

    def error(self, reason: str, advice: str | None = None) -> Finding:
        return self._finding(Status.ERROR, f"could not check: {reason}", reason=reason,
                             advice=advice)
