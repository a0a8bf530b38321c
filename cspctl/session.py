"""The engine facade the CLI and the TUI use: one profile, one journal, one API client, SSH.

async with Session.open("prod") as s:
    vms = await s.api.list_system_vms()
    result = await s.ssh.run(route, "uptime")
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cspctl import __version__
from cspctl.config import Profile, load_profile
from cspctl.errors import CspctlError
from cspctl.gate import Gate
from cspctl.sessionlog import Journal
from cspctl.sessionlog.journal import state_dir

if TYPE_CHECKING:
    from cspctl.cloudstack.client import CloudStackClient
    from cspctl.ssh.pool import SshPool


def operator_facts() -> dict[str, str]:
    """Who runs cspctl where, and the local UTC offset (``+09:00``), for session.start."""
    import getpass
    import socket
    from datetime import datetime

    try:
        operator = getpass.getuser()
    except Exception:  # no passwd entry (containers)
        operator = "?"
    offset = datetime.now().astimezone().strftime("%z") or "+0000"
    return {"operator": operator, "host": socket.gethostname(),
            "utc_offset": f"{offset[:3]}:{offset[3:]}"}


def _argv() -> str:
    """The CLI arguments of this process (options only, as typed), cut to a readable size."""
    import sys

    return " ".join(sys.argv[1:])[:300]


class Session:
    """A working session against one CloudStack: ``profile``, ``journal``, ``api``, ``ssh``.

    ``gate`` (built from ``read_only``) is the one decision on what may change: the API
    client and the SSH pool of the session both ask it, so no front end can forget it.
    Secrets of the profile are registered with the journal before anything is recorded.
    ``session.start``/``session.end`` events frame everything the session does.
    """

    def __init__(
        self,
        profile: Profile,
        journal: Journal,
        api: CloudStackClient,
        *,
        read_only: bool,
    ) -> None:
        self.profile = profile
        self.journal = journal
        self.api = api
        self.read_only = read_only
        self.gate = Gate(read_only=read_only)
        api.gate = self.gate  # the client refuses non-read commands before sending them
        self._ssh: SshPool | None = None
        self.host_key_ask: Any = None
        """UI hook for host-key policy ``ask`` (``HostKeyAsk``); set before first ``ssh`` use."""
        self._started = time.monotonic()
        self._closed = False

    @classmethod
    def open(
        cls,
        profile_name: str | None = None,
        *,
        profile: Profile | None = None,
        read_only: bool | None = None,
        journal: Journal | None = None,
        mode: str = "headless",
        command: str | None = None,
    ) -> Session:
        """Load the profile (unless given), start the journal and build the API client.

        ``mode``: "console" or "headless" (``command``: the CLI arguments, default argv),
        so ``cspctl log list`` can group cron runs.
        ``read_only``: explicit value, else the profile's ``read_only``. Raises ConfigError
        for a missing or broken profile. Nothing touches the network until the first call.
        """
        from cspctl.cloudstack.client import CloudStackClient

        if profile is None:
            profile = load_profile(profile_name)
        journal = journal if journal is not None else Journal()
        for secret in profile.secrets():
            journal.add_secret(secret)
        ro = profile.read_only if read_only is None else bool(read_only)
        try:
            journal.record(
                "session.start",
                profile=profile.name,
                url=profile.url,
                auth=profile.auth_kind,
                read_only=ro,
                lab=profile.is_lab,
                sources=[str(p) for p in profile.sources],
                version=__version__,
                **operator_facts(),
                mode=mode,
                command=command if command is not None else _argv(),
            )
        except OSError as exc:  # no journal, no session: every side effect must be recorded
            raise CspctlError(
                f"cannot write the session journal {journal.path}: {exc.strerror or exc}; "
                "fix that directory's permissions or set CSPCTL_STATE_DIR"
            ) from None
        api = CloudStackClient.from_profile(profile, journal, gate=Gate(read_only=ro),
                                            sizes_file=state_dir() / "list-sizes.json")
        return cls(profile, journal, api, read_only=ro)

    @property
    def ssh(self) -> SshPool:
        """The SSH connection pool, created on first use (owner: cspctl/ssh)."""
        if self._ssh is None:
            from cspctl.ssh.pool import SshPool

            self._ssh = SshPool(self.profile, journal=self.journal, ask=self.host_key_ask,
                                gate=self.gate)
        return self._ssh

    @property
    def has_ssh(self) -> bool:
        """True once :attr:`ssh` has been used (nothing to close otherwise)."""
        return self._ssh is not None

    async def aclose(self) -> None:
        """Close SSH connections, log out of CloudStack, record ``session.end``. Idempotent."""
        if self._closed:
            return
        self._closed = True
        errors: list[str] = []
        if self._ssh is not None:
            try:
                await self._ssh.close()
            except Exception as exc:  # closing must go on; the journal says what failed
                errors.append(f"ssh: {exc}")
        try:
            await self.api.aclose()
        except Exception as exc:
            errors.append(f"api: {exc}")
        fields: dict[str, Any] = {
            "profile": self.profile.name,
            "duration": round(time.monotonic() - self._started, 3),
        }
        if errors:
            fields["errors"] = errors
        from cspctl.signals import received_name

        ended_by = received_name()
        if ended_by is not None:  # SIGTERM, SIGHUP, SIGINT: the session was stopped
            fields["signal"] = ended_by
        self.journal.record("session.end", **fields)
        self.journal.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Session(profile={self.profile.name!r}, read_only={self.read_only})"
