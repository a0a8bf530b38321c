"""What a step sees while it runs: the VM, the API, SSH into the VM and its host, job follow-up.

Every command and API call goes through the session (so it is journalled); long waits report
progress with elapsed time and the deadline; every wait is bounded by the run's ``timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cspctl.repair.events import RepairEvent, StepProgress
from cspctl.repair.model import StepFailed
from cspctl.text import safe_line
from cspctl.versions import parse_version

if TYPE_CHECKING:
    from cspctl.cloudstack.models import AsyncJob, SystemVm
    from cspctl.gate import Gate
    from cspctl.repair.model import Ask
    from cspctl.repair.settle import Settle
    from cspctl.session import Session
    from cspctl.ssh import CommandResult, Route

POLL_SECONDS = 2.0
"""How often the agent state is polled while waiting for it (real seconds)."""
COMMAND_TIMEOUT = 120.0


class RepairContext:
    """Handed to every step: ``vm`` is the target (replaced when ``recreate`` follows a new VM)."""

    def __init__(self, session: Session, vm: SystemVm, *, timeout: float,
                 emit: Callable[[RepairEvent], None], mgmt_version: str | None = None,
                 poll: float = POLL_SECONDS) -> None:
        self.session = session
        self.api = session.api
        self.vm = vm
        self.original = vm
        self.timeout = timeout
        self.emit = emit
        self.mgmt_version = mgmt_version
        self.poll = poll
        self.step_id = ""
        self.scratch: dict[str, Any] = {}
        """Values steps hand to later steps (a host's zone, previous settings...)."""
        self._route: Route | None = None
        self.gate: Gate | None = None
        """The run's Gate (a step's ``prepare`` asks only when ``gate.allows_writes()``)."""
        self.asker: Ask | None = None
        """``await asker(Question)``: an extra question of a step, journalled like the rest."""
        self.settle: Settle | None = None
        """Ends :meth:`wait_agent_up` early when the agent's diagnosed cause is back
        (:mod:`cspctl.repair.settle`; set by the run after its baseline diagnosis)."""

    # ---- facts ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.vm.name or self.vm.id or "?"

    @property
    def version(self) -> tuple[int, ...]:
        """The VM's agent version (else the management server's), as numbers."""
        text = self.vm.version or self.mgmt_version or ""
        return parse_version(text) if text else ()

    @property
    def systemd(self) -> bool:
        """4.11+ system VMs use systemd units; 4.8-4.10 use sysvinit scripts."""
        return self.version >= (4, 11)

    def at_least(self, *wanted: int) -> bool:
        mgmt = parse_version(self.mgmt_version) if self.mgmt_version else self.version
        return mgmt >= wanted

    def where(self) -> str:
        """``v-2-VM (via host kvm01 to 169.254.3.7:3922)``: where an in-VM command runs."""
        via = f"via host {self.vm.hostname}, " if self.vm.hostname else ""
        return f"{self.name} ({via}{self.vm.linklocalip or self.vm.privateip}:3922)"

    def on_host(self) -> str:
        return f"host {self.vm.hostname or '?'} (runs {self.name})"

    # ---- SSH --------------------------------------------------------------------------------
    async def route(self) -> Route:
        if self._route is None or self._route.vm_id != self.vm.id:
            from cspctl.ssh.route import resolve_route

            self._route = await resolve_route(self.vm, self.api, self.session.profile)
        return self._route

    async def host_route(self) -> Route:
        from cspctl.diagnostics.checks.access import host_route_of

        route = host_route_of(await self.route())
        if route is None:
            raise StepFailed(f"no hypervisor-host hop to {self.name} (access mode "
                             f"{(await self.route()).mode})")
        return route

    async def vm_run(self, command: str, *, check: bool = True) -> CommandResult:
        """Run ``command`` in the VM (journalled); StepFailed on a non-zero exit if ``check``."""
        result = await self.session.ssh.run(await self.route(), command,
                                            timeout=min(self.timeout, COMMAND_TIMEOUT))
        return self._checked(command, result, check)

    async def host_run(self, command: str, *, check: bool = True) -> CommandResult:
        result = await self.session.ssh.run(await self.host_route(), command,
                                            timeout=min(self.timeout, COMMAND_TIMEOUT))
        return self._checked(command, result, check)

    @staticmethod
    def _checked(command: str, result: CommandResult, check: bool) -> CommandResult:
        if check and result.exit_status != 0:
            err = (result.stderr.strip() or result.stdout.strip()).splitlines()
            why = f": {safe_line(err[-1], 200)}" if err else ""
            raise StepFailed(f"`{command}` exited with status {result.exit_status}{why}",
                             output=(result.stdout + result.stderr).strip())
        return result

    async def drop_ssh(self) -> None:
        """Forget the pooled connection (the VM rebooted or was replaced)."""
        if self._route is not None and self.session.has_ssh:
            await self.session.ssh.drop(self._route)
        self._route = None

    # ---- API --------------------------------------------------------------------------------
    def progress(self, message: str, started: float) -> None:
        self.emit(StepProgress(self.step_id, message, round(time.monotonic() - started, 1),
                               self.timeout))

    async def follow_job(self, command: str, **params: Any) -> AsyncJob:
        """Submit an async command and follow it to its end (progress; ``timeout`` deadline)."""
        started = time.monotonic()
        jobid = await self.api.submit(command, **params)
        self.progress(f"{command} submitted: job {jobid}", started)

        def on_progress(job: AsyncJob) -> None:
            state = {0: "pending", 1: "done", 2: "failed"}.get(job.jobstatus or 0, "?")
            self.progress(f"job {jobid} {state}", started)

        return await self.api.wait_job(jobid, deadline=self.timeout, on_progress=on_progress,
                                       command=command)

    async def reload(self, vm_id: str | None = None) -> SystemVm | None:
        rows = await self.api.list_system_vms(id=vm_id or self.vm.id)
        return rows[0] if rows else None

    async def wait_agent_up(self) -> SystemVm:
        """Poll until the VM is Running with its agent Up; StepFailed at the deadline, or
        earlier when ``settle`` says the agent will not come Up (its cause is back)."""
        started = time.monotonic()
        last = "?"
        while True:
            vm = await self.reload()
            if vm is not None:
                self.vm = vm
                last = f"VM {vm.state}, agent {vm.agentstate or 'unknown'}"
                if vm.state == "Running" and vm.agentstate == "Up":
                    self.progress(f"{self.name}: {last}", started)
                    return vm
            self.progress(f"waiting for the agent of {self.name}: {last}", started)
            left = self.timeout - (time.monotonic() - started)
            if vm is not None and vm.state == "Running" and self.settle is not None and left > 0:
                try:
                    async with asyncio.timeout(left):
                        why = await self.settle(vm, left)
                except TimeoutError:
                    why = None
                if why is not None:
                    raise StepFailed(why)
                left = self.timeout - (time.monotonic() - started)
            if left <= 0:
                raise StepFailed(f"the agent of {self.name} is not Up after {self.timeout:g} s "
                                 f"({last})")
            await asyncio.sleep(min(self.poll, left))
