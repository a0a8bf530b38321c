"""Typed CloudStack client errors; ``str()`` of each is one operator-readable line.

The line names the management server (``host:port``), the command, what CloudStack (or the
network) said, and, when there is one, a hint what to do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cspctl.errors import CspctlError

if TYPE_CHECKING:
    from cspctl.cloudstack.models import AsyncJob


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class CloudStackError(CspctlError):
    """Anything that went wrong talking to a CloudStack management server."""

    exit_code = 3

    def __init__(
        self,
        server: str,
        command: str | None,
        detail: str = "",
        *,
        hint: str | None = None,
    ) -> None:
        self.server = server
        self.command = command
        self.detail = _one_line(detail)
        self.hint = _one_line(hint) if hint else None
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.server} {self.command}" if self.command else self.server
        text = f"{where}: {self.detail or type(self).__name__}"
        return f"{text}; hint: {self.hint}" if self.hint else text


class ApiError(CloudStackError):
    """CloudStack answered with an error envelope (``errorcode``/``errortext``)."""

    def __init__(
        self,
        server: str,
        command: str | None,
        *,
        http_status: int | None,
        errortext: str | None,
        errorcode: int | None = None,
        cserrorcode: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.errorcode = errorcode if errorcode is not None else http_status
        self.cserrorcode = cserrorcode
        self.errortext = errortext
        code = self.errorcode
        detail = f"CloudStack error {code}" if code is not None else "CloudStack error"
        if cserrorcode is not None:
            detail += f"/{cserrorcode}"
        detail += f": {errortext}" if errortext else " (no error text)"
        super().__init__(server, command, detail, hint=hint)


class AuthError(ApiError):
    """Credentials refused: 401 (signature/key/expiry/session), 531 (login), 432 (not allowed)."""

    exit_code = 4


class TransportError(CloudStackError):
    """The HTTP exchange itself failed (nothing CloudStack could have said)."""


class ApiConnectError(TransportError):
    """The management server could not be reached (refused, DNS, unreachable)."""


class ApiTimeout(TransportError):
    """No (complete) answer within the profile's timeout."""


class TlsError(TransportError):
    """TLS handshake or certificate verification failed."""


class BadResponse(TransportError):
    """A body that is not a CloudStack JSON answer (HTML proxy page, XML, plain text...)."""

    def __init__(
        self,
        server: str,
        command: str | None,
        *,
        status: int | None,
        content_type: str | None,
        snippet: str,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.content_type = content_type
        self.snippet = _one_line(snippet)[:120]
        detail = (
            f"not a CloudStack JSON answer: HTTP {status}, "
            f"{content_type or 'no content type'}, body starts {self.snippet!r}"
        )
        super().__init__(server, command, detail, hint=hint)


class PartialListing(CloudStackError):
    """A listing that cannot be complete: its pages fall short of the ``count`` the server
    reported, or a page has the wrong shape (``"systemvm": "oops"``). Never passed off as the
    whole list."""

    def __init__(self, server: str, command: str | None, problem: str, *,
                 got: int | None = None, expected: int | None = None) -> None:
        self.got, self.expected = got, expected
        super().__init__(server, command, problem, hint=(
            "the server's answers do not add up (rows changing while paging, a proxy or a "
            "broken server): retry, and check management-server.log"))


class ResponseTooLarge(CloudStackError):
    """The server sent (or announced) a body larger than the client accepts; never retried."""

    def __init__(self, server: str, command: str | None, *, limit: int) -> None:
        self.limit = limit
        super().__init__(
            server, command, f"response larger than {limit / 2**20:g} MB: not read",
            hint="a listing this large is not a CloudStack answer: check the server, or "
            "narrow the request (zone, name)")


class JobFailed(CloudStackError):
    """An async job ended with jobstatus 2 (failed) or 3 (cancelled)."""

    def __init__(
        self, job: AsyncJob, *, server: str = "", command: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.job = job
        self.errortext = job.errortext
        code = job.jobresultcode
        state = "was cancelled" if job.jobstatus == 3 else "failed"
        detail = f"job {job.jobid} {state}"
        if code:
            detail += f" with error {code}"
        detail += f": {self.errortext}" if self.errortext else " (no error text)"
        super().__init__(server, command, detail, hint=hint)


class JobTimeout(CloudStackError):
    """An async job was still pending when the caller's deadline passed."""

    def __init__(
        self, jobid: str, waited: float, *, server: str = "", command: str | None = None,
    ) -> None:
        self.jobid = jobid
        self.waited = waited
        detail = f"job {jobid} still pending after {waited:.1f} s"
        hint = (
            "it may still finish: check it with queryAsyncJobResult or the UI's events "
            "before retrying"
        )
        super().__init__(server, command, detail, hint=hint)
