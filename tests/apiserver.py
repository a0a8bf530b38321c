"""A loopback CloudStack API server for the client's tests (aiohttp.web, real socket).

Written independently of ``cspctl.cloudstack``: its own signature verifier, its own envelopes,
shaped after docs/cloudstack.md. Tests poke ``faults``, ``job_plans``, ``clock_offset``... and read
``requests`` to see what reached the wire.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import ssl
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

APIKEY = "Ek4-ZNQ9sBtTd3VaJ0yQ0X6_cspctl-lab-apikey-0001"
SECRETKEY = "q8VrN2r_Jd7Yt0wPz1sLxK4mC9bH3fA6uE5gT2iO-cspctl-lab-secret-0001"
AUTH_TEXT = "unable to verify user credentials and/or request signature"
ASYNC = {
    "startSystemVm", "stopSystemVm", "rebootSystemVm", "destroySystemVm", "migrateSystemVm",
    "runDiagnostics", "getDiagnosticsData", "provisionCertificate",
}


def server_encode(value: str) -> str:
    """java.net.URLEncoder + ``+``->``%20``, derived from urllib's quote (which keeps ``~``)."""
    return urllib.parse.quote(value, safe="*", encoding="utf-8").replace("~", "%7E")


def server_signature(params: dict[str, str], secret: str) -> str:
    names = sorted(n for n in params if n != "signature")
    text = "&".join(n + "=" + server_encode(params[n]) for n in names).lower()
    mac = hmac.new(secret.encode(), text.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


@dataclass
class Fault:
    """Answer a command with this instead (after authentication)."""

    status: int = 530
    body: str | None = None
    content_type: str = "application/json; charset=UTF-8"
    delay: float = 0.0
    errortext: str = "Internal error executing command, please contact your system administrator"
    cserrorcode: int | None = 4250
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    """Answer this way this many times, then normally again (None: always)."""
    page: str | None = None
    """Only for this ``page`` parameter of a list."""
    reset: bool = False
    """Drop the connection without an answer (a reset mid-request)."""


@dataclass
class JobPlan:
    """``succeed``/``fail`` after ``polls`` pending answers, or ``never`` finish."""

    outcome: str = "succeed"
    polls: int = 2
    errortext: str = "Job failed due to exception Unable to reboot system vm"


@dataclass
class Seen:
    method: str
    command: str
    params: dict[str, str]
    query_string: str
    body: str
    cookies: dict[str, str]


@dataclass
class _Job:
    jobid: str
    command: str
    plan: JobPlan
    instance: dict[str, Any]
    polls: int = 0
    result: dict[str, Any] = field(default_factory=dict)


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+0000")


class ApiServer:
    """``async with ApiServer(...) as srv: srv.url``."""

    def __init__(
        self,
        *,
        n_systemvms: int = 4,
        legacy: bool = False,
        latency: float = 0.0,
        content_type: str = "application/json; charset=UTF-8",
        users: dict[str, str] | None = None,
        max_page_size: int = 500,
        version: str = "4.8.0",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.ssl_context = ssl_context
        self.apikey, self.secretkey = APIKEY, SECRETKEY
        self.users = users if users is not None else {"admin": "pa ss+w/rd~"}
        self.legacy = legacy
        self.latency = latency
        self.content_type = content_type
        self.max_page_size = max_page_size
        self.version = version
        self.clock_offset = 0.0
        self.faults: dict[str, Fault] = {}
        self.job_plans: dict[str, JobPlan] = {}
        self.requests: list[Seen] = []
        self.in_flight = self.max_in_flight = 0
        """Requests being answered now, and the most ever at once (concurrency seen)."""
        self.claimed_counts: dict[str, int] = {}
        """``count`` to claim per list command instead of the true one (a lying server)."""
        self.sessions: dict[str, str] = {}  # sessionkey -> JSESSIONID
        self.jobs: dict[str, _Job] = {}
        self.configs: dict[str, dict[str, Any]] = {
            "consoleproxy.sslEnabled": {"category": "Console Proxy", "value": "false",
                                        "name": "consoleproxy.sslEnabled", "isdynamic": False},
            "consoleproxy.url.domain": {"category": "Console Proxy", "value": "",
                                        "name": "consoleproxy.url.domain"},
            "ca.plugin.root.private.key": {"category": "Hidden", "value": "",
                                           "name": "ca.plugin.root.private.key"},
        }
        self.systemvms = [self._vm(i) for i in range(1, n_systemvms + 1)]
        self.hosts = [self._vm_host(vm) for vm in self.systemvms] + [
            {"id": "host-kvm-1", "name": "kvm1", "state": "Up", "type": "Routing",
             "ipaddress": "10.0.0.11", "hypervisor": "KVM", "zoneid": "zone-1",
             "version": "4.8.0"}]
        self.zones = [{"id": "zone-1", "name": "zone1", "networktype": "Advanced",
                       "allocationstate": "Enabled", "dns1": "8.8.8.8", "zonetoken": "zt"}]
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- data -------------------------------------------------------------------------------

    def _vm(self, i: int) -> dict[str, Any]:
        cp = i % 2 == 1
        vm: dict[str, Any] = {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "systemvmtype": "consoleproxy" if cp else "secondarystoragevm",
            "zoneid": "zone-1", "zonename": "zone1", "dns1": "8.8.8.8",
            "name": f"{'v' if cp else 's'}-{i}-VM",
            "podid": "pod-1", "hostid": "host-kvm-1", "hostname": "kvm1",
            "privateip": f"10.1.{i // 250}.{i % 250}",
            "linklocalip": f"169.254.{i // 250}.{i % 250}",
            "publicip": f"192.0.2.{i % 250}", "state": "Running",
            "created": "2026-11-25T10:00:00+0900", "hypervisor": "KVM",
            "templatename": "systemvm-kvm-4.8",
        }
        if not self.legacy:
            vm["agentstate"] = "Up" if i != 1 else "Disconnected"
            vm["version"] = "4.8.0"
        return vm

    @staticmethod
    def _vm_host(vm: dict[str, Any]) -> dict[str, Any]:
        cp = vm["systemvmtype"] == "consoleproxy"
        return {"id": "h-" + vm["id"], "name": vm["name"],
                "state": "Disconnected" if vm["name"] == "v-1-VM" else "Up",
                "type": "ConsoleProxy" if cp else "SecondaryStorageVM",
                "ipaddress": vm["privateip"], "zoneid": "zone-1", "version": "4.8.0",
                "disconnected": "2026-11-25T11:00:00+0900"}

    # -- plumbing ---------------------------------------------------------------------------

    async def __aenter__(self) -> ApiServer:
        app = web.Application()
        app.router.add_route("*", "/client/api", self._handle)
        app.router.add_route("GET", "/client/", self._ui_page)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}/client/api"

    def commands(self) -> list[str]:
        return [r.command for r in self.requests]

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def _json(self, obj: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=json.dumps(obj, separators=(",", ":")).encode(),
                            headers={"Content-Type": self.content_type})

    def _error(self, command: str, code: int, text: str, cs: int | None = None) -> web.Response:
        inner: dict[str, Any] = {"uuidList": [], "errorcode": code}
        if cs is not None:
            inner["cserrorcode"] = cs
        inner["errortext"] = text
        key = (command.lower() if command else "error") + "response"
        return self._json({key: inner}, status=code)

    async def _ui_page(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body>CloudStack UI</body></html>",
                            content_type="text/html")

    # -- request handling -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        params: dict[str, str] = {}
        for k, v in request.rel_url.query.items():
            params.setdefault(k, v)  # the first value wins
        body = ""
        if request.method == "POST":
            body = await request.text()
            for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True):
                params.setdefault(k, v)
        command = params.get("command", "")
        self.requests.append(Seen(request.method, command, dict(params),
                                  request.rel_url.raw_query_string, body,
                                  dict(request.cookies)))
        if self.latency:
            await asyncio.sleep(self.latency)
        if command == "login":
            return self._login(request, params)
        if not self._authenticated(request, params):
            return self._error(command, 401, AUTH_TEXT)
        fault = self.faults.get(command)
        if fault is not None and fault.page is not None and params.get("page") != fault.page:
            fault = None
        if fault is not None and fault.times is not None:
            if fault.times <= 0:
                fault = None
            else:
                fault.times -= 1
        if fault is not None:
            if fault.reset:
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.body is not None:
                return web.Response(status=fault.status, body=fault.body.encode(),
                                    headers={"Content-Type": fault.content_type,
                                             **fault.headers})
            return self._error(command, fault.status, fault.errortext, fault.cserrorcode)
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            return self._error(command, 432,
                               "The given command does not exist or it is not available for user")
        return handler(params)

    def _authenticated(self, request: web.Request, params: dict[str, str]) -> bool:
        if "sessionkey" in params:
            jsession = self.sessions.get(params["sessionkey"])
            return jsession is not None and request.cookies.get("JSESSIONID") == jsession
        if params.get("apiKey") != self.apikey or "signature" not in params:
            return False
        if params.get("signatureVersion") == "3":
            try:
                expires = datetime.strptime(params.get("expires", ""), "%Y-%m-%dT%H:%M:%S%z")
            except ValueError:
                return False
            if expires < self.now():
                return False
        expected = server_signature(params, self.secretkey)
        return hmac.compare_digest(expected, params["signature"])

    def _login(self, request: web.Request, params: dict[str, str]) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405, text="Please use HTTP POST to authenticate using "
                                "this API", content_type="text/plain")
        user, password = params.get("username", ""), params.get("password", "")
        if self.users.get(user) != password:
            return self._error("login", 531, f"Failed to authenticate user {user} in domain 1; "
                               "please provide valid credentials")
        key = secrets.token_urlsafe(20)
        jsession = secrets.token_hex(16).upper()
        self.sessions[key] = jsession
        resp = self._json({"loginresponse": {
            "username": user, "userid": "u-1", "domainid": "d-1", "timeout": 1800,
            "account": "admin", "firstname": "Ad", "lastname": "Min", "type": "1",
            "timezone": "Asia/Tokyo", "registered": "false", "sessionkey": key}})
        resp.set_cookie("JSESSIONID", jsession, path="/client", httponly=True)
        resp.set_cookie("sessionkey", key, httponly=True)
        return resp

    def _cmd_logout(self, params: dict[str, str]) -> web.Response:
        self.sessions.pop(params.get("sessionkey", ""), None)
        return self._json({"logoutresponse": {"description": "success"}})

    # -- lists ------------------------------------------------------------------------------

    def _page(self, command: str, entity: str, rows: list[dict[str, Any]],
              params: dict[str, str]) -> web.Response:
        page, size = params.get("page"), params.get("pagesize")
        if size is not None and page is None:
            return self._error(command, 431,
                               '"page" parameter is required when "pagesize" is specified', 9999)
        if page is not None and size is None:
            return self._error(command, 431,
                               '"pagesize" parameter is required when "page" is specified', 9999)
        p, s = int(page or 1), int(size or self.max_page_size)
        if s > self.max_page_size:
            return self._error(command, 431, "Page size can't exceed max allowed page size "
                               f"value: {self.max_page_size}", 9999)
        key = command.lower() + "response"
        if not rows:
            return self._json({key: {}})
        chunk = rows[(p - 1) * s: p * s]
        inner: dict[str, Any] = {"count": self.claimed_counts.get(command, len(rows))}
        if chunk:
            inner[entity] = chunk
        return self._json({key: inner})

    def _cmd_listSystemVms(self, params: dict[str, str]) -> web.Response:
        rows = [vm for vm in self.systemvms
                if all(vm.get(f) == params[f] for f in ("id", "systemvmtype", "zoneid", "state")
                       if f in params)]
        return self._page("listSystemVms", "systemvm", rows, params)

    def _cmd_listHosts(self, params: dict[str, str]) -> web.Response:
        rows = [h for h in self.hosts
                if all(h.get(f) == params[f] for f in ("id", "type", "zoneid") if f in params)]
        return self._page("listHosts", "host", rows, params)

    def _cmd_listZones(self, params: dict[str, str]) -> web.Response:
        return self._page("listZones", "zone", self.zones, params)

    def _cmd_listPods(self, params: dict[str, str]) -> web.Response:
        return self._page("listPods", "pod", [{"id": "pod-1", "name": "pod1",
                                               "zoneid": "zone-1"}], params)

    def _cmd_listConfigurations(self, params: dict[str, str]) -> web.Response:
        rows = [c for n, c in self.configs.items() if params.get("name", "") in n]
        return self._page("listConfigurations", "configuration", rows, params)

    def _cmd_updateConfiguration(self, params: dict[str, str]) -> web.Response:
        name = params.get("name", "")
        if name not in self.configs:
            return self._error("updateConfiguration", 431,
                               f"Configuration {name} does not exist", 4350)
        self.configs[name] = {**self.configs[name], "value": params.get("value", "")}
        return self._json({"updateconfigurationresponse": {"configuration": self.configs[name]}})

    def _cmd_listCapabilities(self, params: dict[str, str]) -> web.Response:
        return self._json({"listcapabilitiesresponse": {"capability": {
            "cloudstackversion": self.version, "securitygroupsenabled": False,
            "apilimitinterval": 1, "apilimitmax": 500, "kvmsnapshotenabled": False}}})

    def _cmd_listManagementServers(self, params: dict[str, str]) -> web.Response:
        return self._page("listManagementServers", "managementserver", [
            {"id": "ms-1", "name": "mgmt1", "state": "Up", "version": self.version}], params)

    def _cmd_listAlerts(self, params: dict[str, str]) -> web.Response:
        return self._page("listAlerts", "alert", [
            {"id": "a-1", "type": 10, "name": "ALERT.SERVICE.CONSOLEPROXY",
             "description": "Console proxy down", "sent": "2026-11-25T11:00:00+0900"}], params)

    def _cmd_listEvents(self, params: dict[str, str]) -> web.Response:
        return self._page("listEvents", "event", [], params)

    # -- async jobs -------------------------------------------------------------------------

    def _submit(self, command: str, params: dict[str, str]) -> web.Response:
        vm_id = params.get("id") or params.get("virtualmachineid") or params.get("targetid", "")
        vm = next((v for v in self.systemvms if v["id"] == vm_id), None)
        if vm is None and command not in ("provisionCertificate",):
            return self._error(command, 431, f"Unable to execute API command "
                               f"{command.lower()} due to invalid value {vm_id} for parameter id",
                               4350)
        jobid = f"job-{len(self.jobs) + 1:04d}"
        plan = self.job_plans.get(command, JobPlan())
        if command == "runDiagnostics":
            result = {"diagnostics": {"stdout": "PING ok", "stderr": "", "exitcode": "0"}}
        elif command == "getDiagnosticsData":
            result = {"diagnostics": {"url": "http://192.0.2.1/diag.zip"}}
        elif command == "provisionCertificate":
            result = {"success": True}
        else:
            state = {"stopSystemVm": "Stopped", "destroySystemVm": "Destroyed"}.get(
                command, "Running")
            result = {"systemvm": {**(vm or {}), "state": state}}
        self.jobs[jobid] = _Job(jobid, command, plan, vm or {}, result=result)
        return self._json({command.lower() + "response": {"jobid": jobid}})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_cmd_") and name[5:] in ASYNC:
            command = name[5:]
            return lambda params: self._submit(command, params)
        raise AttributeError(name)

    def _cmd_queryAsyncJobResult(self, params: dict[str, str]) -> web.Response:
        job = self.jobs.get(params.get("jobid", ""))
        if job is None:
            return self._error("queryAsyncJobResult", 431, "Unable to find job", 9999)
        job.polls += 1
        base = {"accountid": "acc-1", "userid": "u-1",
                "cmd": f"org.apache.cloudstack.api.command.admin.systemvm.{job.command}Cmd",
                "jobinstancetype": "SystemVm", "jobinstanceid": job.instance.get("id"),
                "created": _fmt(self.now()), "jobid": job.jobid}
        done = job.plan.outcome != "never" and job.polls > job.plan.polls
        if not done:
            body = {**base, "jobstatus": 0, "jobprocstatus": 0, "jobresultcode": 0}
        elif job.plan.outcome == "succeed":
            body = {**base, "jobstatus": 1, "jobprocstatus": 0, "jobresultcode": 0,
                    "jobresulttype": "object", "jobresult": job.result,
                    "completed": _fmt(self.now())}
        else:
            body = {**base, "jobstatus": 2, "jobprocstatus": 0, "jobresultcode": 530,
                    "jobresulttype": "object",
                    "jobresult": {"errorcode": 530, "errortext": job.plan.errortext},
                    "completed": _fmt(self.now())}
        return self._json({"queryasyncjobresultresponse": body})
