"""The cspctl console: zones, system VMs, shell panes and diagnostics panes, as tabs.

Entry point ``run(args)`` (registered as the ``cspctl.ui`` entry point): ``cspctl --lab``
starts the embedded lab in-process on the seed scenario; ``cspctl`` uses the default profile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.widgets import Static, TabbedContent, TabPane

from cspctl import signals
from cspctl.cloudstack.errors import TransportError
from cspctl.cloudstack.models import SystemVm
from cspctl.errors import CspctlError
from cspctl.gate import Refused
from cspctl.ssh.hostkeys import HostKeyQuestion
from cspctl.text import safe_block, safe_line
from tui.backend import Backend
from tui.commands import ConsoleCommands
from tui.diag_pane import DiagnosticsPane
from tui.footer import FitFooter
from tui.help import HelpScreen, binding_rows
from tui.inventory import UNHEALTHY, Snapshot
from tui.log_pane import LogPane
from tui.overview import Overview
from tui.repair_pane import RepairPane
from tui.repair_target import repair_target
from tui.settings import UiSettings
from tui.shell_pane import ShellPane
from widgets import plain
from widgets.confirm import ConfirmDialog
from widgets.linetable import SyncTable
from widgets.sessionlog import Timeline
from widgets.steps import StepList
from widgets.terminal import Terminal

Opener = Callable[[], Awaitable[Backend]]
PARTIAL_EVERY = 0.25
"""Seconds between two screens of a first listing still arriving (the first at once)."""
OVERVIEW = "overview"
LOG_TAB = "session-log"


def _home(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def _tab_id(prefix: str, key: str) -> str:
    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_-]", "_", key)


class CspctlApp(App[int]):
    """The console. ``opener`` builds the :class:`Backend` once the app's loop runs."""

    CSS_PATH = "cspctl.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    TITLE = "cspctl"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("s", "shell", "Shell", id="console.shell"),
        Binding("d", "diagnose", "Diagnose", id="console.diagnose"),
        Binding("slash", "filter", "Filter", id="console.filter"),
        Binding("question_mark", "help", "Help", id="console.help"),
        Binding("r", "repair", "Repair", id="console.repair"),
        Binding("l", "log", "Log", id="console.log"),
        Binding("ctrl+r", "refresh", "Refresh", id="console.refresh"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="console.quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="console.palette"),
        Binding("D", "diagnose_zone", "Diagnose zone", show=False, id="console.diagnose_zone"),
        Binding("ctrl+t", "real_terminal", "Real terminal", priority=True,
                id="console.real_terminal"),
        Binding("ctrl+w", "close_tab", "Close tab", show=False, id="console.close_tab"),
        Binding("ctrl+pagedown", "next_tab", "Next tab", show=False, priority=True,
                id="console.next_tab"),
        Binding("ctrl+pageup", "previous_tab", "Previous tab", show=False, priority=True,
                id="console.previous_tab"),
        Binding("right_square_bracket", "next_tab", "Next tab", show=False,
                id="console.next_tab_key"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", show=False,
                id="console.previous_tab_key"),
        Binding("ctrl+c", "help_quit", show=False, system=True, id="console.help_quit"),
    ]

    def __init__(self, opener: Opener, *, settings: UiSettings | None = None) -> None:
        super().__init__()
        self.opener = opener
        self.settings = settings or UiSettings()
        self.backend: Backend | None = None
        self.snapshot: Snapshot | None = None
        self.api_error: str | None = None
        self.api_unreachable = False
        """The last API error was the network's (no answer), not CloudStack's."""
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

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(id="head"):
            with Horizontal(id="head-line"):
                yield Static("cspctl · connecting…", id="head-main", markup=False)
                yield Static("", id="badge", markup=False)
            yield Static("", id="head-sub", markup=False)
        with TabbedContent(id="tabs", initial=OVERVIEW), TabPane("System VMs", id=OVERVIEW):
            yield Overview(scrub=self.settings.shown, id="overview-pane")
        yield FitFooter(compact=True)

    @property
    def overview(self) -> Overview:
        return self.query_one(Overview)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#tabs", TabbedContent)

    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        if not self.is_headless:  # a real terminal: SIGTERM/SIGHUP must give it back intact
            self._remove_signal_handlers = signals.install(
                asyncio.get_running_loop(), self._on_stop_signal
            )
        self.overview.table.focus()
        self.set_interval(1.0, self._tick, name="status-clock")
        self.start_backend()

    def _on_stop_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP, SIGINT: close shells and the session (``session.end`` names the
        signal), then leave like ``quit`` does (terminal restored), exit 128 + signal."""
        self.run_worker(self._stop_on_signal(signum), group="stop", exit_on_error=False)

    async def _stop_on_signal(self, signum: int) -> None:
        try:
            await asyncio.wait_for(self.shutdown(), 20)
        finally:
            self.exit(return_code=128 + signum, message=f"cspctl: {signals.Terminated(signum)}")

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
        self._update_header()
        await self._refresh_now(manual=False)
        self._schedule_refresh()
        if getattr(backend.profile, "is_lab", False) and self.settings.lab_welcome:
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
        self._update_header()

    def _api_failed(self, message: str, manual: bool, unreachable: bool = False) -> None:
        first = self.api_error is None
        self.api_error = message
        self.api_unreachable = unreachable
        if first or manual:
            self.notify(message, title="API error", severity="error", timeout=10)
        self._update_header()
        if self.snapshot is None:
            self.overview.show_error(message)
        else:
            self.overview.set_stale(self._stale_words())

    # -- time: how old the rows are, how long we have been waiting --------------------------
    def _elapsed(self) -> float:
        return (self.settings.elapsed or time.monotonic)()

    def _age(self) -> str:
        """How long ago the rows on screen were fetched ("42 s", "5 min", "2 h")."""
        if self.snapshot is None:
            return "?"
        secs = max(0, int((self.settings.clock() - self.snapshot.taken_at).total_seconds()))
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
            return
        self._show_waiting()
        if self.api_error is not None and self.snapshot is not None:
            self.overview.set_stale(self._stale_words())
        self._update_header()

    def _update_header(self) -> None:
        backend = self.backend
        try:
            main = self.query_one("#head-main", Static)
            sub = self.query_one("#head-sub", Static)
            badge = self.query_one("#badge", Static)
        except NoMatches:  # a tick or a late answer while the app closes, or a modal is up
            return
        if backend is None:
            return
        profile = backend.profile
        version = (self.snapshot.version if self.snapshot else None) or "?"
        main.update(plain.line(self.settings.shown(
            f"cspctl · {profile.name} · CloudStack {version} · {profile.url}")))
        lab = "LAB " if getattr(profile, "is_lab", False) else ""
        badge.update(lab + ("READ-ONLY" if backend.read_only else "read-write"))
        badge.set_class(backend.read_only, "read-only")
        parts = []
        every = backend.refresh_interval()
        auto = f" (every {every:g}s)" if every else ""
        problem = ""
        if self.api_error:
            what = "unreachable" if self.api_unreachable else "error"
            problem = f"{UNHEALTHY} API {what}: {self.api_error}"
        if self.snapshot is not None and self.api_error:
            # the old rows stay: say how old they are, first, so it is never cut off
            parts.append(f"refreshed {self.snapshot.taken_at:%H:%M:%S} ({self._age()} ago) "
                         f"— {problem}")
        else:
            if self.snapshot is not None:
                parts.append(f"refreshed {self.snapshot.taken_at:%H:%M:%S}{auto}")
            if problem:
                parts.append(problem)
        waiting = self._waiting()
        if waiting is not None and (self.snapshot is None
                                    or self._elapsed() - (self._loading_since or 0) >= 1):
            parts.insert(1 if self.snapshot is not None else 0, waiting)
        if self.settings.show_journal_path:
            parts.append(f"journal {_home(backend.journal_path)}")
        sub.update(plain.line(self.settings.shown(" · ".join(parts))))
        sub.set_class(self.api_error is not None, "error")

    SHELL_HIDDEN = frozenset({"shell", "diagnose", "filter", "help", "repair", "log", "refresh",
                              "command_palette", "close_tab"})

    def on_terminal_closed(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In a shell pane the footer shows only what works there (the rest goes to the
        shell); ctrl+t (real terminal) is offered only there."""
        focused = self.focused
        in_shell = isinstance(focused, Terminal) and focused.closed_message is None
        if action == "real_terminal":
            return in_shell
        return not (in_shell and action in self.SHELL_HIDDEN)

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

    # -- actions --------------------------------------------------------------------------
    def _selected_vm(self) -> SystemVm | None:
        if self.overview.snapshot is None:
            self.notify("no system VMs to act on: nothing has been loaded from this profile "
                        "yet", severity="warning", timeout=4)
            return None
        vm = self.overview.selected_vm()
        if vm is None:
            self.notify("select a system VM first", severity="warning", timeout=3)
        return vm

    def action_shell(self) -> None:
        """Open a shell tab on the selected system VM."""
        vm = self._selected_vm()
        if vm is not None:
            self.open_shell(vm)

    def _shell_refused(self, vm: SystemVm) -> bool:
        """Ask the engine whether a shell may open (read-only refuses); notify if not."""
        assert self.backend is not None
        try:
            self.backend.check_shell(vm)
        except Refused as exc:
            self.notify(str(exc), title=f"shell {vm.name}: refused", severity="error",
                        timeout=8)
            return True
        return False

    def _refuse_stale(self, what: str) -> bool:
        """True (and a message) when the rows on screen are not the API's latest answer."""
        if self.api_error is None or self.snapshot is None:
            return False
        self.notify(f"{what} refused: the list is stale ({self._stale_words()}) and the API is "
                    "not answering; refresh with ctrl+r first", title="stale data",
                    severity="warning", timeout=6)
        return True

    def open_shell(self, vm: SystemVm) -> None:
        if self.backend is None:
            self.notify("not connected yet", severity="warning")
            return
        if self._refuse_stale("shell") or self._shell_refused(vm):
            return
        tab_id = _tab_id("shell", vm.id or vm.name or "vm")
        existing = self._pane(tab_id, ShellPane)
        if existing is not None and existing.state in ("open", "connecting"):
            self.tabs.active = tab_id
            existing.terminal.focus()
            return
        if existing is not None:
            self.tabs.remove_pane(tab_id)
        pane = TabPane(plain.content(f"Shell {vm.name}"), ShellPane(self.backend, vm),
                       id=tab_id)
        self.call_after_refresh(self._add_pane, pane, tab_id)

    async def _add_pane(self, pane: TabPane, tab_id: str) -> None:
        await self.tabs.add_pane(pane)
        self.tabs.active = tab_id

    def _pane(self, tab_id: str, kind: type) -> Any:
        with contextlib.suppress(Exception):
            return self.tabs.get_pane(tab_id).query_one(kind)
        return None

    def action_diagnose(self) -> None:
        """Diagnose the selected system VM in a new tab."""
        vm = self._selected_vm()
        if vm is not None:
            self.open_diagnosis([vm], vm.name or vm.id or "?")

    def action_diagnose_zone(self) -> None:
        """Diagnose every system VM of the selected zone."""
        if self.snapshot is None or self.overview.snapshot is None:
            self.notify("no system VMs to act on: nothing has been loaded from this profile "
                        "yet", severity="warning", timeout=4)
            return
        zone_id = self.overview.selected_zone()
        vms = self.snapshot.vms_in(zone_id)
        zone = next((z for z in self.snapshot.zones if z.id == zone_id), None)
        self.open_diagnosis(vms, f"zone {zone.name}" if zone else "all zones")

    def open_diagnosis(self, vms: list[SystemVm], label: str) -> None:
        if self.backend is None or not vms:
            self.notify("nothing to diagnose", severity="warning")
            return
        if self._refuse_stale("diagnosis"):
            return
        tab_id = _tab_id("diag", "_".join(vm.id or "" for vm in vms)[:60])
        existing = self._pane(tab_id, DiagnosticsPane)
        if existing is not None and existing.state in ("starting", "running"):
            self.tabs.active = tab_id
            return
        if existing is not None:
            self.tabs.remove_pane(tab_id)
        pane = TabPane(plain.content(f"Diagnose {label}"),
                       DiagnosticsPane(self.backend, vms, label), id=tab_id)
        self.call_after_refresh(self._add_pane, pane, tab_id)

    def action_filter(self) -> None:
        """Filter the system VM table (by name, state, IP)."""
        self.tabs.active = OVERVIEW
        self.overview.action_filter()

    def action_refresh(self) -> None:
        """Reload zones and system VMs now."""
        self.refresh_data(manual=True)

    def action_repair(self) -> None:
        """Repair wizard for the selected VM, or for the selected diagnostics step's
        playbook."""
        target = repair_target(self)
        if target is not None:
            self.open_repair(*target)

    def open_repair(self, vm: SystemVm, findings: list[Any] | None = None,
                    playbook: str | None = None) -> None:
        if self.backend is None:
            self.notify("not connected yet", severity="warning")
            return
        tab_id = _tab_id("repair", vm.id or vm.name or "vm")
        existing = self._pane(tab_id, RepairPane)
        if existing is not None and existing.phase in ("running", "preparing"):
            self.tabs.active = tab_id
            return
        if existing is not None:
            self.tabs.remove_pane(tab_id)
        pane = TabPane(f"Repair {vm.name}", RepairPane(self.backend, vm, findings=findings,
                                                       playbook=playbook), id=tab_id)
        self.call_after_refresh(self._add_pane, pane, tab_id)

    def action_log(self) -> None:
        """Open (or go to) the session log: the live timeline of this session's journal."""
        if self.backend is None:
            self.notify("not connected yet", severity="warning")
            return
        if self._pane(LOG_TAB, LogPane) is not None:
            self.tabs.active = LOG_TAB
            self._focus_active()
            return
        pane = TabPane("Session log", LogPane(self.backend), id=LOG_TAB)
        self.call_after_refresh(self._add_pane, pane, LOG_TAB)

    def action_help(self) -> None:
        """Show every binding with its id."""
        groups = [
            ("console", self.BINDINGS),
            ("VM list", Overview.BINDINGS),
            ("tables", SyncTable.BINDINGS),
            ("shell pane", Terminal.BINDINGS),
            ("repair wizard", RepairPane.BINDINGS),
            ("session log", LogPane.BINDINGS),
            ("diagnosis tab", DiagnosticsPane.BINDINGS),
            ("dialogs", ConfirmDialog.BINDINGS),
        ]
        self.push_screen(HelpScreen(binding_rows(groups, self.get_key_display)))

    def action_next_tab(self) -> None:
        self._cycle_tab(1)

    def action_previous_tab(self) -> None:
        self._cycle_tab(-1)

    def _cycle_tab(self, step: int) -> None:
        ids = [pane.id for pane in self.tabs.query(TabPane) if pane.id]
        if len(ids) > 1 and self.tabs.active in ids:
            self.tabs.active = ids[(ids.index(self.tabs.active) + step) % len(ids)]
            self._focus_active()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self.call_after_refresh(self._focus_active)

    def _focus_active(self) -> None:
        """Put focus inside the active tab: the table, the terminal or the step list."""
        active = self.tabs.active
        if active == OVERVIEW:
            focused = self.focused
            if focused is None or self.overview not in focused.ancestors_with_self:
                self.overview.table.focus()
            return
        with contextlib.suppress(Exception):
            pane = self.tabs.get_pane(active)
            for kind in (Terminal, RepairPane, StepList, Timeline):
                found = pane.query(kind)
                if found:
                    found.first().focus()
                    return

    async def action_close_tab(self) -> None:
        """Close the current tab (a shell's session is closed too)."""
        active = self.tabs.active
        if active == OVERVIEW:
            return
        shell = self._pane(active, ShellPane)
        if shell is not None:
            await shell.close()
        await self.tabs.remove_pane(active)
        self.tabs.active = OVERVIEW

    async def action_real_terminal(self) -> None:
        """Suspend the console and open the same shell in the operator's real terminal."""
        shell = self._pane(self.tabs.active, ShellPane)
        vm = shell.vm if shell is not None else self.overview.selected_vm()
        if vm is None or self.backend is None:
            self.notify("select a system VM first", severity="warning")
            return
        if self._shell_refused(vm):
            return
        try:
            route = await self.backend.route(vm)
        except CspctlError as exc:
            self.notify(str(exc), title=f"shell {vm.name}", severity="error")
            return
        try:
            with self.suspend():
                await self.backend.real_shell(vm, route)
        except CspctlError as exc:
            self.notify(str(exc), title=f"shell {vm.name}", severity="error")
        except Exception as exc:  # SuspendNotSupported (headless, web) and the like
            self.notify(f"cannot open the real terminal here: {type(exc).__name__}: {exc}",
                        severity="warning")
        self.refresh()

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

    async def _close_panes(self) -> None:
        for pane in list(self.tabs.query(TabPane)):
            if pane.id and pane.id != OVERVIEW:
                shell = self._pane(pane.id, ShellPane)
                if shell is not None:
                    await shell.close()
                await self.tabs.remove_pane(pane.id)

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


def run(args: argparse.Namespace) -> int:
    """Entry point for ``cspctl`` (no subcommand): the console."""
    settings = UiSettings(lab_scenario=getattr(args, "scenario", "seed") or "seed")
    read_only = getattr(args, "read_only", None)
    # Fail on a bad scenario or profile with one line, before the screen is taken over.
    if getattr(args, "lab", False):
        Backend.check_lab_scenario(settings.lab_scenario)
    else:
        from cspctl.config import load_profile

        load_profile(getattr(args, "profile", None))
    if getattr(args, "lab", False):
        opener: Opener = partial(Backend.open_lab, settings.lab_scenario, read_only=read_only,
                                 settings=settings)
    else:
        opener = partial(Backend.open_profile, getattr(args, "profile", None),
                         read_only=read_only, settings=settings)
    app = CspctlApp(opener, settings=settings)
    result = app.run()
    if app.journal_hint:
        print(app.journal_hint, flush=True)
    if app.return_code not in (None, 0):
        return int(app.return_code or 1)
    return int(result or 0)
