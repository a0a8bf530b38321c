"""Wait for a CloudStack async job: poll ``queryAsyncJobResult`` with backoff until a deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from cspctl.cloudstack.errors import JobFailed, JobTimeout
from cspctl.cloudstack.models import AsyncJob

ProgressCallback = Callable[[AsyncJob], None]


@dataclass(frozen=True)
class PollPolicy:
    """Poll intervals: ``initial`` s, times ``factor`` after each poll, capped at ``maximum``."""

    initial: float = 0.2
    factor: float = 1.5
    maximum: float = 2.0

    def intervals(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(self.maximum, delay * self.factor)


async def poll_job(
    query: Callable[[str], Awaitable[AsyncJob]],
    jobid: str,
    *,
    timeout: float,
    policy: PollPolicy = PollPolicy(),
    on_progress: ProgressCallback | None = None,
    server: str = "",
    command: str | None = None,
) -> AsyncJob:
    """Poll until the job is done; returns it on success.

    The interval starts at ``policy.initial`` (fast servers) but is never shorter than the
    last poll's round trip. Raises JobFailed (jobstatus 2 or 3, carrying CloudStack's
    errortext) or JobTimeout once ``timeout`` seconds passed with the job still pending.
    ``on_progress`` sees every poll.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + timeout
    for delay in policy.intervals():
        asked = loop.time()
        job = await query(jobid)
        # a slow server gets polled no faster than it answers (still capped at maximum)
        delay = min(policy.maximum, max(delay, loop.time() - asked))
        if on_progress is not None:
            # a broken UI callback must not abort waiting for a real job
            with contextlib.suppress(Exception):
                on_progress(job)
        if job.jobstatus == 1:
            return job
        if job.jobstatus in (2, 3):
            raise JobFailed(job, server=server, command=command)
        now = loop.time()
        if now >= deadline:
            raise JobTimeout(jobid, now - start, server=server, command=command)
        await asyncio.sleep(min(delay, deadline - now))
    raise AssertionError("unreachable")  # pragma: no cover
