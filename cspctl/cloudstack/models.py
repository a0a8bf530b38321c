"""Typed views of CloudStack API objects, tolerant across 4.8 to 4.20.

Every model keeps the object as CloudStack sent it in ``raw`` (unknown fields are never
dropped); known fields are typed attributes, ``None`` when the server left them out. Sizes
are bounded whatever a server sends: a string longer than the model's ``max_field``
(:data:`cspctl.text.MAX_FIELD`) is cut with a visible marker, in ``raw`` too.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

from cspctl.text import MAX_BLOCK, MAX_FIELD, bounded


def _parse_date(value: Any) -> datetime | None:
    """Parse CloudStack's ``yyyy-MM-dd'T'HH:mm:ssZ`` (and ISO variants)."""
    if not isinstance(value, str) or not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() == "true":
            return True
        if value.lower() == "false":
            return False
    return None


def _parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _parse_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return str(value)


_CONVERTERS: dict[Any, typing.Callable[[Any], Any]] = {
    str: _parse_str,
    int: _parse_int,
    bool: _parse_bool,
    datetime: _parse_date,
}


def _base_type(hint: Any) -> Any:
    """``str | None`` -> ``str``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else Any
    return hint


class _Pending:
    """A date as CloudStack sent it, parsed on first access (see :class:`_LazyDate`)."""

    __slots__ = ("text",)

    def __init__(self, text: Any) -> None:
        self.text = text


class _LazyDate:
    """Wraps a date field's slot: ``from_api`` stores the text, the first read parses it
    and keeps the datetime (a 5,000-row listing no longer runs 10,000 ``strptime``)."""

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.slot.__get__(obj, owner)
        value = self.slot.__get__(obj, owner)
        if type(value) is _Pending:
            value = _parse_date(value.text)
            self.slot.__set__(obj, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        self.slot.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        self.slot.__delete__(obj)


_Converter = typing.Callable[[Any], Any]
_FIELD_CACHE: dict[type, tuple[tuple[str, _Converter | None], ...]] = {}


def _field_converters(cls: type) -> tuple[tuple[str, _Converter | None], ...]:
    """(field name, converter) per model class, computed once (get_type_hints is slow).

    Date fields get a lazy converter: their slot is wrapped in :class:`_LazyDate`.
    """
    cached = _FIELD_CACHE.get(cls)
    if cached is None:
        hints = typing.get_type_hints(cls)
        out: list[tuple[str, _Converter | None]] = []
        for f in dataclasses.fields(cls):
            if f.name == "raw":
                continue
            conv = _CONVERTERS.get(_base_type(hints[f.name]))
            if conv is _parse_date:
                slot = cls.__dict__.get(f.name)
                if slot is not None and not isinstance(slot, _LazyDate):
                    setattr(cls, f.name, _LazyDate(slot))
                conv = _Pending
            out.append((f.name, conv))
        cached = tuple(out)
        _FIELD_CACHE[cls] = cached
    return cached


@dataclass(frozen=True, slots=True)
class Model:
    """Base for every API object: typed known fields plus the untouched ``raw`` dict."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    object_name: ClassVar[str] = ""
    """The entity key in list responses (``systemvm``, ``zone``...)."""
    max_field: ClassVar[int] = MAX_FIELD
    """Longest string kept in any field (longer ones are cut with a visible marker)."""

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Self:
        """Build from one JSON object; missing fields become None, nothing is dropped (but
        strings longer than ``max_field`` are cut)."""
        data = bounded(data, cls.max_field)
        kwargs: dict[str, Any] = {"raw": data}
        for name, conv in _field_converters(cls):
            if name in data:
                value = data[name]
                # str fields take str values as they are (nearly every field of every row)
                kwargs[name] = (value if conv is None or (conv is _parse_str
                                                          and type(value) is str)
                                else conv(value))
        return cls(**kwargs)

    def get(self, key: str, default: Any = None) -> Any:
        """Any field as CloudStack sent it, known to this model or not."""
        return self.raw.get(key, default)


@dataclass(frozen=True, slots=True)
class Zone(Model):
    object_name: ClassVar[str] = "zone"
    id: str | None = None
    name: str | None = None
    description: str | None = None
    networktype: str | None = None
    allocationstate: str | None = None
    dns1: str | None = None
    dns2: str | None = None
    internaldns1: str | None = None
    internaldns2: str | None = None
    localstorageenabled: bool | None = None
    securitygroupsenabled: bool | None = None


@dataclass(frozen=True, slots=True)
class Pod(Model):
    object_name: ClassVar[str] = "pod"
    id: str | None = None
    name: str | None = None
    zoneid: str | None = None
    zonename: str | None = None
    gateway: str | None = None
    netmask: str | None = None
    startip: str | None = None
    endip: str | None = None
    allocationstate: str | None = None


@dataclass(frozen=True, slots=True)
class Host(Model):
    object_name: ClassVar[str] = "host"
    id: str | None = None
    name: str | None = None
    state: str | None = None
    type: str | None = None
    ipaddress: str | None = None
    zoneid: str | None = None
    zonename: str | None = None
    podid: str | None = None
    podname: str | None = None
    clusterid: str | None = None
    clustername: str | None = None
    version: str | None = None
    hypervisor: str | None = None
    hypervisorversion: str | None = None
    resourcestate: str | None = None
    disconnected: datetime | None = None
    lastpinged: datetime | None = None
    created: datetime | None = None
    managementserverid: str | None = None


@dataclass(frozen=True, slots=True)
class SystemVm(Model):
    object_name: ClassVar[str] = "systemvm"
    id: str | None = None
    name: str | None = None
    systemvmtype: str | None = None
    state: str | None = None
    agentstate: str | None = None
    """4.13.1+ in listSystemVms; older servers: joined from listHosts by the client."""
    version: str | None = None
    disconnected: datetime | None = None
    hostid: str | None = None
    hostname: str | None = None
    hypervisor: str | None = None
    zoneid: str | None = None
    zonename: str | None = None
    podid: str | None = None
    podname: str | None = None
    privateip: str | None = None
    privatemacaddress: str | None = None
    privatenetmask: str | None = None
    linklocalip: str | None = None
    linklocalmacaddress: str | None = None
    linklocalnetmask: str | None = None
    publicip: str | None = None
    publicmacaddress: str | None = None
    publicnetmask: str | None = None
    gateway: str | None = None
    dns1: str | None = None
    dns2: str | None = None
    templateid: str | None = None
    templatename: str | None = None
    created: datetime | None = None
    activeviewersessions: int | None = None

    @property
    def is_cpvm(self) -> bool:
        return self.systemvmtype == "consoleproxy"

    @property
    def is_ssvm(self) -> bool:
        return self.systemvmtype == "secondarystoragevm"

    @property
    def short_type(self) -> str:
        return {"consoleproxy": "CPVM", "secondarystoragevm": "SSVM"}.get(
            self.systemvmtype or "", self.systemvmtype or "?"
        )

    @property
    def healthy(self) -> bool:
        """Running with its agent Up: what an operator expects of a system VM."""
        return self.state == "Running" and self.agentstate == "Up"

    def with_agent(self, agentstate: str | None, version: str | None = None) -> SystemVm:
        """A copy carrying agent state/version joined from the VM's host record (pre-4.13.1)."""
        raw = dict(self.raw)
        changes: dict[str, Any] = {"raw": raw}
        if agentstate is not None and self.agentstate is None:
            changes["agentstate"] = agentstate
        if version is not None and self.version is None:
            changes["version"] = version
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Configuration(Model):
    object_name: ClassVar[str] = "configuration"
    name: str | None = None
    value: str | None = None
    category: str | None = None
    description: str | None = None
    scope: str | None = None
    isdynamic: bool | None = None
    defaultvalue: str | None = None


@dataclass(frozen=True, slots=True)
class AsyncJob(Model):
    object_name: ClassVar[str] = "asyncjob"
    max_field: ClassVar[int] = MAX_BLOCK  # job results carry command output (runDiagnostics)
    jobid: str | None = None
    jobstatus: int | None = None
    """0 pending, 1 succeeded, 2 failed, 3 cancelled."""
    jobresultcode: int | None = None
    jobresulttype: str | None = None
    jobresult: Any = None
    jobprocstatus: int | None = None
    jobinstancetype: str | None = None
    jobinstanceid: str | None = None
    cmd: str | None = None
    created: datetime | None = None
    completed: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.jobstatus in (None, 0)

    @property
    def succeeded(self) -> bool:
        return self.jobstatus == 1

    @property
    def errortext(self) -> str | None:
        """CloudStack's text for a failed job (object or 2.x-style text result)."""
        if isinstance(self.jobresult, dict):
            text = self.jobresult.get("errortext")
            return str(text) if text is not None else None
        if isinstance(self.jobresult, str):
            return self.jobresult
        return None


@dataclass(frozen=True, slots=True)
class ManagementServer(Model):
    object_name: ClassVar[str] = "managementserver"
    id: str | None = None
    name: str | None = None
    state: str | None = None
    version: str | None = None
    ipaddress: str | None = None
    serviceip: str | None = None
    javaversion: str | None = None
    osdistribution: str | None = None
    lastserverstart: datetime | None = None


@dataclass(frozen=True, slots=True)
class Capabilities(Model):
    object_name: ClassVar[str] = "capability"
    cloudstackversion: str | None = None
    securitygroupsenabled: bool | None = None
    dynamicrolesenabled: bool | None = None
    apilimitinterval: int | None = None
    apilimitmax: int | None = None


@dataclass(frozen=True, slots=True)
class Alert(Model):
    object_name: ClassVar[str] = "alert"
    id: str | None = None
    type: int | None = None
    name: str | None = None
    description: str | None = None
    sent: datetime | None = None


@dataclass(frozen=True, slots=True)
class Event(Model):
    object_name: ClassVar[str] = "event"
    id: str | None = None
    username: str | None = None
    type: str | None = None
    level: str | None = None
    description: str | None = None
    account: str | None = None
    domain: str | None = None
    created: datetime | None = None
    state: str | None = None
    resourceid: str | None = None
    resourcetype: str | None = None
    resourcename: str | None = None


def response_key(command: str) -> str:
    """``listSystemVms`` -> ``listsystemvmsresponse``."""
    return command.lower() + "response"
