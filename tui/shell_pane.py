"""A shell tab: the terminal widget fed by an SSH PTY session on one system VM."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from cspctl.cloudstack.models import SystemVm
from cspctl.errors import CspctlError
from tui.panes import PaneState, StatefulPane
from widgets import plain
from widgets.terminal import Terminal

if TYPE_CHECKING:
    from cspctl.ssh import Route, ShellSession
    from tui.backend import Backend

HINT = "ctrl+] leave · ctrl+pgup/pgdn tabs · ctrl+t real terminal · shift+pgup scrollback"


class ShellPane(StatefulPane):
    """Connects on mount; output flows into the terminal, keys and resizes flow back."""

    def __init__(self, backend: Backend, vm: SystemVm, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.backend = backend
        self.vm = vm
        self.route: Route | None = None
        self.session: ShellSession | None = None
        self.state = PaneState.CONNECTING

    def compose(self) -> ComposeResult:
        yield Static(plain.line(f"{self.vm.name}: connecting…"), classes="pane-status",
                     markup=False)
        yield Terminal(writer=self._write, on_resize=self._resize)

    @property
    def terminal(self) -> Terminal:
        return self.query_one(Terminal)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """While the shell is open every key it would get is the shell's: the console's
        bindings on it neither fire nor show in the footer. The console's priority keys
        (quit, tabs, real terminal; as remapped) and the pane's own stay the console's."""
        kept: frozenset[str] = getattr(self.app, "priority_keys", frozenset())
        if character is None:  # Textual names some printable keys only ("slash"): ask it
            shown = self.app.get_key_display(Binding(key, ""))
            character = shown if len(shown) == 1 and "!" <= shown <= "~" else None
        if key in kept or (character is not None and character in kept):
            return False
        terminals = self.query(Terminal)
        return bool(terminals) and terminals.first().would_send(key, character)

    def _status(self, text: str) -> None:
        self.query_one(".pane-status", Static).update(
            plain.line(self.backend.settings.shown(text)))

    def on_mount(self) -> None:
        self.terminal.focus()
        self.connect()

    @work(exclusive=True, group="shell", exit_on_error=False)
    async def connect(self) -> None:
        """Resolve the route, open the PTY, then pump output until the remote side ends."""
        term = self.terminal
        try:
            self.route = await self.backend.route(self.vm)
            self._status(f"{self.vm.name}: connecting via {self.route.summary()}")
            cols, rows = await self._terminal_size()
            self.session = await self.backend.open_shell(self.route, cols, rows)
        except CspctlError as exc:
            self.state = PaneState.FAILED
            self._status(f"{self.vm.name}: ✘ {exc}")
            term.set_closed(f"could not connect: {exc}")
            self.notify(str(exc), title=f"shell {self.vm.name}", severity="error", timeout=10)
            return
        except Exception as exc:  # never crash the console on an unexpected engine error
            self.state = PaneState.FAILED
            self._status(f"{self.vm.name}: ✘ {type(exc).__name__}: {exc}")
            term.set_closed(f"could not connect: {exc}")
            self.notify(f"{type(exc).__name__}: {exc}", title=f"shell {self.vm.name}",
                        severity="error", timeout=10)
            return
        self.state = PaneState.OPEN
        self._status(f"{self.vm.name} ● {self.route.summary()}   {HINT}")
        if (term.emulator.columns, term.emulator.lines) != (cols, rows):
            self._resize(term.emulator.columns, term.emulator.lines)
        try:
            while True:
                data = await self.session.read()
                if not data:
                    break
                # A full backlog holds the reader: the channel is not read meanwhile, and
                # SSH flow control slows the sender instead of the console queueing it all.
                await term.wait_for_room(len(data))
                term.feed(data)
        except CspctlError as exc:
            self.notify(str(exc), title=f"shell {self.vm.name}", severity="error")
        except Exception as exc:
            self.notify(f"{type(exc).__name__}: {exc}", title=f"shell {self.vm.name}",
                        severity="error")
        status = self.session.exit_status if self.session is not None else None  # closed
        self.state = PaneState.CLOSED
        ended = f"session closed (exit {status})" if status is not None else "session closed"
        term.set_closed(ended)
        self._status(f"{self.vm.name} ○ {ended}   ctrl+w close tab")

    async def _terminal_size(self) -> tuple[int, int]:
        """The pane's size once laid out (the PTY opens at it: no resize right after)."""
        term = self.terminal
        for _ in range(100):
            if term.size.width > 0 and term.size.height > 0:
                break
            await asyncio.sleep(0.01)
        if term.size.width > 0 and term.size.height > 0:
            term.emulator.resize(term.size.width, term.size.height)
        return term.emulator.columns, term.emulator.lines

    def _write(self, data: bytes) -> None:
        if self.session is not None and self.state is PaneState.OPEN:
            try:
                self.session.write(data)
            except Exception as exc:
                self.notify(f"write failed: {exc}", severity="error")

    def _resize(self, cols: int, rows: int) -> None:
        if self.session is not None and self.state is PaneState.OPEN:
            with contextlib.suppress(Exception):
                self.session.resize(cols, rows)

    async def close(self) -> None:
        """Close the PTY session (the tab is being closed or the app is exiting)."""
        session, self.session = self.session, None
        self.state = PaneState.CLOSED
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
