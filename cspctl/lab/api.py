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
from typing import Any

from aiohttp import web

from cspctl.lab import responses
from cspctl.lab.actions import Actions
from cspctl.lab.api_commands import COMMANDS
from cspctl.lab.api_types import (
    GENERIC_401,
    INTERNAL_530,
    UNKNOWN_432,
    ApiFailure,
    Command,
    Credentials,
)
from cspctl.lab.auth import SessionStore, verify_signed_request
from cspctl.lab.jobs import JobManager
from cspctl.lab.world import LabSystemVm, World

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{12}$")

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
        assert isinstance(server, asyncio.Server)
        sock = server.sockets[0]
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
        text = responses.to_xml(key, body, self.world.version)
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
        """Apply page/pagesize exactly as BaseListCmd does (docs/cloudstack.md §3).

        Returns (slice, count)."""
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


__all__ = ["COMMANDS", "ApiFailure", "ApiServer", "Command", "Credentials"]
