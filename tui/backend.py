"""The one place the console talks to the engine (screens hold no protocol code).

``Backend`` owns a :class:`cspctl.session.Session` (and, for ``--lab``, the in-process
:class:`cspctl.lab.runner.Lab`): it fetches snapshots, opens shells and runs diagnostics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cspctl.cloudstack.models import SystemVm
from cspctl.session import Session
from tui.inventory import Snapshot
from tui.settings import UiSettings

if TYPE_CHECKING:
    from cspctl.ssh import HostKeyQuestion, Route, ShellSession


class Backend:
    """A session (plus an optional lab) as the console needs it."""

    def __init__(self, session: Session, *, lab: Any = None, settings: UiSettings | None = None,
                 owns_lab: bool = False) -> None:
        self.session = session
        self.lab = lab
        self.owns_lab = owns_lab
        self.settings = settings or UiSettings()

    # -- opening --------------------------------------------------------------------------
    @classmethod
    async def open_lab(cls, scenario: str = "seed", *, read_only: bool | None = None,
                       settings: UiSettings | None = None) -> Backend:
        """Start the embedded lab in this event loop and open a session on it."""
        from cspctl.lab.runner import Lab

        settings = settings or UiSettings()
        lab = Lab(scenario, time_scale=settings.lab_time_scale)
        await lab.start()
        try:
            session = Session.open(profile=lab.profile(), read_only=read_only)
        except BaseException:
            await lab.stop()
            raise
        return cls(session, lab=lab, settings=settings, owns_lab=True)

    @classmethod
    def for_lab(cls, lab: Any, *, read_only: bool | None = None,
                settings: UiSettings | None = None) -> Backend:
        """A session on a lab someone else started (tests)."""
        return cls(Session.open(profile=lab.profile(), read_only=read_only), lab=lab,
                   settings=settings)

    @classmethod
    async def open_profile(cls, name: str | None, *, read_only: bool | None = None,
                           settings: UiSettings | None = None) -> Backend:
        """A session on a configured profile (None: the default one)."""
        return cls(Session.open(name, read_only=read_only), settings=settings)

    async def close(self) -> None:
        """Close the session, then the lab if we started it."""
        with contextlib.suppress(Exception):
            await self.session.aclose()
        if self.lab is not None and self.owns_lab:
            with contextlib.suppress(Exception):
                await self.lab.stop()

    # -- facts ----------------------------------------------------------------------------
    @property
    def profile(self) -> Any:
        return self.session.profile

    @property
    def read_only(self) -> bool:
        return self.session.read_only

    @property
    def journal_path(self) -> str:
        return str(self.session.journal.path)

    def refresh_interval(self) -> float:
        if self.settings.refresh_interval is not None:
            return self.settings.refresh_interval
        return float(getattr(self.profile, "refresh_interval", 10.0) or 0.0)

    async def snapshot(self) -> Snapshot:
        """Zones, system VMs (agent state joined) and the server version, fetched together."""
        api = self.session.api  # version() is cached by the client: asked once per session
        zones, vms, version = await asyncio.gather(
            api.list_zones(), api.list_system_vms(), api.version()
        )
        return Snapshot(tuple(zones), tuple(vms), version, self.settings.clock())

    def attempt(self) -> int:
        """The attempt number of the API call still waiting for an answer (0: none)."""
        return int(getattr(self.session.api, "attempt_in_flight", 0) or 0)

    # -- SSH ------------------------------------------------------------------------------
    def set_host_key_ask(self, ask: Callable[[HostKeyQuestion], Awaitable[bool]]) -> None:
        """Route host-key questions (policy "ask") to the UI."""
        self.session.host_key_ask = ask
        if self.session.has_ssh:
            self.session.ssh.ask = ask

    async def route(self, vm: SystemVm) -> Route:
        from cspctl.ssh import resolve_route

        return await resolve_route(vm, self.session.api, self.session.profile)

    def check_shell(self, vm: SystemVm) -> None:
        """The engine's word on a shell on ``vm``: raises ``ReadOnlyRefused`` (journaled) in
        read-only mode, before anything connects."""
        self.session.ssh.check_shell(f"an interactive shell on {vm.name or vm.id or '?'}")

    async def open_shell(self, route: Route, cols: int, rows: int) -> ShellSession:
        return await self.session.ssh.open_shell(
            route, term=self.settings.shell_term, cols=cols, rows=rows
        )

    def record(self, event: str, **fields: Any) -> None:
        self.session.journal.record(event, **fields)
