"""The terminal widget: a pyte emulator rendered through Textual's line API.

Data flows one way: the data source calls :meth:`Terminal.feed` with raw bytes (from an SSH
PTY) after :meth:`Terminal.wait_for_room` (the backlog is bounded: a reader that waits stops
reading its channel, and SSH flow control then slows the sender). A worker thread parses the
backlog (:class:`~widgets.terminal.pump.ParsePump`); once per frame (~30 Hz) the UI thread
renders the rows pyte marked dirty into cached Strips, under the pump's lock, and repaints
only those. Keys typed into the focused widget become the bytes an xterm would send, handed
to ``writer``.

Keys kept by the pane (everything else goes to the remote program):
``ctrl+]`` leaves the pane (focus moves on; the session stays open),
``shift+pageup`` / ``shift+pagedown`` scroll back through history.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from widgets.terminal.emulator import Emulator
from widgets.terminal.keys import key_to_bytes, paste_bytes
from widgets.terminal.pump import ParsePump

FRAME = 1 / 30
BACKLOG_LIMIT = 256 * 1024
"""Most bytes queued and not parsed yet: :meth:`Terminal.wait_for_room` holds the reader."""
ROOM_WAKE = 0.5  # longest wait for the parse thread's wake-up before checking again


class Terminal(Widget, can_focus=True):
    """A VT100/xterm terminal pane fed raw bytes."""

    DEFAULT_CSS = """
    Terminal { width: 1fr; height: 1fr; background: $background; color: $foreground; }
    """

    BINDINGS = [
        # priority: Textual runs them (remapped by a keymap) before the key reaches _on_key
        Binding("ctrl+right_square_bracket", "leave", "Leave pane", id="terminal.leave",
                priority=True),
        Binding("shift+pageup", "scroll_history(-1)", "Scroll back", show=False,
                id="terminal.scroll_back", priority=True),
        Binding("shift+pagedown", "scroll_history(1)", "Scroll forward", show=False,
                id="terminal.scroll_forward", priority=True),
    ]

    class Closed(Message):
        """The remote side went away (the pane stays, showing why)."""

        def __init__(self, terminal: Terminal, message: str) -> None:
            super().__init__()
            self.terminal = terminal
            self.message = message

    def __init__(self, *, writer: Callable[[bytes], None] | None = None,
                 on_resize: Callable[[int, int], None] | None = None,
                 scrollback: int = 5000, name: str | None = None,
                 id: str | None = None,  # noqa: A002 - Textual's keyword for a widget id
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.writer = writer
        self.on_resize_cb = on_resize
        self.emulator = Emulator(80, 24, scrollback=scrollback, on_reply=self._reply)
        self.pump = ParsePump(self.emulator)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ui_thread = threading.get_ident()
        self.scroll_back = 0
        self.closed_message: str | None = None
        self._cache: dict[int, Strip] = {}
        self._cursor_row: int | None = None
        self._history_version = 0
        self._base: Style | None = None  # the widget's Rich style, read once per frame
        self.frames = 0

    # -- data source side -----------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Queue output from the remote side; it is parsed off the UI thread and drawn on
        the next frame. A reader should ``await wait_for_room(len(data))`` first."""
        self.pump.feed(data)

    async def wait_for_room(self, size: int) -> None:
        """Wait until ``size`` more bytes fit in the backlog (:data:`BACKLOG_LIMIT`): the
        parse thread wakes this coroutine once the backlog has drained that far."""
        level = max(0, BACKLOG_LIMIT - size)
        loop = asyncio.get_running_loop()
        while self.pump.pending > level:
            room = asyncio.Event()

            def wake(room: asyncio.Event = room) -> None:
                loop.call_soon_threadsafe(room.set)

            if not self.pump.notify_below(level, wake):
                return
            with contextlib.suppress(TimeoutError):  # a safety net: check again
                await asyncio.wait_for(room.wait(), ROOM_WAKE)

    @property
    def backlog(self) -> int:
        """Bytes received and not parsed yet."""
        return self.pump.pending

    def flush(self) -> None:
        """Parse everything queued now and repaint (tests, and before a snapshot)."""
        self.pump.drain()
        self._repaint()

    def set_closed(self, message: str) -> None:
        """Show that the remote side went away; keys are no longer sent."""
        self.closed_message = message
        self.pump.feed(f"\r\n\x1b[7m {message} \x1b[0m\r\n".encode())
        self.post_message(self.Closed(self, message))

    @property
    def display_lines(self) -> list[str]:
        """The visible screen as plain text (for tests and copy)."""
        with self.pump.lock:
            return self.emulator.display()

    def _reply(self, data: bytes) -> None:
        """The emulator answers the remote side (DSR/DA): from the parse thread, hop to
        the UI's loop first."""
        if threading.get_ident() == self._ui_thread or self._loop is None:
            self._send(data)
        else:
            self._loop.call_soon_threadsafe(self._send, data)

    def _send(self, data: bytes) -> None:
        if self.closed_message is not None or not data:
            return
        if self.writer is not None:
            self.writer(data)

    # -- lifecycle ------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ui_thread = threading.get_ident()
        self.pump.start()
        self.set_interval(FRAME, self._tick, name="terminal-frame")

    def on_unmount(self) -> None:
        self.pump.stop()

    def _tick(self) -> None:
        base = self.rich_style  # once per frame (Textual computes it through the ancestors)
        if base != self._base:
            self._base = base
            self._cache.clear()
            self.refresh()
        if self.emulator.screen.dirty or self._cursor_moved():
            self._repaint()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._cache.clear()

    def _cursor_moved(self) -> bool:
        cursor = self.emulator.screen.cursor
        return self._cursor_row != (None if cursor.hidden else cursor.y)

    def _style(self) -> Style:
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _repaint(self) -> None:
        """Once per frame: render the dirty rows (under the parse lock) and repaint them."""
        width = self.size.width
        base = self._style()
        if not self.pump.lock.acquire(timeout=FRAME / 4):
            return  # the parser holds the screen: draw on the next frame, never stall this one
        try:
            screen = self.emulator.screen
            dirty = set(screen.dirty)
            screen.dirty.clear()
            if self._cursor_row is not None:
                dirty.add(self._cursor_row)
            dirty.add(screen.cursor.y)
            if self.scroll_back:
                if self._history_version != screen.history_version:
                    # New lines scrolled into history while reading it: keep the view still.
                    grown = screen.history_version - self._history_version
                    self.scroll_back = min(self.scroll_back + grown, len(screen.history))
                dirty = set(range(screen.lines))
            self._history_version = screen.history_version
            self._cursor_row = None if screen.cursor.hidden else screen.cursor.y
            rows = [y for y in sorted(dirty) if 0 <= y < screen.lines]
            for y in dirty:
                self._cache.pop(y, None)
            if width and not self.scroll_back:
                for y in rows:
                    self._cache[y] = self._render_row(y, width, base)
        finally:
            self.pump.lock.release()
        for y in rows:
            self.refresh(Region(0, y, width, 1))
        self.frames += 1

    def on_resize(self, event: events.Resize) -> None:
        size: Size = event.size
        with self.pump.lock:
            resized = self.emulator.resize(size.width, size.height)
        if resized:
            self._cache.clear()
            self.scroll_back = 0
            if self.on_resize_cb is not None:
                self.on_resize_cb(size.width, size.height)
            self.refresh()

    # -- rendering ------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._style()
        if y >= self.emulator.lines:
            return Strip.blank(width, base)
        cached = self._cache.get(y)
        if cached is not None and not self.scroll_back and cached.cell_length == width:
            return cached
        with self.pump.lock:
            if y >= self.emulator.lines:
                return Strip.blank(width, base)
            strip = self._render_row(y, width, base)
        if not self.scroll_back:
            self._cache[y] = strip
        return strip

    def _render_row(self, y: int, width: int, base: Style) -> Strip:
        """Row ``y`` of the view as a Strip (the caller holds the parse lock)."""
        screen = self.emulator.screen
        line = self.emulator.line_at(y, self.scroll_back)
        show_cursor = (not self.scroll_back and not screen.cursor.hidden
                       and y == screen.cursor.y and self.has_focus)
        segments: list[Segment] = self.emulator.segments(
            line, base, screen.cursor.x if show_cursor else None
        )
        return Strip(segments).adjust_cell_length(width, base)

    def on_focus(self) -> None:
        self._invalidate_cursor()

    def on_blur(self) -> None:
        self._invalidate_cursor()

    def _invalidate_cursor(self) -> None:
        y = self.emulator.screen.cursor.y
        self._cache.pop(y, None)
        self.refresh(Region(0, y, self.size.width, 1))

    # -- keys -----------------------------------------------------------------------------
    def would_send(self, key: str, character: str | None) -> bool:
        """Would this key go to the remote side (it is open and the key makes bytes)? The
        pane's own keys are priority bindings: they never get this far."""
        if self.closed_message is not None:
            return False  # nobody listens any more: keys go to the app
        return key_to_bytes(key, character,
                            app_cursor=self.emulator.screen.application_cursor_keys) is not None

    async def _on_key(self, event: events.Key) -> None:
        if self.closed_message is not None:
            return  # nobody listens any more: keys go to the app
        data = key_to_bytes(event.key, event.character,
                            app_cursor=self.emulator.screen.application_cursor_keys)
        if data is None:
            return
        event.stop()
        event.prevent_default()
        if self.scroll_back:
            self.scroll_back = 0
            self._cache.clear()
            self.refresh()
        self._send(data)

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        if event.text:
            self._send(paste_bytes(event.text, bracketed=self.emulator.screen.bracketed_paste))

    def action_leave(self) -> None:
        """Leave the pane without closing it: focus moves to the next widget."""
        self.screen.focus_next()

    def action_scroll_history(self, direction: int) -> None:
        """Page through scrollback (negative: back in time)."""
        page = max(1, self.emulator.lines - 1)
        limit = len(self.emulator.screen.history)
        self.scroll_back = max(0, min(limit, self.scroll_back - direction * page))
        self._cache.clear()
        self.refresh()

    @property
    def idle(self) -> bool:
        """Nothing queued (all fed bytes are parsed)."""
        return not self.pump.pending

    def stats(self) -> dict[str, float]:
        """Counters for benchmarks."""
        return {"frames": self.frames, "fed": self.emulator.fed_bytes, "t": time.monotonic(),
                "max_backlog": self.emulator.max_pending}
