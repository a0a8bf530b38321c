"""The lab's management server: ``/client/api`` on aiohttp.web, CloudStack's wire format.

Answers JSON for ``response=json`` and a short XML document otherwise (CloudStack's default
is XML; the lab's XML covers the same objects, element per field). Envelopes, error keys,
HTTP codes and texts follow docs/cloudstack.md §1-§5; era differences follow the world's
management-server version. Boundaries the sources leave open, chosen here:
  * unknown command: 432 ``errorresponse`` before 4.15, the generic 401 from 4.15 on;
  * ``login`` by GET: 405 plain text in every era; Content-Type from ``json.content.type``
    (``text/javascript`` on 4.8-4.10 worlds, ``application/json`` on 4.11+);
  * v3 ``expires``: strict ``yyyy-MM-dd'T'HH:mm:ssZ`` before 4.12, ISO forms accepted after;
  * session key: 4.x takes it from cookie or parameter, 4.15+ needs the parameter;
  * control characters in a value: 431 on 4.15+ (text not taken from a real server).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from cspctl.lab import responses
from cspctl.lab.actions import Actions
from cspctl.lab.auth import SessionStore, verify_signed_request
from cspctl.lab.faults import failing
from cspctl.lab.jobs import JobManager
from cspctl.lab.world import CPVM, SSVM, LabSystemVm, World

log = logging.getLogger(__name__)

GENERIC_401 = "unable to verify user credentials and/or request signature"
UNKNOWN_432 = "The given command does not exist or it is not available for user"
INTERNAL_530 = "Internal error executing command, please contact your system administrator"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{12}$")


class ApiFailure(Exception):
    """An error answer: HTTP status = errorcode; ``cserrorcode`` None for auth failures."""

    def __init__(self, status: int, text: str, cserrorcode: int | None = 9999,
                 key: str | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.cserrorcode = cserrorcode
        self.key = key


@dataclass
class Credentials:
    apikey: str
    secretkey: str
    username: str
    password: str
    domain: str = "/"


@dataclass(frozen=True)
class Command:
    handler: Callable[[ApiServer, str, dict[str, str]], Any]
    since: str = "0"
    is_async: bool = False


def response_name(command: str) -> str:
    return command.lower() + "response"


def _header_safe(text: str) -> str:
    """A header value from text that may echo client input: no CR/LF, ASCII only."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:1024]


def _pairs(values: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Case-insensitive parameter map (lower-cased names), first value wins."""
    out: dict[str, str] = {}
    for name, value in values:
        out.setdefault(name.lower(), value)
    return out


# ----- XML rendering (response != json) -------------------------------------------------------

def _xml_value(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_xml_value(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        return "".join(_xml_value(name, v) for v in value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def to_xml(key: str, body: dict[str, Any], version: str) -> str:
    inner = "".join(_xml_value(k, v) for k, v in body.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?><{key} cloud-stack-version="{version}">'
            f"{inner}</{key}>")


class ApiServer:
    """Simulated CloudStack management server bound to a World."""

    def __init__(self, world: World, credentials: Credentials) -> None:
        self.world = world
        self.creds = credentials
        self.jobs = JobManager(world)
        self.actions = Actions(world, self.jobs)
        self.sessions = SessionStore()
        self.requests = 0
        self._fault_rng = random.Random(f"{world.scenario}-faults")
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.port = 0

    # ----- lifecycle ------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/client/api", self.handle)
        app.router.add_route("POST", "/client/api", self.handle)
        app.router.add_route("GET", "/client/api/", self.handle)
        app.router.add_route("POST", "/client/api/", self.handle)
        app.router.add_route("GET", "/client/", self.ui_page)
        app.router.add_route("GET", "/client", self.ui_page)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        sock = server.sockets[0]  # type: ignore[attr-defined]  # an asyncio.Server
        self.port = sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}/client/api"
        return self.url

    async def stop(self) -> None:
        await self.jobs.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----- HTTP plumbing -------------------------------------------------------------------
    @property
    def content_type(self) -> str:
        ctype = self.world.config_value("json.content.type") or "application/json"
        return f"{ctype}; charset=UTF-8"

    def _headers(self) -> dict[str, str]:
        if self.world.at_least("4.15"):
            return {"X-Content-Type-Options": "nosniff", "X-XSS-Protection": "1;mode=block"}
        return {}

    def _answer(self, key: str, body: dict[str, Any], *, status: int = 200, as_json: bool,
                extra: dict[str, str] | None = None) -> web.Response:
        headers = self._headers()
        if extra:
            headers.update(extra)
        if as_json:
            text = json.dumps({key: body}, separators=(",", ":"), ensure_ascii=False)
            return web.Response(status=status, body=text.encode("utf-8"),
                                headers={**headers, "Content-Type": self.content_type})
        text = to_xml(key, body, self.world.version)
        return web.Response(status=status, body=text.encode("utf-8"),
                            headers={**headers, "Content-Type": "text/xml; charset=UTF-8"})

    def _error(self, key: str, failure: ApiFailure, *, as_json: bool) -> web.Response:
        body: dict[str, Any] = {"uuidList": [], "errorcode": failure.status}
        if failure.cserrorcode is not None:
            body["cserrorcode"] = failure.cserrorcode
        body["errortext"] = failure.text
        return self._answer(failure.key or key, body, status=failure.status, as_json=as_json,
                            extra={"X-Description": _header_safe(failure.text)})

    async def ui_page(self, request: web.Request) -> web.Response:
        """What a browser (or a client whose URL lacks /api) gets: the UI's HTML."""
        return web.Response(text="<!DOCTYPE html><html><head><title>Apache CloudStack</title>"
                                 "</head><body><div id=\"cloudStack3-container\"></div>"
                                 "</body></html>", content_type="text/html")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        faults = self.world.faults
        if faults.api_latency > 0:
            await asyncio.sleep(faults.api_latency)
        pairs: list[tuple[str, str]] = list(request.query.items())
        if request.method == "POST":
            form = await request.post()
            pairs += [(k, v) for k, v in form.items() if isinstance(v, str)]
        params = _pairs(pairs)
        as_json = params.get("response", "").lower() == "json"
        command = params.get("command")
        if not command:
            return self._error("errorresponse", ApiFailure(400, "no command specified", None),
                               as_json=as_json)
        key = response_name(command)
        if self.world.at_least("4.15"):
            bad = next((n for n, v in pairs if _CONTROL.search(v)), None)
            if bad is not None:
                return self._error(key, ApiFailure(
                    431, f"Received value containing control characters for parameter "
                    f"{bad}"), as_json=as_json)
        if command == "login":
            return await self._login(request, params, as_json)
        spec = COMMANDS.get(command)
        known = spec is not None and self.world.at_least(spec.since)
        if not self._authenticated(request, pairs, params):
            return self._error(key if known or command == "logout" else "errorresponse",
                               ApiFailure(401, GENERIC_401, None), as_json=as_json)
        if command == "logout":
            return self._logout(request, as_json)
        if not known or spec is None:
            if self.world.at_least("4.15"):
                failure = ApiFailure(401, GENERIC_401, None)
            else:
                failure = ApiFailure(432, UNKNOWN_432, 9999)
            return self._error("errorresponse", failure, as_json=as_json)
        if faults.api_error_rate > 0 and self._fault_rng.random() < faults.api_error_rate:
            return self._error(key, ApiFailure(530, INTERNAL_530, 4250), as_json=as_json)
        try:
            body = spec.handler(self, command, params)
        except ApiFailure as failure:
            return self._error(key, failure, as_json=as_json)
        except Exception:  # a lab bug: answer like CloudStack's unhandled-exception path
            log.exception("lab API: %s failed", command)
            return self._error(key, ApiFailure(530, INTERNAL_530, 4250), as_json=as_json)
        return self._answer(key, body, as_json=as_json)

    # ----- authentication ------------------------------------------------------------------
    def _authenticated(self, request: web.Request, pairs: list[tuple[str, str]],
                       params: dict[str, str]) -> bool:
        now = self.world.clock.now()
        jsid = request.cookies.get("JSESSIONID")
        session = self.sessions.get(jsid, now)
        if session is not None and ("sessionkey" in params or "apikey" not in params):
            param_key = params.get("sessionkey")
            cookie_key = request.cookies.get("sessionkey")
            if self.world.at_least("4.15"):
                ok = param_key == session.sessionkey and cookie_key in (None,
                                                                        session.sessionkey)
            else:  # 4.x: the key from cookie or parameter; each present one must match
                given = [k for k in (param_key, cookie_key) if k is not None]
                ok = bool(given) and all(k == session.sessionkey for k in given)
            if ok:
                self.sessions.touch(session, now)
            return ok
        if "apikey" not in params:
            return False
        if params["apikey"] != self.creds.apikey:
            return False
        return verify_signed_request(pairs, self.creds.secretkey, now=now,
                                     lenient_expires=self.world.at_least("4.12"))

    async def _login(self, request: web.Request, params: dict[str, str],
                     as_json: bool) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405,
                                text="Please use HTTP POST to authenticate using this API",
                                content_type="text/plain")
        username = params.get("username", "")
        password = params.get("password", "")
        domain = params.get("domain", "/") or "/"
        if not domain.startswith("/"):
            domain = "/" + domain
        if not domain.endswith("/"):
            domain += "/"
        if "domainid" not in params and domain != "/":
            return self._error("loginresponse", ApiFailure(
                531, f"Unable to find the domain from the path {domain}", None),
                as_json=as_json)
        if username != self.creds.username or password != self.creds.password:
            return self._error("loginresponse", ApiFailure(
                531, f"Failed to authenticate user {username} in domain 1; please provide "
                "valid credentials", None), as_json=as_json)
        now = self.world.clock.now()
        session = self.sessions.create(username, now, jetty=self.world.at_least("4.11"))
        w = self.world
        body: dict[str, Any] = {
            "username": username, "userid": w.user_id, "domainid": w.domain_id,
            "timeout": int(self.sessions.timeout), "account": "admin",
            "firstname": "Admin", "lastname": "User", "type": "1",
            "timezone": "UTC", "timezoneoffset": "0.0", "registered": "false",
            "sessionkey": session.sessionkey,
        }
        if w.at_least("4.18"):
            body.update({"is2faenabled": "false", "is2faverified": "true",
                         "providerfor2fa": "", "issuerfor2fa": "CloudStack"})
        resp = self._answer("loginresponse", body, as_json=as_json)
        resp.set_cookie("JSESSIONID", session.jsessionid, path="/client", httponly=True)
        resp.set_cookie("sessionkey", session.sessionkey, path="/client", httponly=True)
        return resp

    def _logout(self, request: web.Request, as_json: bool) -> web.Response:
        session = self.sessions.get(request.cookies.get("JSESSIONID"), self.world.clock.now())
        if session is not None:
            self.sessions.drop(session)
        resp = self._answer("logoutresponse", {"description": "success"}, as_json=as_json)
        resp.del_cookie("JSESSIONID", path="/client")
        resp.del_cookie("sessionkey", path="/client")
        return resp

    # ----- parameter helpers (431s) ----------------------------------------------------------
    @staticmethod
    def missing(command: str, name: str) -> ApiFailure:
        return ApiFailure(431, f"Unable to execute API command {command.lower()} due to "
                               f"missing parameter {name}")

    @staticmethod
    def invalid(command: str, name: str, value: str) -> ApiFailure:
        return ApiFailure(431, f"Unable to execute API command {command.lower()} due to "
                               f"invalid value {value} for parameter {name}")

    @staticmethod
    def no_entity(command: str, name: str, value: str) -> ApiFailure:
        return ApiFailure(431, f"Unable to execute API command {command.lower()} due to "
                               f"invalid value. Invalid parameter {name} value={value} due to "
                               "incorrect long value format, or entity does not exist or due "
                               "to incorrect parameter annotation for the field in api cmd "
                               "class.")

    def required(self, command: str, params: dict[str, str], name: str) -> str:
        value = params.get(name)
        if value is None or value == "":
            raise self.missing(command, name)
        return value

    def uuid_param(self, command: str, params: dict[str, str], name: str,
                   known: Callable[[str], bool], *, required: bool = False) -> str | None:
        value = params.get(name)
        if value is None or value == "":
            if required:
                raise self.missing(command, name)
            return None
        if not _UUID_RE.match(value) or not known(value):
            raise self.no_entity(command, name, value)
        return value

    def int_param(self, command: str, params: dict[str, str], name: str) -> int | None:
        value = params.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise self.invalid(command, name, value) from None

    def bool_param(self, command: str, params: dict[str, str], name: str) -> bool | None:
        value = params.get(name)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise self.invalid(command, name, value)
        return value.lower() == "true"

    def page(self, command: str, params: dict[str, str], rows: list[Any]
             ) -> tuple[list[Any], int]:
        """Apply page/pagesize exactly as BaseListCmd does (§3); returns (slice, count)."""
        page = self.int_param(command, params, "page")
        size = self.int_param(command, params, "pagesize")
        max_size = int(self.world.config_value("default.page.size") or 500)
        if size is not None and page is None and size != -1:
            raise ApiFailure(431, '"page" parameter is required when "pagesize" is specified')
        if page is not None and size is None:
            raise ApiFailure(431, '"pagesize" parameter is required when "page" is specified')
        if size == -1 and page is not None:
            raise ApiFailure(431, "Can't specify page parameter when pagesize is -1 "
                                  "(Unlimited)")
        if size is not None and size != -1:
            if size < 1:
                raise self.invalid(command, "pagesize", str(size))
            if max_size != -1 and size > max_size:
                raise ApiFailure(431, "Page size can't exceed max allowed page size value: "
                                      f"{max_size}")
        if page is not None and page < 1:
            raise self.invalid(command, "page", str(page))
        total = len(rows)
        if size == -1 or (size is None and max_size == -1):
            return rows, total
        size = size or max_size
        start = ((page or 1) - 1) * size
        return rows[start:start + size], total

    def listing(self, command: str, params: dict[str, str], rows: list[Any], entity: str,
                render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        chunk, total = self.page(command, params, rows)
        if total == 0:
            return {}
        if not chunk:
            return {"count": total}
        return {"count": total, entity: [render(r) for r in chunk]}

    def vm_param(self, command: str, params: dict[str, str], name: str) -> LabSystemVm:
        vm_id = self.uuid_param(command, params, name,
                                lambda v: self.world.vm_by_id(v) is not None, required=True)
        vm = self.world.vm_by_id(vm_id or "")
        assert vm is not None
        return vm

    def async_submit(self, command: str, body: Callable[[], Awaitable[dict[str, Any]]],
                     vm: LabSystemVm | None,
                     *, instance_type: str | None = "SystemVm",
                     instance_id: str | None = None) -> dict[str, Any]:
        def mark(job: Any) -> None:
            if vm is not None:
                vm.job_id = job.id

        async def run() -> dict[str, Any]:
            try:
                return await body()
            finally:
                if vm is not None and vm.job_id == job.id:
                    vm.job_id = None

        job = self.jobs.submit(command, run, instance_type=instance_type,
                               instance_id=vm.id if vm else instance_id,
                               lock_key=vm.id if vm else None, on_start=mark)
        return {"jobid": job.id}


def _kw(params: dict[str, str]) -> str | None:
    kw = params.get("keyword")
    return kw.lower() if kw else None


# ----- command handlers ---------------------------------------------------------------------

def list_zones(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    zid = s.uuid_param(cmd, p, "id", lambda v: any(z.id == v for z in w.zones))
    rows = [z for z in w.zones
            if (zid is None or z.id == zid)
            and (p.get("name") is None or z.name == p["name"])
            and (p.get("networktype") is None or z.networktype.lower()
                 == p["networktype"].lower())
            and (_kw(p) is None or _kw(p) in z.name.lower())]  # type: ignore[operator]
    s.bool_param(cmd, p, "available")
    s.bool_param(cmd, p, "showcapacities")
    return s.listing(cmd, p, rows, "zone", lambda z: responses.zone(w, z))


def list_pods(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    pid = s.uuid_param(cmd, p, "id", lambda v: any(x.id == v for x in w.pods))
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    rows = [x for x in w.pods
            if (pid is None or x.id == pid) and (zid is None or x.zone.id == zid)
            and (p.get("name") is None or x.name == p["name"])
            and (p.get("allocationstate") is None
                 or x.allocationstate.lower() == p["allocationstate"].lower())
            and (_kw(p) is None or _kw(p) in x.name.lower())]  # type: ignore[operator]
    return s.listing(cmd, p, rows, "pod", lambda x: responses.pod(w, x))


def list_system_vms(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    vid = s.uuid_param(cmd, p, "id", lambda v: w.vm_by_id(v) is not None)
    hid = s.uuid_param(cmd, p, "hostid", lambda v: w.host_by_id(v) is not None)
    pid = s.uuid_param(cmd, p, "podid", lambda v: any(x.id == v for x in w.pods))
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    vtype = p.get("systemvmtype")
    if vtype is not None and vtype.lower() not in (CPVM, SSVM):
        vtype = "--none--"
    state = (p.get("state") or "").lower()
    name = p.get("name")
    kw = _kw(p)
    rows = [vm for vm in w.live_vms()
            if (vid is None or vm.id == vid)
            and (hid is None or (vm.host is not None and vm.host.id == hid))
            and (pid is None or vm.pod.id == pid) and (zid is None or vm.zone.id == zid)
            and (vtype is None or vm.vm_type == vtype.lower())
            and (not state or vm.state.lower() == state)
            and (name is None or vm.name == name)
            and (kw is None or kw in vm.name.lower())]
    return s.listing(cmd, p, rows, "systemvm", lambda vm: responses.system_vm(w, vm))


def list_hosts(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    known_ids = lambda v: w.host_by_id(v) is not None or any(  # noqa: E731
        vm.agent_host_id == v for vm in w.live_vms())
    hid = s.uuid_param(cmd, p, "id", known_ids)
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    pid = s.uuid_param(cmd, p, "podid", lambda v: any(x.id == v for x in w.pods))
    cid = s.uuid_param(cmd, p, "clusterid", lambda v: any(c.id == v for c in w.clusters))
    htype = (p.get("type") or "").lower()
    state = (p.get("state") or "").lower()
    name = p.get("name")
    kw = _kw(p)
    rows: list[tuple[str, Any]] = []
    if htype in ("", "routing"):
        for h in w.hosts:
            if (hid is None or h.id == hid) and (zid is None or h.zone.id == zid) \
                    and (pid is None or h.pod.id == pid) \
                    and (cid is None or h.cluster.id == cid) \
                    and (name is None or h.name == name) \
                    and (kw is None or kw in h.name.lower()) \
                    and (not state or h.state.lower() == state) \
                    and (p.get("hypervisor") is None
                         or h.hypervisor.lower() == p["hypervisor"].lower()) \
                    and (p.get("resourcestate") is None
                         or h.resourcestate.lower() == p["resourcestate"].lower()):
                rows.append(("host", h))
    if htype in ("", "consoleproxy", "secondarystoragevm") and cid is None \
            and p.get("hypervisor") is None:
        for vm in w.live_vms():
            if htype and vm.host_type.lower() != htype:
                continue
            if vm.state in ("Destroyed", "Expunging"):
                continue
            if (hid is None or vm.agent_host_id == hid) and (zid is None or vm.zone.id == zid) \
                    and (pid is None or vm.pod.id == pid) \
                    and (name is None or vm.name == name) \
                    and (kw is None or kw in vm.name.lower()) \
                    and (not state or vm.agent_state().lower() == state):
                rows.append(("vm", vm))

    def render(row: tuple[str, Any]) -> dict[str, Any]:
        kind, obj = row
        return responses.routing_host(w, obj) if kind == "host" \
            else responses.agent_host(w, obj)

    return s.listing(cmd, p, rows, "host", render)


def list_configurations(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    name = (p.get("name") or "").lower()
    category = (p.get("category") or "").lower()
    kw = _kw(p)
    rows = [c for c in w.configs.values()
            if (not name or name in c.name.lower())
            and (not category or c.category.lower() == category)
            and (kw is None or kw in c.name.lower())]
    return s.listing(cmd, p, rows, "configuration", lambda c: responses.configuration(w, c))


def update_configuration(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    name = s.required(cmd, p, "name")
    cfg = w.configs.get(name)
    if cfg is None:
        raise ApiFailure(431, f"Config parameter with name {name} doesn't exist", 4350)
    value = p.get("value", "")
    if name == "default.page.size":
        try:
            if int(value) < -1 or int(value) == 0:
                raise ValueError
        except ValueError:
            raise ApiFailure(431, f"Please enter a valid value for the parameter {name}",
                             4350) from None
    if failing(w.faults, "update-config"):
        raise ApiFailure(530, f"Failed to update configuration value of {name}: database "
                              "update failed", 9999)
    cfg.value = value
    w.add_event("CONFIGURATION.VALUE.EDIT", f"Successfully edited configuration value: {name}")
    return {"configuration": responses.configuration(w, cfg)}


def list_capabilities(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    return {"capability": responses.capabilities(s.world)}


def list_management_servers(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    mid = s.uuid_param(cmd, p, "id", lambda v: v == w.mgmt.id)
    rows = [w.mgmt] if (mid in (None, w.mgmt.id)
                        and p.get("name") in (None, w.mgmt.name)) else []
    return s.listing(cmd, p, rows, "managementserver",
                     lambda _m: responses.management_server(w))


def list_alerts(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    aid = s.uuid_param(cmd, p, "id", lambda v: any(a.id == v for a in w.alerts))
    atype = s.int_param(cmd, p, "type")
    kw = _kw(p)
    rows = [a for a in reversed(w.alerts)
            if (aid is None or a.id == aid) and (atype is None or a.type == atype)
            and (p.get("name") is None or a.name == p["name"])
            and (kw is None or kw in a.description.lower())]
    return s.listing(cmd, p, rows, "alert", lambda a: responses.alert(w, a))


def _date_param(s: ApiServer, cmd: str, p: dict[str, str], name: str, *,
                end: bool = False) -> float | None:
    """``yyyy-MM-dd`` or ``yyyy-MM-dd HH:mm:ss`` in the server's zone (listEvents)."""
    value = p.get(name)
    if value is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt).replace(tzinfo=s.world.clock.tz)
        except ValueError:
            continue
        bump = 86400 if end and fmt == "%Y-%m-%d" else 0
        return parsed.timestamp() + bump
    raise s.invalid(cmd, name, value)


def list_events(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    eid = s.uuid_param(cmd, p, "id", lambda v: any(e.id == v for e in w.events))
    etype = p.get("type")
    level = (p.get("level") or "").upper()
    kw = _kw(p)
    s.bool_param(cmd, p, "listall")
    start = _date_param(s, cmd, p, "startdate")
    end = _date_param(s, cmd, p, "enddate", end=True)
    rows = [e for e in reversed(w.events)
            if (eid is None or e.id == eid) and (etype is None or e.type == etype)
            and (not level or e.level == level)
            and (start is None or e.created >= start) and (end is None or e.created < end)
            and (kw is None or kw in e.description.lower() or kw in e.type.lower())]
    return s.listing(cmd, p, rows, "event", lambda e: responses.event(w, e))


def query_async_job_result(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    jobid = s.required(cmd, p, "jobid")
    job = s.jobs.get(jobid)
    if job is None:
        raise s.no_entity(cmd, "jobid", jobid)
    return s.jobs.render(job)


def start_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    return s.async_submit(cmd, lambda: s.actions.start(vm), vm)


def stop_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    s.bool_param(cmd, p, "forced")
    return s.async_submit(cmd, lambda: s.actions.stop(vm), vm)


def reboot_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    forced = s.bool_param(cmd, p, "forced")
    if forced and not s.world.at_least("4.16"):
        pass  # parameter unknown before 4.16: ignored, as CloudStack ignores unknown params
    return s.async_submit(cmd, lambda: s.actions.reboot(vm), vm)


def destroy_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    return s.async_submit(cmd, lambda: s.actions.destroy(vm), vm)


def migrate_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    vm = s.vm_param(cmd, p, "virtualmachineid")
    hid = s.uuid_param(cmd, p, "hostid", lambda v: w.host_by_id(v) is not None)
    if hid is None:
        if not s.bool_param(cmd, p, "autoselect") and not w.at_least("4.16"):
            raise s.missing(cmd, "hostid")
        if vm.host is None:
            raise ApiFailure(431, f"Unable to find suitable destination to migrate VM {vm.name}",
                             4350)
        dest = w.pick_host(vm.pod, avoid=vm.host)
    else:
        dest = w.host_by_id(hid)  # type: ignore[assignment]
        assert dest is not None
    if vm.state != "Running":
        raise ApiFailure(431, f"VM is not Running, unable to migrate the vm {vm.name}", 4350)
    if dest is vm.host:
        raise ApiFailure(431, f"Cannot migrate VM, destination host is same as current host: "
                              f"{dest.name}", 4350)
    return s.async_submit(cmd, lambda: s.actions.migrate(vm, dest), vm)


def run_diagnostics(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "targetid")
    address = s.required(cmd, p, "ipaddress")
    type_ = s.required(cmd, p, "type").lower()
    if type_ not in ("ping", "traceroute", "arping"):
        raise s.invalid(cmd, "type", p["type"])
    extra = p.get("params")
    return s.async_submit(cmd, lambda: s.actions.diagnostics(vm, type_, address, extra), vm)


def get_diagnostics_data(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "targetid")
    return s.async_submit(cmd, lambda: s.actions.diagnostics_data(vm), vm)


def provision_certificate(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    hid = s.uuid_param(cmd, p, "hostid", lambda v: w.host_by_id(v) is not None or any(
        vm.agent_host_id == v for vm in w.live_vms()), required=True)
    vm = next((v for v in w.live_vms() if v.agent_host_id == hid), None)
    if vm is None:  # a hypervisor host: nothing to model beyond a quick success
        async def done() -> dict[str, Any]:
            await w.clock.sleep(2.0)
            return {"success": True}
        return s.async_submit(cmd, done, None, instance_type="Host", instance_id=hid)
    return s.async_submit(cmd, lambda: s.actions.provision_certificate(vm), vm)


def patch_system_vm(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    vm = s.vm_param(cmd, p, "id")
    forced = bool(s.bool_param(cmd, p, "forced"))
    return s.async_submit(cmd, lambda: s.actions.patch(vm, forced), vm)


COMMANDS: dict[str, Command] = {
    "listZones": Command(list_zones),
    "listPods": Command(list_pods),
    "listSystemVms": Command(list_system_vms),
    "listHosts": Command(list_hosts),
    "listConfigurations": Command(list_configurations),
    "updateConfiguration": Command(update_configuration),
    "listCapabilities": Command(list_capabilities),
    "listManagementServers": Command(list_management_servers),
    "listAlerts": Command(list_alerts),
    "listEvents": Command(list_events),
    "queryAsyncJobResult": Command(query_async_job_result),
    "startSystemVm": Command(start_system_vm, is_async=True),
    "stopSystemVm": Command(stop_system_vm, is_async=True),
    "rebootSystemVm": Command(reboot_system_vm, is_async=True),
    "destroySystemVm": Command(destroy_system_vm, is_async=True),
    "migrateSystemVm": Command(migrate_system_vm, is_async=True),
    "runDiagnostics": Command(run_diagnostics, since="4.12", is_async=True),
    "getDiagnosticsData": Command(get_diagnostics_data, since="4.14", is_async=True),
    "provisionCertificate": Command(provision_certificate, since="4.11", is_async=True),
    "patchSystemVm": Command(patch_system_vm, since="4.17", is_async=True),
    "logout": Command(lambda s, c, p: {}),
}



# secondary storage (issue 13: no-ssvm-for-store)
from cspctl.lab import api_storage  # noqa: E402

COMMANDS["listImageStores"] = Command(api_storage.list_image_stores, since="4.2")
COMMANDS["listTemplates"] = Command(api_storage.list_templates)
