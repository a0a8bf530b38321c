"""Date fields are parsed on first access (not per row at listing time), and still right."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from cspctl.cloudstack.models import AsyncJob, Host, SystemVm, _Pending


def _slot(vm: SystemVm, name: str) -> object:
    """The stored value behind the attribute, without triggering the parse."""
    return type(vm).__dict__[name].slot.__get__(vm, type(vm))


def test_dates_wait_for_first_access_then_parse_once() -> None:
    vm = SystemVm.from_api({"id": "1", "created": "2024-03-05T10:11:12+0100",
                            "disconnected": "2024-03-05T09:00:00.250+0000"})
    assert isinstance(_slot(vm, "created"), _Pending)  # not parsed by from_api
    created = vm.created
    assert created == datetime(2024, 3, 5, 10, 11, 12, tzinfo=timezone(timedelta(hours=1)))
    assert _slot(vm, "created") is created  # kept: the next read does not parse again
    assert vm.created is created
    assert vm.disconnected == datetime(2024, 3, 5, 9, 0, 0, 250000, tzinfo=UTC)
    assert vm.raw["created"] == "2024-03-05T10:11:12+0100"  # raw untouched


def test_odd_and_missing_dates() -> None:
    vm = SystemVm.from_api({"created": "not a date", "disconnected": ""})
    assert vm.created is None and vm.disconnected is None
    assert SystemVm.from_api({}).created is None
    iso = Host.from_api({"lastpinged": "2024-01-01T00:00:00Z"})
    assert iso.lastpinged == datetime(2024, 1, 1, tzinfo=UTC)
    job = AsyncJob.from_api({"created": "2024-01-01T00:00:00+0000", "jobstatus": "1"})
    assert job.created == datetime(2024, 1, 1, tzinfo=UTC) and job.jobstatus == 1


def test_equality_replace_and_direct_construction() -> None:
    a = SystemVm.from_api({"id": "1", "created": "2024-01-01T00:00:00+0000"})
    b = SystemVm.from_api({"id": "1", "created": "2024-01-01T00:00:00+0000"})
    assert a == b
    c = dataclasses.replace(a, state="Stopped")
    assert c.created == datetime(2024, 1, 1, tzinfo=UTC) and c.state == "Stopped"
    when = datetime(2020, 5, 6, tzinfo=UTC)
    assert SystemVm(id="x", created=when).created is when
    assert a.with_agent("Up").created == a.created
