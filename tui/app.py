"""The cspctl console: zones, system VMs, shell panes and diagnostics panes, as tabs.

Entry point ``run(args)`` (registered as the ``cspctl.ui`` entry point): ``cspctl --lab``
starts the embedded lab in-process on the seed scenario; ``cspctl`` uses the default profile.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import TabbedContent, TabPane

from cspctl import signals
from cspctl.cloudstack.models import SystemVm
from cspctl.errors import CspctlError
from cspctl.gate import Refused
from tui.commands import ConsoleCommands
from tui.connection import ConnectedApp
from tui.diag_pane import DiagnosticsPane
from tui.footer import FitFooter
from tui.help import HelpScreen, binding_groups, binding_rows, settings_rows
from tui.log_pane import LogPane
from tui.overview import Overview
from tui.panes import LOG_TAB, OVERVIEW, find_pane, focus_inside, next_tab, tab_id
from tui.repair_pane import RepairPane
from tui.repair_target import repair_target
from tui.shell_pane import ShellPane
from widgets import plain
from widgets.sessionlog import Timeline
from widgets.steps import StepList
from widgets.terminal import Terminal

if TYPE_CHECKING:
    from cspctl.diagnostics import Finding


class CspctlApp(ConnectedApp):
    """The console: header, tabs (the VM list first), footer, and every key's action."""

    CSS_PATH = "cspctl.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    TITLE = "cspctl"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("s", "shell", "Shell", id="console.shell",
                tooltip="Open a root shell tab on the selected system VM"),
        Binding("d", "diagnose", "Diagnose", id="console.diagnose",
                tooltip="Diagnose the selected system VM step by step"),
        Binding("slash", "filter", "Filter", id="console.filter",
                tooltip="Filter system VMs by name, state or IP"),
        Binding("question_mark", "help", "Help", id="console.help",
                tooltip="Every key, where it works and its id (for [keymap])"),
        Binding("r", "repair", "Repair", id="console.repair",
                tooltip="Repair wizard for the selected VM or failed step"),
        Binding("l", "log", "Log", id="console.log",
                tooltip="This session's journal, live"),
        Binding("ctrl+r", "refresh", "Refresh", id="console.refresh",
                tooltip="Reload zones and system VMs now"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="console.quit",
                tooltip="Close shells and the session, then quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="console.palette",
                tooltip="Every action by name"),
        Binding("D", "diagnose_zone", "Diagnose zone", show=False, id="console.diagnose_zone",
                tooltip="Diagnose every system VM of the selected zone"),
        Binding("ctrl+t", "real_terminal", "Real terminal", priority=True,
                id="console.real_terminal",
                tooltip="The same shell in your real terminal (the console waits)"),
        Binding("ctrl+w", "close_tab", "Close tab", show=False, id="console.close_tab",
                tooltip="Close this tab (and its shell)"),
        Binding("ctrl+pagedown", "next_tab", "Next tab", show=False, priority=True,
                id="console.next_tab", tooltip="Next tab"),
        Binding("ctrl+pageup", "previous_tab", "Previous tab", show=False, priority=True,
                id="console.previous_tab", tooltip="Previous tab"),
        Binding("right_square_bracket", "next_tab", "Next tab", show=False,
                id="console.next_tab_key", tooltip="Next tab"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", show=False,
                id="console.previous_tab_key", tooltip="Previous tab"),
        Binding("ctrl+c", "help_quit", show=False, system=True, id="console.help_quit",
                tooltip="Says how to quit"),
    ]

    def compose(self) -> ComposeResult:
        yield self._header.data_bind(
            ConnectedApp.snapshot, ConnectedApp.api_error, ConnectedApp.api_unreachable)
        with TabbedContent(id="tabs", initial=OVERVIEW), TabPane("System VMs", id=OVERVIEW):
            yield Overview(scrub=self.settings.shown, id="overview-pane")
        yield FitFooter(compact=True)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#tabs", TabbedContent)

    @property
    def priority_keys(self) -> frozenset[str]:
        """Keys of the console's priority bindings (as remapped): a shell pane leaves them to
        the console (quit, tabs, real terminal); every other key goes to the shell."""
        keys: set[str] = set()
        for cls in type(self).__mro__:
            for b in getattr(cls, "BINDINGS", ()):
                if isinstance(b, Binding) and b.priority:
                    mapped = self.settings.keymap.get(b.id, b.key) if b.id else b.key
                    keys.update(k.strip() for k in mapped.split(","))
        return frozenset(keys)

    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        if self.settings.theme:
            self.theme = self.settings.theme
        if not self.is_headless:  # a real terminal: SIGTERM/SIGHUP must give it back intact
            self._remove_signal_handlers = signals.install(
                asyncio.get_running_loop(), self._on_stop_signal
            )
        self.overview.table.focus()
        self.set_interval(1.0, self._tick, name="status-clock")
        self.start_backend()

    def on_repair_pane_ended(self, _: RepairPane.Ended) -> None:
        self.refresh_data()  # a playbook may have rebooted, re-created or moved a VM

    def on_terminal_closed(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+t (real terminal) is offered only in an open shell pane (where every other
        key goes to the shell: :meth:`ShellPane.check_consume_key`)."""
        if action == "real_terminal":
            focused = self.focused
            return isinstance(focused, Terminal) and focused.closed_message is None
        return True

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
        tab = tab_id("shell", vm.id or vm.name or "vm")
        existing = find_pane(self.tabs, tab, ShellPane)
        if existing is not None and existing.busy:
            self.tabs.active = tab
            existing.terminal.focus()
            return
        if existing is not None:
            self.tabs.remove_pane(tab)
        pane = TabPane(plain.content(f"Shell {vm.name}"), ShellPane(self.backend, vm), id=tab)
        self.call_after_refresh(self._add_pane, pane, tab)

    async def _add_pane(self, pane: TabPane, tab: str) -> None:
        await self.tabs.add_pane(pane)
        self.tabs.active = tab

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
        tab = tab_id("diag", "_".join(vm.id or "" for vm in vms)[:60])
        existing = find_pane(self.tabs, tab, DiagnosticsPane)
        if existing is not None and existing.busy:
            self.tabs.active = tab
            return
        if existing is not None:
            self.tabs.remove_pane(tab)
        pane = TabPane(plain.content(f"Diagnose {label}"),
                       DiagnosticsPane(self.backend, vms, label), id=tab)
        self.call_after_refresh(self._add_pane, pane, tab)

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

    def open_repair(self, vm: SystemVm, findings: list[Finding] | None = None,
                    playbook: str | None = None) -> None:
        if self.backend is None:
            self.notify("not connected yet", severity="warning")
            return
        tab = tab_id("repair", vm.id or vm.name or "vm")
        existing = find_pane(self.tabs, tab, RepairPane)
        if existing is not None and existing.busy:
            self.tabs.active = tab
            return
        if existing is not None:
            self.tabs.remove_pane(tab)
        pane = TabPane(f"Repair {vm.name}", RepairPane(self.backend, vm, findings=findings,
                                                       playbook=playbook), id=tab)
        self.call_after_refresh(self._add_pane, pane, tab)

    def action_log(self) -> None:
        """Open (or go to) the session log: the live timeline of this session's journal."""
        if self.backend is None:
            self.notify("not connected yet", severity="warning")
            return
        if find_pane(self.tabs, LOG_TAB, LogPane) is not None:
            self.tabs.active = LOG_TAB
            self._focus_active()
            return
        pane = TabPane("Session log", LogPane(self.backend), id=LOG_TAB)
        self.call_after_refresh(self._add_pane, pane, LOG_TAB)

    def action_help(self) -> None:
        """Show every binding with its id."""
        rows = binding_rows(binding_groups(self.BINDINGS), self.get_key_display,
                            self.settings.keymap) + settings_rows()
        self.push_screen(HelpScreen(rows))

    def action_next_tab(self) -> None:
        self._cycle_tab(1)

    def action_previous_tab(self) -> None:
        self._cycle_tab(-1)

    def _cycle_tab(self, step: int) -> None:
        tab = next_tab(self.tabs, step)
        if tab is not None:
            self.tabs.active = tab
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
        focus_inside(self.tabs, (Terminal, RepairPane, StepList, Timeline))

    async def action_close_tab(self) -> None:
        """Close the current tab (a shell's session is closed too)."""
        active = self.tabs.active
        if active == OVERVIEW:
            return
        shell = find_pane(self.tabs, active, ShellPane)
        if shell is not None:
            await shell.close()
        await self.tabs.remove_pane(active)
        self.tabs.active = OVERVIEW

    async def action_real_terminal(self) -> None:
        """Suspend the console and open the same shell in the operator's real terminal."""
        shell = find_pane(self.tabs, self.tabs.active, ShellPane)
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

    async def _close_panes(self) -> None:
        for pane in list(self.tabs.query(TabPane)):
            if pane.id and pane.id != OVERVIEW:
                shell = find_pane(self.tabs, pane.id, ShellPane)
                if shell is not None:
                    await shell.close()
                await self.tabs.remove_pane(pane.id)

def run(args: argparse.Namespace) -> int:
    """Entry point for ``cspctl`` (no subcommand): the console (see :mod:`tui.launch`)."""
    from tui.launch import launch

    return launch(args)
