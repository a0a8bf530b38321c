"""Translate httpx failures and CloudStack status codes into typed, hinted errors."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from cspctl.cloudstack.errors import (
    ApiConnectError,
    ApiError,
    ApiTimeout,
    BadResponse,
    CloudStackError,
    ResponseTooLarge,
    TlsError,
    TransportError,
)

IDEMPOTENT_PREFIXES = ("list", "query", "get")
ASYNC_COMMANDS = frozenset(
    {"startSystemVm", "stopSystemVm", "rebootSystemVm", "destroySystemVm", "migrateSystemVm",
     "runDiagnostics", "getDiagnosticsData", "provisionCertificate"}
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY = 64 * 2**20
"""Largest response body read, in bytes (after content decoding): memory stays bounded."""


@dataclass(frozen=True)
class Answer:
    """A response read in full (``status_code``, ``headers``, ``content``, as httpx names)."""

    status_code: int
    headers: httpx.Headers
    content: bytes


async def send_capped(http: httpx.AsyncClient, request: httpx.Request, limit: int,
                      server: str, command: str) -> Answer:
    """Send ``request`` and read its body, never more than ``limit`` bytes.

    A larger body (announced by Content-Length or found while streaming, gzip included) is
    abandoned at once: ResponseTooLarge. httpx errors propagate for :func:`from_httpx`.
    """
    response = await http.send(request, stream=True)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(server, command, limit=limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(server, command, limit=limit)
            chunks.append(chunk)
        return Answer(response.status_code, response.headers, b"".join(chunks))
    finally:
        await response.aclose()


def is_idempotent(command: str) -> bool:
    """Reads that may be retried: list*, query*, get* (but not async job submissions)."""
    return command.startswith(IDEMPOTENT_PREFIXES) and command not in ASYNC_COMMANDS


def is_retryable(exc: CloudStackError) -> bool:
    """Transient failures worth another try (for idempotent reads only).

    Retried: refused/unreachable, timeouts, a connection reset or dropped mid-answer, 429,
    HTTP 500/502/503/504 envelopes, and any 5xx page that is not CloudStack's JSON (a proxy's
    or the servlet container's HTML 500, a CDN's 530). Not retried: TLS, credentials, bad
    parameters, and CloudStack's own 530 envelope (an exception in the command: asking again
    gives the same answer).
    """
    if isinstance(exc, TlsError):
        return False
    if isinstance(exc, BadResponse):
        return exc.status is not None and (exc.status in RETRY_STATUSES or exc.status >= 500)
    if isinstance(exc, TransportError):
        return True  # refused, timed out, reset or cut mid-answer
    if isinstance(exc, ApiError):
        return exc.http_status in RETRY_STATUSES
    return False


def server_label(url: httpx.URL) -> str:
    """``host:port`` of the management server, for every message."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _ssl_reason(exc: ssl.SSLError) -> str:
    verify = getattr(exc, "verify_message", None)
    reason = getattr(exc, "reason", None) or str(exc)
    return f"{reason} ({verify})" if verify else str(reason)


def from_httpx(exc: httpx.HTTPError, server: str, command: str, timeout: float
               ) -> CloudStackError:
    """A typed error for an httpx exception (refused, timeout, TLS, protocol)."""
    chain = list(_chain(exc))
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain) or (
        "CERTIFICATE_VERIFY_FAILED" in str(exc) or "[SSL" in str(exc)
    ):
        reason = next((_ssl_reason(e) for e in chain if isinstance(e, ssl.SSLError)),
                      str(exc))
        return TlsError(server, command, f"TLS failed: {reason}", hint=(
            "the server certificate is not trusted: install its CA, or set verifycert=false "
            "for this profile if you accept the risk"))
    if isinstance(exc, httpx.ConnectTimeout):
        return ApiTimeout(server, command, f"connect timed out after {timeout:g} s", hint=(
            "is the management server up and reachable from here? check the URL and firewalls"))
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeout(server, command, f"no answer within {timeout:.1f} s", hint=(
            "the management server is slow or hung: check it, or raise the profile's timeout"))
    if isinstance(exc, httpx.ConnectError):
        refused = any(isinstance(e, ConnectionRefusedError) for e in chain) or (
            "refused" in str(exc).lower() or "connect call failed" in str(exc).lower())
        what = "connection refused" if refused else f"cannot connect: {exc or 'unknown error'}"
        return ApiConnectError(server, command, what, hint=(
            "is the management server running and listening there? check the profile URL"))
    return TransportError(server, command,
                          f"HTTP exchange failed: {type(exc).__name__} {exc}".rstrip(),
                          hint="the connection broke mid-request; retry, check proxies")


def status_hint(status: int | None, command: str, *, profile: str, session: bool) -> str | None:
    """What an operator should do about a CloudStack error status."""
    who = f"profile {profile}" if profile else "the profile"
    if status == 401:
        if session:
            return f"check username/password/domain of {who}; the session may have expired"
        return f"check the API key/secret of {who} or the server clock (signature v3 expiry)"
    if status == 531:
        if command == "login":
            return f"check username, password and domain of {who}"
        return "the account may not do this: use a root-admin account"
    if status == 432:
        return "unknown command or not permitted for this account on this CloudStack version"
    if status == 429:
        return "API rate limit reached (api.throttling.*): wait a moment and retry"
    if status == 530:
        return "internal error on the management server: see its management-server.log"
    if status == 405:
        return "the server refused the HTTP method"
    return None


def body_hint(status: int | None, location: str | None) -> str | None:
    """A hint for a non-JSON answer (redirects, proxies)."""
    if status is not None and 300 <= status < 400:
        return f"the server redirects to {location or '?'}: put that URL in the profile"
    if status in (502, 503, 504):
        return "a proxy or load balancer answered: the management server behind it is down"
    return None
