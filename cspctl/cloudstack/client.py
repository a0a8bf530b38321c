"""The async CloudStack API client (httpx): signing or session login, envelopes, pagination,
async jobs, retries for idempotent reads, and one journal event per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import math
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from cspctl.cloudstack import envelope, list_sizes, signing
from cspctl.cloudstack.errors import (
    ApiError,
    ApiTimeout,
    AuthError,
    BadResponse,
    CloudStackError,
    PartialListing,
)
from cspctl.cloudstack.jobs import PollPolicy, ProgressCallback, poll_job
from cspctl.cloudstack.models import (
    Alert,
    AsyncJob,
    Capabilities,
    Configuration,
    Event,
    Host,
    ManagementServer,
    Model,
    Pod,
    SystemVm,
    Zone,
)
from cspctl.cloudstack.pagination import ShortListing, fetch_all
from cspctl.cloudstack.transport import (
    MAX_BODY,
    body_hint,
    from_httpx,
    is_idempotent,
    is_retryable,
    send_capped,
    server_label,
    status_hint,
)
from cspctl.gate import Gate, Refused
from cspctl.sessionlog.changes import in_background
from cspctl.sessionlog.redact import MASK, Scrubber, is_secret_key, redact_params

if TYPE_CHECKING:
    from pathlib import Path

    from cspctl.config import Profile
    from cspctl.sessionlog.journal import Journal

M = TypeVar("M", bound=Model)

POST_COMMANDS = frozenset({"login", "updateConfiguration"})
"""Always POST: credentials and configuration values stay out of URLs and proxy logs."""
MAX_GET_URL = 4000
_SECRET_CONFIG = re.compile(r"(?i)(password|secret|passwd|token|key)")
_PAGE_CAP = re.compile(r"max allowed page size value: (\d+)")


def _wire_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set):
        return ",".join(_wire_value(v) for v in value)
    return str(value)


def _clean(params: Mapping[str, Any]) -> dict[str, str]:
    """Drop None values, spell bools/lists the way CloudStack expects."""
    return {k: _wire_value(v) for k, v in params.items() if v is not None}


class CloudStackClient:
    """Async client for one management server. Use ``async with`` or call :meth:`aclose`.

    Authenticates with API key + secret (signature v3 by default, classic otherwise) or, with
    only username/password, logs in on first use and sends the session key (unsigned).
    """

    max_body: int = MAX_BODY
    """Largest response body read (bytes); a larger one is ResponseTooLarge, never retried."""

    def __init__(
        self,
        url: str,
        *,
        apikey: str | None = None,
        secretkey: str | None = None,
        username: str | None = None,
        password: str | None = None,
        domain: str = "/",
        signature_version: int = 3,
        verify_tls: bool = True,
        timeout: float = 30.0,
        journal: Journal | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        page_concurrency: int = 8,
        page_size: int = 500,
        retries: int = 2,
        retry_backoff: float = 0.5,
        call_deadline: float | None = None,
        poll: PollPolicy | None = None,
        job_timeout: float = 1800.0,
        expires_ttl: float = 600.0,
        profile_name: str | None = None,
        gate: Gate | None = None,
        sizes_file: Path | None = None,
    ) -> None:
        self.url = url
        self.gate = gate or Gate()
        """Asked before every request: in read-only mode only read commands are sent."""
        self._url = httpx.URL(url)
        self.server = server_label(self._url)
        self.apikey, self.secretkey = apikey, secretkey
        self.username, self.password, self.domain = username, password, domain or "/"
        self.signature_version = signature_version
        self.timeout = timeout
        self.journal = journal
        self.page_concurrency = page_concurrency
        self.page_size = page_size
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.call_deadline = call_deadline if call_deadline is not None else 2 * timeout
        """Seconds a read may take in all, retries included (a write gets ``timeout``)."""
        self.poll = poll or PollPolicy()
        self.job_timeout = job_timeout
        self.expires_ttl = expires_ttl
        self.profile_name = profile_name or ""
        self.sessionkey: str | None = None
        self._attempts: dict[int, int] = {}  # call in flight -> its attempt number
        self._call_ids = itertools.count()
        self._login_lock = asyncio.Lock()
        self._capabilities: Capabilities | None = None
        self._list_sizes: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        """Rows the same listing had last time: its pages are then requested together."""
        self._sizes_file = sizes_file
        """Where those sizes outlive the process (a CLI run starts with the last run's)."""
        self._sizes_loaded = self._sizes_dirty = False
        self._scrub = journal.scrub if journal is not None else Scrubber()
        for secret in (apikey, secretkey, password):
            self._add_secret(secret)
        # one pooled keep-alive client; no CA bundle loaded for a plain-HTTP URL
        self._http = httpx.AsyncClient(
            verify=verify_tls if self._url.scheme == "https" else False, timeout=timeout,
            transport=transport, follow_redirects=False,
            limits=httpx.Limits(max_connections=max(20, 2 * page_concurrency),
                                max_keepalive_connections=max(20, 2 * page_concurrency)),
            headers={"User-Agent": "cspctl", "Accept": "application/json, text/javascript"},
        )

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

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> CloudStackClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Log out (best effort) when a session is open, then close the connection pool."""
        if self.sessionkey is not None:
            with contextlib.suppress(CloudStackError):
                await self.logout()
        await self._http.aclose()
        if self._sizes_dirty:
            list_sizes.save(self._sizes_file, self.server, self._list_sizes)
            self._sizes_dirty = False

    def _add_secret(self, value: str | None) -> None:
        if not value:
            return
        self._scrub.add(value)
        if self.journal is not None and self.journal.scrub is not self._scrub:
            self.journal.add_secret(value)

    @property
    def attempt_in_flight(self) -> int:
        """The highest attempt number among calls still waiting for an answer (0: none), so a
        UI can say "attempt 2" while it waits."""
        return max(self._attempts.values(), default=0)

    @property
    def uses_keys(self) -> bool:
        return bool(self.apikey and self.secretkey)

    # -- authentication --------------------------------------------------------------------

    async def login(self) -> None:
        """``login`` by POST; keeps the session key (sent as a parameter) and the cookies."""
        if not (self.username and self.password):
            raise AuthError(self.server, "login", http_status=None,
                            errortext="no username/password configured",
                            hint=status_hint(531, "login", profile=self.profile_name,
                                             session=True))
        params = {"username": self.username, "password": self.password, "domain": self.domain}
        inner = await self._request("login", params, post=True, auth=False)
        key = inner.get("sessionkey")
        if not isinstance(key, str) or not key:
            raise BadResponse(self.server, "login", status=200, content_type="application/json",
                              snippet="loginresponse without sessionkey")
        self._add_secret(key)
        self.sessionkey = key

    async def logout(self) -> None:
        """End the session; cookies and session key are forgotten even if the call fails."""
        if self.sessionkey is None:
            return
        try:
            await self._request("logout", {}, relogin=False)
        finally:
            self.sessionkey = None
            self._http.cookies.clear()

    async def _ensure_session(self) -> None:
        if self.uses_keys or self.sessionkey is not None:
            return
        async with self._login_lock:
            if self.sessionkey is None:
                await self.login()

    # -- the one request path --------------------------------------------------------------

    async def call(self, command: str, *, post: bool = False, **params: Any) -> dict[str, Any]:
        """Run any API command; returns the object inside ``<command>response``.

        Raises ApiError/AuthError for CloudStack error envelopes, TransportError subclasses
        for network problems and foreign bodies.
        """
        return await self._request(command, _clean(params), post=post)

    async def _request(self, command: str, params: dict[str, str], *, post: bool = False,
                       auth: bool = True, relogin: bool = True) -> dict[str, Any]:
        try:
            self.gate.check_api(command)  # read-only: refused here, never sent
        except Refused as exc:
            self._record(command, params, "-", None, time.monotonic(), "refused", 0, str(exc))
            raise
        if auth:
            await self._ensure_session()
        sensitive = any(is_secret_key(k) for k in params)
        # signing/auth parameters add < 300 characters to what the caller passed
        long = len(self.url) + len(signing.encode_query(params)) + 300 > MAX_GET_URL
        method = "POST" if post or sensitive or long or command in POST_COMMANDS else "GET"
        attempts = 1 + (max(0, self.retries) if is_idempotent(command) else 0)
        start = time.monotonic()
        # the whole call, retries and backoff included, ends by this deadline
        deadline = start + (self.call_deadline if attempts > 1 else self.timeout)
        status: int | None = None
        done = 0
        relogged = False
        token = next(self._call_ids)
        try:
            while True:
                done += 1
                self._attempts[token] = done
                try:
                    status, inner = await self._bounded_exchange(
                        command, params, method, auth, min(self.timeout,
                                                           deadline - time.monotonic()))
                    break
                except AuthError as exc:
                    # an expired session: log in again once, then repeat the call
                    if (auth and relogin and not self.uses_keys and not relogged
                            and exc.http_status == 401 and self.username and self.password):
                        relogged = True
                        self.sessionkey = None
                        await self._ensure_session()
                        continue
                    raise
                except CloudStackError as exc:
                    pause = self.retry_backoff * 2 ** (done - 1)
                    # another try only when it can still have most of its time limit
                    room = deadline - time.monotonic() - pause
                    if (done >= attempts or not is_retryable(exc)
                            or room < min(self.timeout, 1.0) / 2):
                        raise
                    await asyncio.sleep(pause)
        except asyncio.CancelledError:
            self._record(command, params, method, status, start, "cancelled", done, None)
            raise
        except CloudStackError as exc:
            if done > 1 or isinstance(exc, ApiTimeout):
                took = time.monotonic() - start
                exc.detail += (f" ({done} attempt{'s' if done != 1 else ''}, "
                               f"{took:.1f} s in all)")
            self._scrub_exc(exc)
            status = getattr(exc, "http_status", None) or getattr(exc, "status", None) or status
            self._record(command, params, method, status, start, str(exc), done,
                         type(exc).__name__)
            raise
        finally:
            self._attempts.pop(token, None)
        self._record(command, params, method, status, start, "ok", done, None)
        return inner

    def _auth_params(self, command: str, params: dict[str, str], auth: bool) -> dict[str, str]:
        full = {"command": command, **params, "response": "json"}
        if not auth:
            return full
        if self.uses_keys:
            assert self.apikey and self.secretkey
            return signing.signed_params(full, self.apikey, self.secretkey,
                                         version=self.signature_version, ttl=self.expires_ttl)
        if self.sessionkey:
            full["sessionkey"] = self.sessionkey
        return full

    async def _bounded_exchange(self, command: str, params: dict[str, str], method: str,
                                auth: bool, limit: float) -> tuple[int, dict[str, Any]]:
        """One round trip that ends within ``limit`` seconds, however the server trickles
        (httpx's timeouts bound each read, not the whole answer)."""
        try:
            async with asyncio.timeout(max(limit, 0.0)):
                return await self._exchange(command, params, method, auth)
        except TimeoutError:
            raise ApiTimeout(self.server, command, f"no answer within {self.timeout:.1f} s",
                             hint="the management server is slow or hung: check it, or raise "
                             "the profile's timeout") from None

    async def _exchange(self, command: str, params: dict[str, str], method: str, auth: bool
                        ) -> tuple[int, dict[str, Any]]:
        """One HTTP round trip; returns (status, inner) or raises a typed error."""
        wire = self._auth_params(command, params, auth)
        encoded = signing.encode_query(wire)
        base = str(self._url.copy_with(query=None))
        try:
            if method == "GET":
                request = self._http.build_request("GET", f"{base}?{encoded}")
            else:
                request = self._http.build_request("POST", base, content=encoded.encode("ascii"),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
            resp = await send_capped(self._http, request, self.max_body, self.server, command)
        except httpx.HTTPError as exc:
            raise from_httpx(exc, self.server, command, self.timeout) from None
        ctype = resp.headers.get("content-type")
        try:
            _, inner = envelope.decode_body(self.server, command, resp.status_code, ctype,
                                            resp.content)
        except BadResponse as exc:
            described = resp.headers.get("x-description")
            if described and resp.status_code >= 400:
                # the servlet's X-Description carries errortext even when the body is not JSON
                cls = AuthError if resp.status_code in envelope.AUTH_STATUSES else ApiError
                raise cls(self.server, command, http_status=resp.status_code,
                          errortext=described, hint=status_hint(
                              resp.status_code, command, profile=self.profile_name,
                              session=not self.uses_keys)) from None
            exc.hint = body_hint(resp.status_code, resp.headers.get("location")) or exc.hint
            raise
        hint = status_hint(_status_of(inner, resp.status_code), command,
                           profile=self.profile_name, session=not self.uses_keys)
        err = envelope.error_from_inner(self.server, command, inner, resp.status_code, hint)
        if err is not None:
            raise err
        if resp.status_code != 200:
            raise ApiError(self.server, command, http_status=resp.status_code,
                           errortext=f"HTTP {resp.status_code} without error text",
                           hint=status_hint(resp.status_code, command, profile=self.profile_name,
                                            session=not self.uses_keys))
        return resp.status_code, inner

    def _scrub_exc(self, exc: CloudStackError) -> None:
        """No secret may survive in an error message."""
        exc.detail = self._scrub(exc.detail)
        if exc.hint:
            exc.hint = self._scrub(exc.hint)
        for attr in ("errortext", "snippet"):
            value = getattr(exc, attr, None)
            if isinstance(value, str):
                setattr(exc, attr, self._scrub(value))
        exc.args = (str(exc),)

    def _record(self, command: str, params: dict[str, str], method: str, status: int | None,
                start: float, outcome: str, attempts: int, error: str | None) -> None:
        if self.journal is None or (outcome == "ok" and in_background()):
            return  # a background poll is journalled only by what changed (or failed)
        shown = redact_params(params)
        if command == "updateConfiguration" and _SECRET_CONFIG.search(params.get("name", "")):
            shown["value"] = MASK
        fields: dict[str, Any] = {
            "server": self.server, "command": command, "params": shown, "method": method,
            "status": status, "duration_ms": round((time.monotonic() - start) * 1000, 1),
            "outcome": outcome,
        }
        if attempts > 1:
            fields["attempts"] = attempts
        if error:
            fields["error"] = error
        self.journal.record("api", **fields)

    # -- lists -----------------------------------------------------------------------------

    async def list_rows(self, command: str, model: type[M], **params: Any) -> list[M]:
        """Every row of a list command (all pages; page 1 first, the rest concurrently; when
        this client listed the same a moment ago, as many pages as it had go out at once).

        With an explicit ``page``/``pagesize`` only that page is fetched.
        """
        clean = _clean(params)
        if "page" in clean or "pagesize" in clean:
            return self._rows(command, model, await self._request(command, clean))
        key = (command, tuple(sorted(clean.items())))
        if not self._sizes_loaded:
            self._sizes_loaded = True
            self._list_sizes.update(list_sizes.load(self._sizes_file, self.server))
        rows = await self._list_all(command, model, clean, self._list_sizes.get(key, 0))
        if (len(rows) > self.page_size or key in self._list_sizes) and (
                self._list_sizes.get(key) != len(rows)):
            self._list_sizes[key] = len(rows)  # only lists of several pages are remembered
            self._sizes_dirty = True
        return rows

    async def _list_all(self, command: str, model: type[M], clean: dict[str, str],
                        predicted: int) -> list[M]:
        def first_pages() -> int:
            return min(max(1, math.ceil(predicted / self.page_size)), self.page_concurrency)

        async def fetch(page: int, size: int) -> tuple[list[M], int | None]:
            inner = await self._request(command, {**clean, "page": str(page),
                                                  "pagesize": str(size)})
            return self._rows(command, model, inner), envelope.list_count(inner)

        try:
            try:
                return await fetch_all(fetch, page_size=self.page_size,
                                       concurrency=self.page_concurrency,
                                       first_pages=first_pages())
            except ApiError as exc:
                cap = _PAGE_CAP.search(exc.errortext or "")
                if not cap or int(cap.group(1)) >= self.page_size or int(cap.group(1)) < 1:
                    raise
                self.page_size = int(cap.group(1))  # the server's default.page.size is smaller
                return await fetch_all(fetch, page_size=self.page_size,
                                       concurrency=self.page_concurrency,
                                       first_pages=first_pages())
        except ShortListing as short:
            raise self._partial(command, f"incomplete listing: {short} (the pages do not add "
                                "up to the server's count)", got=short.got,
                                expected=short.expected) from None

    def _rows(self, command: str, model: type[M], inner: dict[str, Any]) -> list[M]:
        """The rows of one list page; a page of the wrong shape is an error, never []."""
        problem = envelope.list_shape_problem(inner, model.object_name)
        if problem is not None:
            raise self._partial(command, f"malformed listing: {problem}")
        return envelope.parse_list(inner, model)

    def _partial(self, command: str, problem: str, *, got: int | None = None,
                 expected: int | None = None) -> PartialListing:
        """The error for a listing that cannot be complete, journalled."""
        err = PartialListing(self.server, command, problem, got=got, expected=expected)
        self._scrub_exc(err)
        if self.journal is not None:
            self.journal.record("api.partial_list", server=self.server, command=command,
                                error=str(err))
        return err

    async def list_zones(self, **params: Any) -> list[Zone]:
        return await self.list_rows("listZones", Zone, **params)

    async def list_pods(self, **params: Any) -> list[Pod]:
        return await self.list_rows("listPods", Pod, **params)

    async def list_hosts(self, **params: Any) -> list[Host]:
        return await self.list_rows("listHosts", Host, **params)

    async def list_system_vms(self, **params: Any) -> list[SystemVm]:
        """System VMs with ``agentstate``/``version`` always filled when CloudStack knows them.

        Servers before 4.13.1 lack those fields; they are joined from the VMs' own host
        records (listHosts type=ConsoleProxy / SecondaryStorageVM, host name == VM name).
        """
        vms = await self.list_rows("listSystemVms", SystemVm, **params)
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
        inner = await self._request("updateConfiguration",
                                    _clean({"name": name, "value": value, **scope}), post=True)
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
        inner = await self._request(command, _clean(params))
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


def _status_of(inner: dict[str, Any], http_status: int) -> int | None:
    code = inner.get("errorcode")
    try:
        return int(code) if code is not None else http_status
    except (TypeError, ValueError):
        return http_status


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
