"""poll_job: backoff schedule, callbacks, outcomes (an in-process job source; the HTTP path
is covered against the loopback server in test_api_client.py)."""

from __future__ import annotations

import itertools

import pytest

from cspctl.cloudstack.errors import JobFailed, JobTimeout
from cspctl.cloudstack.jobs import PollPolicy, poll_job
from cspctl.cloudstack.models import AsyncJob


def test_default_policy_starts_fast_and_caps_at_two_seconds() -> None:
    steps = list(itertools.islice(PollPolicy().intervals(), 12))
    assert steps[0] == pytest.approx(0.2)
    assert all(b >= a for a, b in itertools.pairwise(steps))
    assert max(steps) == 2.0 and steps[-1] == 2.0


def jobs(*statuses: int, result: object = None):
    seq = iter(statuses)

    async def query(jobid: str) -> AsyncJob:
        status = next(seq, statuses[-1])
        data = {"jobid": jobid, "jobstatus": status}
        if status == 2:
            data |= {"jobresultcode": 530, "jobresult": {"errorcode": 530,
                                                         "errortext": "host is down"}}
        elif status == 1:
            data |= {"jobresultcode": 0, "jobresult": result}
        return AsyncJob.from_api(data)

    return query


FAST = PollPolicy(initial=0.001, factor=2, maximum=0.004)


async def test_success_and_progress_even_with_a_broken_callback() -> None:
    seen: list[int | None] = []

    def progress(job: AsyncJob) -> None:
        seen.append(job.jobstatus)
        raise RuntimeError("UI bug")

    job = await poll_job(jobs(0, 0, 1, result={"systemvm": {"id": "x"}}), "j1",
                         timeout=5, policy=FAST, on_progress=progress)
    assert job.succeeded and job.jobresult == {"systemvm": {"id": "x"}}
    assert seen == [0, 0, 1]


async def test_failure_carries_errortext_and_server() -> None:
    with pytest.raises(JobFailed) as info:
        await poll_job(jobs(0, 2), "j2", timeout=5, policy=FAST, server="m:8080",
                       command="rebootSystemVm")
    assert info.value.errortext == "host is down"
    assert str(info.value) == ("m:8080 rebootSystemVm: job j2 failed with error 530: "
                               "host is down")


async def test_cancelled_job_is_a_failure() -> None:
    with pytest.raises(JobFailed, match="was cancelled"):
        await poll_job(jobs(3), "j3", timeout=5, policy=FAST)


async def test_deadline() -> None:
    with pytest.raises(JobTimeout) as info:
        await poll_job(jobs(0), "j4", timeout=0.05, policy=FAST, server="m:8080")
    assert info.value.jobid == "j4" and info.value.waited >= 0.05
    assert "m:8080" in str(info.value) and "still pending" in str(info.value)
