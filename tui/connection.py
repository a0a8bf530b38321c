"""The console's connection to a cloud: opening the backend, refreshing and telling how fresh
the rows are, host-key questions, switching profiles and shutting down. :class:`CspctlApp`
(tui.app) adds the layout, the keys and the tabs on top."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual import work
from textual.app import App
from textual.driver import Driver
from textual.reactive import reactive

from cspctl import signals
from cspctl.cloudstack.errors import TransportError
from cspctl.errors import CspctlError
from cspctl.ssh.hostkeys import HostKeyQuestion
from cspctl.text import safe_block, safe_line
from tui.backend import Backend
from tui.header import ConsoleHeader, Origin
from tui.inventory import Snapshot
from tui.overview import Overview
from tui.settings import UiSettings
from tui.shell_pane import ShellPane
from widgets import plain
from widgets.confirm import ConfirmDialog

Opener = Callable[[], Awaitable[Backend]]
PARTIAL_EVERY = 0.25
"""Seconds between two screens of a first listing still arriving (the first at once)."""


class ConnectedApp(App[int]):
    """The data side of the console. ``opener`` builds the :class:`Backend` once the app's
    loop runs."""

    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True)
    """The latest answer of the management server (the header and list show it)."""
    api_error: reactive[str | None] = reactive(None)
    """Why the last refresh failed (None: it did not)."""
    api_unreachable: reactive[bool] = reactive(False)
    """The last API error was the network's (no answer), not CloudStack's."""

    def __init__(self, opener: Opener, *, settings: UiSettings | None = None) -> None:
        super().__init__()
        self.opener = opener
        self.settings = settings or UiSettings()
        self.backend: Backend | None = None
        self._header = ConsoleHeader(self.settings.shown, id="head")
        self._loading_since: float | None = None
        self._loading_token: object | None = None
        self._refresh_timer: Any = None
        self.refresh_count = 0
        self._remove_signal_handlers: Callable[[], None] | None = None
        self.journal_hint: str | None = None
        """The line printed on quit: where the journal is and how to export it."""

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver; on Linux one that survives a terminal hangup (SIGHUP)."""
        from textual.drivers.linux_driver import LinuxDriver

        from tui.driver import HangupSafeDriver

        found = super().get_driver_class()
        return HangupSafeDriver if found is LinuxDriver else found

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is text, never markup (``markup`` is ignored): messages and
        titles carry names and errors from the cloud. Controls are made visible."""
        super().notify(safe_block(message), title=safe_line(title), severity=severity,
                       timeout=timeout, markup=False)

    # -- what shows the data ----------------------------------------------------------------
    @property
    def overview(self) -> Overview:
        return self.query_one(Overview)

    @property
    def header(self) -> ConsoleHeader:
        """The header (kept from compose: a query would look at a dialog's screen when one is
        up, and the tick and late answers still update it then)."""
        return self._header

    def _on_stop_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP, SIGINT: close shells and the session (``session.end`` names the
        signal), then leave like ``quit`` does (terminal restored), exit 128 + signal."""
        self.run_worker(self._stop_on_signal(signum), group="stop", exit_on_error=False)

    async def _stop_on_signal(self, signum: int) -> None:
        try:
            await asyncio.wait_for(self.shutdown(), 20)
        finally:
            self.exit(return_code=128 + signum, message=f"cspctl: {signals.Terminated(signum)}")

    async def _close_panes(self) -> None:
        """Close every tab but the overview (the console's tabs; none here)."""

    # -- backend --------------------------------------------------------------------------
    @work(exclusive=True, group="backend", exit_on_error=False)
    async def start_backend(self) -> None:
        try:
            backend = await self.opener()
        except CspctlError as exc:
            self.exit(exc.exit_code, message=plain.line(f"cspctl: {exc}"))
            return
        except Exception as exc:  # e.g. the lab could not bind its ports
            self.exit(1, message=plain.line(
                f"cspctl: could not start: {type(exc).__name__}: {exc}"))
            return
        await self._use_backend(backend)

    async def _use_backend(self, backend: Backend) -> None:
        self.backend = backend
        self.journal_hint = (f"cspctl: session journal {backend.journal_path}; export it with "
                             f"'cspctl log export {backend.session_id} --format md' "
                             "(or json, bundle)")
        backend.set_host_key_ask(self.ask_host_key)
        profile = backend.profile
        self.header.origin = Origin(
            profile=profile.name, url=profile.url, lab=profile.is_lab,
            read_only=backend.read_only, refresh_every=backend.refresh_interval() or 0,
            journal=backend.journal_path if self.settings.show_journal_path else None)
        await self._refresh_now(manual=False)
        self._schedule_refresh()
        if backend.profile.is_lab and self.settings.lab_welcome:
            self.notify(
                "Embedded lab, scenario "
                f"'{self.settings.lab_scenario}'. Select a system VM: d diagnoses it, "
                "r repairs it, "
                + ("shells are refused in read-only mode" if backend.read_only
                   else "s opens a root shell on it") + ", ? lists every key.",
                title="Welcome to cspctl", timeout=8)

    def _schedule_refresh(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None
        interval = self.backend.refresh_interval() if self.backend else 0
        if interval and interval > 0:
            self._refresh_timer = self.set_interval(interval, self.refresh_data,
                                                    name="auto-refresh")

    def refresh_data(self, manual: bool = False) -> None:
        """Refresh in a worker (never blocks the UI); a newer refresh cancels an older one."""
        self.run_worker(self._refresh_now(manual=manual), group="refresh", exclusive=True,
                        exit_on_error=False)

    async def _refresh_now(self, *, manual: bool) -> None:
        backend = self.backend
        if backend is None:
            return
        token = self._loading_token = object()
        self._loading_since = self._elapsed()
        self._show_waiting()
        partial_shown = False
        shown_at = 0.0
        latest: tuple[Snapshot, int, int] | None = None

        def show_latest() -> None:
            nonlocal partial_shown, shown_at, latest
            if (latest is not None and backend is self.backend and self.snapshot is None
                    and self._loading_token is token):
                partial, received, expected = latest
                partial_shown, shown_at = True, time.monotonic()
                self.overview.show(partial, loading=(received, expected))
            latest = None

        def show_partial(partial: Snapshot, received: int, expected: int) -> None:
            # the first load of a large cloud: its first pages on screen while the rest
            # arrive, marked "loading n/N" (a refresh keeps the last complete rows instead);
            # later pages are shown at most every PARTIAL_EVERY seconds (the screen is
            # drawn once, not once per page, while the pages arrive together)
            nonlocal latest
            waiting = latest is not None
            latest = (partial, received, expected)
            wait = shown_at + PARTIAL_EVERY - time.monotonic()
            if not partial_shown or wait <= 0:
                show_latest()
            elif not waiting:
                self.set_timer(wait, show_latest, name="partial-listing")

        try:
            # the periodic refresh journals only what changed (or failed)
            snapshot = await backend.snapshot(
                background=not manual and self.snapshot is not None,
                on_partial=show_partial if self.snapshot is None else None)
        except CspctlError as exc:
            if backend is self.backend:  # not an answer from a profile we left meanwhile
                if self.overview.partial is not None and self.snapshot is None:
                    self.overview.clear()  # a partial list never stays as if it were all
                self._api_failed(str(exc), manual, isinstance(exc, TransportError))
            return
        except Exception as exc:
            if backend is self.backend:
                if self.overview.partial is not None and self.snapshot is None:
                    self.overview.clear()
                self._api_failed(f"{type(exc).__name__}: {exc}", manual, False)
            return
        finally:
            if self._loading_token is token:
                self._loading_since = None
            latest = None  # a partial still waiting is never shown after the whole answer
        if backend is not self.backend:
            return
        if self.api_error is not None:
            self.notify("management server answers again", title="API", timeout=4)
        self.api_error = None
        self.snapshot = snapshot
        self.refresh_count += 1
        self.overview.show(snapshot)
        self.overview.set_stale(None)
        self._tick()

    def _api_failed(self, message: str, manual: bool, unreachable: bool = False) -> None:
        first = self.api_error is None
        self.api_unreachable = unreachable
        self.api_error = message
        if first or manual:
            self.notify(message, title="API error", severity="error", timeout=10)
        self._tick()
        if self.snapshot is None:
            self.overview.show_error(message)
        else:
            self.overview.set_stale(self._stale_words())

    # -- time: how old the rows are, how long we have been waiting --------------------------
    def _elapsed(self) -> float:
        return (self.settings.seams.elapsed or time.monotonic)()

    def _age(self) -> str:
        """How long ago the rows on screen were fetched ("42 s", "5 min", "2 h")."""
        if self.snapshot is None:
            return "?"
        secs = max(0, int((self.settings.seams.clock() - self.snapshot.taken_at).total_seconds()))
        if secs < 120:
            return f"{secs} s"
        return f"{secs // 60} min" if secs < 7200 else f"{secs // 3600} h"

    def _stale_words(self) -> str:
        """Our own words for stale rows (never server text)."""
        taken = f"{self.snapshot.taken_at:%H:%M:%S}" if self.snapshot else "?"
        return f"rows from {taken}, {self._age()} ago"

    def _waiting(self) -> str | None:
        """"loading… 12 s, attempt 2" while a refresh waits (None when none does)."""
        if self._loading_since is None:
            return None
        waited = max(0.0, self._elapsed() - self._loading_since)
        attempt = self.backend.attempt() if self.backend is not None else 0
        text = f"loading… {waited:.0f} s"
        return text + (f", attempt {attempt}" if attempt > 1 else "")

    def _show_waiting(self) -> None:
        waiting = self._waiting()
        if waiting is not None:
            self.overview.show_waiting(waiting)

    def _tick(self) -> None:
        """Once a second, while it matters: the wait and the age of the rows, kept true."""
        if self._loading_since is None and self.api_error is None:
            self.header.waiting = None
            return
        self._show_waiting()
        if self.api_error is not None and self.snapshot is not None:
            self.overview.set_stale(self._stale_words())
        waiting = self._waiting()
        shown = waiting is not None and (
            self.snapshot is None or self._elapsed() - (self._loading_since or 0) >= 1)
        self.header.waiting = waiting if shown else None
        self.header.age = self._age()

    # -- host keys ------------------------------------------------------------------------
    async def ask_host_key(self, question: HostKeyQuestion) -> bool:
        """Policy "ask": show the fingerprint and let the operator decide (default: no)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()

        def done(result: bool | None) -> None:
            if not answer.done():
                answer.set_result(bool(result))

        reason = question.reason
        title = ("HOST KEY CHANGED — trust the new key?" if reason == "changed"
                 else "Trust this system VM's host key?")
        body = (f"{question.explain()}\n\nfingerprint: {question.fingerprint}\n"
                "Compare it with the VM's console (ssh-keygen -lf /etc/ssh/ssh_host_*.pub).")
        fields = {"kind": "host_key", "vm": question.vm_name, "address": question.address,
                  "fingerprint": question.fingerprint, "reason": reason}
        if self.backend is not None:
            self.backend.record("confirm.asked", **fields)
        self.push_screen(ConfirmDialog(title, body, yes="Trust", no="Refuse"), callback=done)
        trusted = await answer
        if self.backend is not None:
            self.backend.record("confirm.answered", answer="yes" if trusted else "no", **fields)
        return trusted

    def profile_names(self) -> list[str]:
        try:
            from cspctl.config import list_profiles

            return [p.name for p in list_profiles()]
        except Exception:
            return []

    def switch_profile(self, name: str) -> None:
        """Reconnect with another profile (shell and diagnostics tabs are closed)."""
        self.run_worker(self._switch_profile(name), group="backend", exclusive=True,
                        exit_on_error=False)

    async def _switch_profile(self, name: str) -> None:
        try:
            backend = await Backend.open_profile(name, settings=self.settings)
        except CspctlError as exc:
            self.notify(str(exc), title=f"profile {name}", severity="error")
            return
        await self._close_panes()
        old, self.backend = self.backend, None
        # the old cloud's rows go at once: nothing of it stays visible or selectable
        self.snapshot = None
        self.api_error = None
        self.overview.clear(f"loading profile {name}…")
        if old is not None:
            await old.close()
        await self._use_backend(backend)
        self.notify(f"switched to profile {name}", timeout=3)

    async def shutdown(self) -> None:
        """Close shells, the session and the lab (if ours). Idempotent."""
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        with contextlib.suppress(Exception):
            for shell in self.query(ShellPane):
                await shell.close()
        backend, self.backend = self.backend, None
        if backend is not None:
            await backend.close()

    async def on_unmount(self) -> None:
        """However the app ends (quit, test harness, error), close what we opened."""
        if self._remove_signal_handlers is not None:
            self._remove_signal_handlers()
            self._remove_signal_handlers = None
        await self.shutdown()

    async def action_quit(self) -> None:
        """Quit (sessions closed, terminal restored), exit status 0."""
        await self.shutdown()
        self.exit(0)


