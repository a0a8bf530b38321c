"""The async CloudStack API client: typed commands (listings of zones, system VMs, hosts...,
configuration, capabilities, async jobs and system VM actions) over the request path
(:mod:`cspctl.cloudstack.caller`: signing or session login, retries, errors, journal) and
complete listings (:mod:`cspctl.cloudstack.paging`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from cspctl.cloudstack import envelope
from cspctl.cloudstack.caller import clean_params
from cspctl.cloudstack.errors import ApiError, CloudStackError
from cspctl.cloudstack.jobs import ProgressCallback, poll_job
from cspctl.cloudstack.models import (
    Alert,
    AsyncJob,
    Capabilities,
    Configuration,
    Event,
    Host,
    ManagementServer,
    Pod,
    SystemVm,
    Zone,
)
from cspctl.cloudstack.paging import PagedCaller, RowsListener

if TYPE_CHECKING:
    from cspctl.config import Profile
    from cspctl.sessionlog.journal import Journal

__all__ = ["CloudStackClient", "RowsListener"]


class CloudStackClient(PagedCaller):
    """Async client for one management server. Use ``async with`` or call :meth:`aclose`.

    Authenticates with API key + secret (signature v3 by default, classic otherwise) or, with
    only username/password, logs in on first use and sends the session key (unsigned).
    """

    @classmethod
    def from_profile(cls, profile: Profile, journal: Journal | None = None,
                     **overrides: Any) -> CloudStackClient:
        """A client configured from a ``cspctl.config.Profile`` (duck-typed)."""
        kwargs: dict[str, Any] = {
            "apikey": getattr(profile, "apikey", None),
            "secretkey": getattr(profile, "secretkey", None),
            "username": getattr(profile, "username", None),
            "password": getattr(profile, "password", None),
            "domain": getattr(profile, "domain", "/") or "/",
            "signature_version": getattr(profile, "signature_version", 3),
            "verify_tls": getattr(profile, "verify_tls", True),
            "timeout": getattr(profile, "timeout", 30.0),
            "profile_name": getattr(profile, "name", None),
            "journal": journal,
        }
        kwargs.update(overrides)
        return cls(profile.url, **kwargs)

    async def list_zones(self, **params: Any) -> list[Zone]:
        return await self.list_rows("listZones", Zone, **params)

    async def list_pods(self, **params: Any) -> list[Pod]:
        return await self.list_rows("listPods", Pod, **params)

    async def list_hosts(self, **params: Any) -> list[Host]:
        return await self.list_rows("listHosts", Host, **params)

    async def list_system_vms(self, *, on_rows: RowsListener[SystemVm] | None = None,
                              **params: Any) -> list[SystemVm]:
        """System VMs with ``agentstate``/``version`` always filled when CloudStack knows them.

        Servers before 4.13.1 lack those fields; they are joined from the VMs' own host
        records (listHosts type=ConsoleProxy / SecondaryStorageVM, host name == VM name).
        ``on_rows`` (see :meth:`list_rows`) sees partial rows only when they carry their agent
        state (a partial list never shows agents as unknown that the join would fill).
        """
        def partial(rows: list[SystemVm], expected: int | None) -> None:
            if on_rows is not None and all("agentstate" in vm.raw for vm in rows):
                on_rows(rows, expected)

        vms = await self.list_rows("listSystemVms", SystemVm,
                                   on_rows=partial if on_rows is not None else None, **params)
        if all("agentstate" in vm.raw for vm in vms):
            return vms
        scope = {k: params[k] for k in ("zoneid", "podid") if params.get(k)}
        try:
            cp, ss = await asyncio.gather(
                self.list_hosts(type="ConsoleProxy", **scope),
                self.list_hosts(type="SecondaryStorageVM", **scope),
            )
        except ApiError:
            # e.g. an account that may list system VMs but not hosts: the VMs still matter
            # more than their agent state (the failed listHosts call is in the journal)
            return vms
        by_name: dict[str, Host] = {}
        for host in [*cp, *ss]:
            if not host.name:
                continue
            old = by_name.get(host.name)
            if old is None or (old.state == "Removed" and host.state != "Removed"):
                by_name[host.name] = host
        return [_join_agent(vm, by_name.get(vm.name or "")) for vm in vms]

    async def list_configurations(self, **params: Any) -> list[Configuration]:
        return await self.list_rows("listConfigurations", Configuration, **params)

    async def get_configuration(self, name: str) -> Configuration | None:
        """The global setting ``name`` (exact match), or None when the server has no such."""
        rows = await self.list_configurations(name=name)
        return next((c for c in rows if c.name == name), None)

    async def update_configuration(self, name: str, value: str, **scope: Any) -> Configuration:
        """``updateConfiguration`` (synchronous, by POST); ``scope``: zoneid, clusterid..."""
        params = clean_params({"name": name, "value": value, **scope})
        inner = await self._request("updateConfiguration", params, post=True)
        return envelope.parse_single(inner, Configuration)

    async def list_capabilities(self) -> Capabilities:
        inner = await self._request("listCapabilities", {})
        first = self._capabilities is None
        self._capabilities = envelope.parse_single(inner, Capabilities)
        if first and self.journal is not None:  # the incident report names the version
            self.journal.record("session.info", server=self.server,
                                cloudstack_version=self._capabilities.cloudstackversion)
        return self._capabilities

    async def version(self) -> str | None:
        """CloudStack version from listCapabilities (``cloudstackversion``), cached."""
        caps = self._capabilities or await self.list_capabilities()
        return caps.cloudstackversion

    async def list_management_servers(self, **params: Any) -> list[ManagementServer]:
        return await self.list_rows("listManagementServers", ManagementServer, **params)

    async def list_alerts(self, **params: Any) -> list[Alert]:
        return await self.list_rows("listAlerts", Alert, **params)

    async def list_events(self, **params: Any) -> list[Event]:
        return await self.list_rows("listEvents", Event, **params)

    # -- async jobs ------------------------------------------------------------------------

    async def submit(self, command: str, **params: Any) -> str:
        """Start an async command; returns its job id (never retried)."""
        inner = await self._request(command, clean_params(params))
        jobid = inner.get("jobid")
        if jobid in (None, ""):
            raise CloudStackError(self.server, command, "the answer carries no jobid",
                                  hint="is this an asynchronous command on this version?")
        return str(jobid)

    async def query_job(self, jobid: str) -> AsyncJob:
        """One ``queryAsyncJobResult``."""
        return AsyncJob.from_api(await self._request("queryAsyncJobResult", {"jobid": jobid}))

    async def wait_job(self, jobid: str, *, deadline: float | None = None,
                       on_progress: ProgressCallback | None = None,
                       command: str | None = None) -> AsyncJob:
        """Poll until the job is done. ``deadline``: seconds to wait at most (default
        ``job_timeout``). Raises JobFailed (with CloudStack's errortext) or JobTimeout."""
        return await poll_job(self.query_job, jobid,
                              timeout=self.job_timeout if deadline is None else deadline,
                              policy=self.poll, on_progress=on_progress, server=self.server,
                              command=command or "queryAsyncJobResult")

    async def run_job(self, command: str, *, deadline: float | None = None,
                      on_progress: ProgressCallback | None = None, **params: Any) -> AsyncJob:
        """submit + wait_job."""
        jobid = await self.submit(command, **params)
        return await self.wait_job(jobid, deadline=deadline, on_progress=on_progress,
                                   command=command)

    async def _vm_job(self, command: str, vm_id: str, deadline: float | None,
                      on_progress: ProgressCallback | None, **params: Any) -> SystemVm:
        job = await self.run_job(command, deadline=deadline, on_progress=on_progress,
                                 **params)
        result = job.jobresult if isinstance(job.jobresult, dict) else {}
        data = result.get("systemvm", result)
        return SystemVm.from_api(data if isinstance(data, dict) and data else {"id": vm_id})

    async def start_system_vm(self, vm_id: str, *, deadline: float | None = None,
                              on_progress: ProgressCallback | None = None,
                              **params: Any) -> SystemVm:
        return await self._vm_job("startSystemVm", vm_id, deadline, on_progress, id=vm_id, **params)

    async def stop_system_vm(self, vm_id: str, forced: bool = False, *,
                             deadline: float | None = None,
                             on_progress: ProgressCallback | None = None,
                             **params: Any) -> SystemVm:
        return await self._vm_job("stopSystemVm", vm_id, deadline, on_progress, id=vm_id,
                                  forced=forced or None, **params)

    async def reboot_system_vm(self, vm_id: str, *, deadline: float | None = None,
                               on_progress: ProgressCallback | None = None,
                               **params: Any) -> SystemVm:
        return await self._vm_job("rebootSystemVm", vm_id, deadline, on_progress, id=vm_id,
                                  **params)

    async def destroy_system_vm(self, vm_id: str, *, deadline: float | None = None,
                                on_progress: ProgressCallback | None = None,
                                **params: Any) -> SystemVm:
        return await self._vm_job("destroySystemVm", vm_id, deadline, on_progress, id=vm_id,
                                  **params)

    async def migrate_system_vm(self, vm_id: str, host_id: str | None = None, *,
                                deadline: float | None = None,
                                on_progress: ProgressCallback | None = None,
                                **params: Any) -> SystemVm:
        return await self._vm_job("migrateSystemVm", vm_id, deadline, on_progress,
                                  virtualmachineid=vm_id, hostid=host_id, **params)

    async def run_diagnostics(self, target_id: str, ipaddress: str, diag_type: str,
                              params: str | None = None, *, deadline: float | None = None,
                              on_progress: ProgressCallback | None = None) -> dict[str, Any]:
        """``runDiagnostics`` (4.12+): ping/traceroute/arping from a system VM.
        Returns ``{"stdout", "stderr", "exitcode"}`` as CloudStack sent them."""
        job = await self.run_job("runDiagnostics", deadline=deadline, on_progress=on_progress,
                                 targetid=target_id, ipaddress=ipaddress, type=diag_type,
                                 params=params)
        return _result_object(job, "diagnostics")

    async def get_diagnostics_data(self, target_id: str, files: list[str] | str | None = None,
                                   *, deadline: float | None = None,
                                   on_progress: ProgressCallback | None = None) -> str:
        """``getDiagnosticsData``: the download URL of the collected files."""
        job = await self.run_job("getDiagnosticsData", deadline=deadline,
                                 on_progress=on_progress, targetid=target_id, files=files)
        return str(_result_object(job, "diagnostics").get("url", ""))

    async def provision_certificate(self, host_id: str, *, deadline: float | None = None,
                                    on_progress: ProgressCallback | None = None,
                                    **params: Any) -> None:
        """``provisionCertificate`` (4.11+) for a system VM's *host* id."""
        job = await self.run_job("provisionCertificate", deadline=deadline,
                                 on_progress=on_progress, hostid=host_id, **params)
        success = _result_object(job, "success").get("success", True)
        if str(success).lower() == "false":
            raise ApiError(self.server, "provisionCertificate", http_status=None,
                           errortext="job finished but reported success=false")


def _result_object(job: AsyncJob, key: str) -> dict[str, Any]:
    result = job.jobresult
    if isinstance(result, dict):
        inner = result.get(key)
        if isinstance(inner, dict):
            return inner
        return result
    return {}


def _join_agent(vm: SystemVm, host: Host | None) -> SystemVm:
    if host is None or "agentstate" in vm.raw:
        return vm
    joined = vm.with_agent(host.state, host.version)
    if joined.disconnected is None and host.disconnected is not None:
        joined = dataclasses.replace(joined, disconnected=host.disconnected)
    return joined
