"""Transport and retries: one request to CloudStack, from signing to a typed answer.

Everything here is the path every call takes (:meth:`ApiCaller.call`): the read-only gate,
authentication (keys or a session), GET or POST, the HTTP exchange with a capped body, the
envelope, retries of idempotent reads within a whole-call deadline, error messages scrubbed
of secrets, and the journal event. Listing (:mod:`cspctl.cloudstack.paging`) and the typed
commands (:mod:`cspctl.cloudstack.client`) build on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import httpx

from cspctl.cloudstack import envelope, list_sizes, signing
from cspctl.cloudstack.errors import (
    ApiError,
    ApiTimeout,
    AuthError,
    BadResponse,
    CloudStackError,
)
from cspctl.cloudstack.jobs import PollPolicy
from cspctl.cloudstack.models import Capabilities
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

    from cspctl.sessionlog.journal import Journal

POST_COMMANDS = frozenset({"login", "updateConfiguration"})
"""Always POST: credentials and configuration values stay out of URLs and proxy logs."""
MAX_GET_URL = 4000
_SECRET_CONFIG = re.compile(r"(?i)(password|secret|passwd|token|key)")


def _wire_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set):
        return ",".join(_wire_value(v) for v in value)
    return str(value)


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Drop None values, spell bools/lists the way CloudStack expects."""
    return {k: _wire_value(v) for k, v in params.items() if v is not None}


class ApiCaller:
    """The request path to one management server: signing or session login, one pooled
    keep-alive HTTP client, retries of idempotent reads within a deadline, typed errors with
    no secret in them, and one journal event per call.

    Authenticates with API key + secret (signature v3 by default, classic otherwise) or, with
    only username/password, logs in on first use and sends the session key (unsigned). The
    paging settings are kept here with the others (they size the connection pool).
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
        page_concurrency: int = 16,
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

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
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
        return await self._request(command, clean_params(params), post=post)

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


def _status_of(inner: dict[str, Any], http_status: int) -> int | None:
    code = inner.get("errorcode")
    try:
        return int(code) if code is not None else http_status
    except (TypeError, ValueError):
        return http_status
