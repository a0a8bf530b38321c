"""Async jobs of the lab's management server: lifecycle actions on system VMs that take a
(scaled) while, polled with queryAsyncJobResult (docs/cloudstack.md §4)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cspctl.lab.world import World


class JobFailure(Exception):
    """Ends a job with ``jobstatus`` 2 and ``jobresult {errorcode, errortext}``."""

    def __init__(self, text: str, code: int = 530) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


@dataclass
class Job:
    id: str
    cmd: str                          # Java command class
    instance_type: str | None
    instance_id: str | None
    created: float
    status: int = 0                   # 0 pending, 1 succeeded, 2 failed
    result: dict[str, Any] | None = None
    resultcode: int = 0
    completed: float | None = None
    task: asyncio.Task[None] | None = None


JobBody = Callable[[], Awaitable[dict[str, Any]]]

CMD_CLASSES = {
    "startSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.StartSystemVMCmd",
    "stopSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.StopSystemVmCmd",
    "rebootSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.RebootSystemVmCmd",
    "destroySystemVm": "org.apache.cloudstack.api.command.admin.systemvm.DestroySystemVmCmd",
    "migrateSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.MigrateSystemVMCmd",
    "runDiagnostics": "org.apache.cloudstack.api.command.admin.diagnostics.RunDiagnosticsCmd",
    "getDiagnosticsData":
        "org.apache.cloudstack.api.command.admin.diagnostics.GetDiagnosticsDataCmd",
    "provisionCertificate": "org.apache.cloudstack.api.command.admin.ca.ProvisionCertificateCmd",
}


class JobManager:
    """Runs each job as an asyncio task; per-VM lock so actions on one VM queue up."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.jobs: dict[str, Job] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()

    def submit(self, command: str, body: JobBody, *, instance_type: str | None = "SystemVm",
               instance_id: str | None = None, lock_key: str | None = None,
               on_start: Callable[[Job], None] | None = None) -> Job:
        job = Job(id=self.world.uuid(), cmd=CMD_CLASSES.get(command, command),
                  instance_type=instance_type, instance_id=instance_id,
                  created=self.world.clock.now())
        self.jobs[job.id] = job
        if on_start is not None:
            on_start(job)
        job.task = asyncio.get_running_loop().create_task(self._run(job, body, lock_key))
        return job

    async def _run(self, job: Job, body: JobBody, lock_key: str | None) -> None:
        faults = self.world.faults
        lock = self._locks.setdefault(lock_key, asyncio.Lock()) if lock_key else None
        try:
            if lock is not None:
                await lock.acquire()
            try:
                if faults.job_hang:
                    await asyncio.Event().wait()
                result = await body()
                if faults.job_fail:
                    raise JobFailure("Internal error executing command, please contact your "
                                     "system administrator")
                job.result, job.status, job.resultcode = result, 1, 0
            finally:
                if lock is not None:
                    lock.release()
        except JobFailure as exc:
            job.result = {"errorcode": exc.code, "errortext": exc.text}
            job.status, job.resultcode = 2, exc.code
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the lab: report it as CloudStack would, a 530
            job.result = {"errorcode": 530, "errortext": f"Unexpected exception: {exc}"}
            job.status, job.resultcode = 2, 530
        job.completed = self.world.clock.now()

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run follow-up work (e.g. re-creating a destroyed VM) that outlives a job."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def get(self, jobid: str) -> Job | None:
        return self.jobs.get(jobid)

    async def close(self) -> None:
        tasks = [j.task for j in self.jobs.values() if j.task and not j.task.done()]
        tasks += list(self._background)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def render(self, job: Job) -> dict[str, Any]:
        """The ``queryasyncjobresultresponse`` body: pending/success/failure.

        See docs/cloudstack.md §4."""
        w = self.world
        d: dict[str, Any] = {"accountid": w.account_id, "userid": w.user_id, "cmd": job.cmd,
                             "jobstatus": job.status, "jobprocstatus": 0,
                             "jobresultcode": job.resultcode}
        if job.status != 0:
            d["jobresulttype"] = "object"
            d["jobresult"] = job.result or {}
        if job.instance_type:
            d["jobinstancetype"] = job.instance_type
        if job.instance_id:
            d["jobinstanceid"] = job.instance_id
        d["created"] = w.clock.api_date(job.created)
        if job.completed is not None:
            d["completed"] = w.clock.api_date(job.completed)
        if w.at_least("4.19"):
            d["managementserverid"] = w.mgmt.id
        d["jobid"] = job.id
        return d
