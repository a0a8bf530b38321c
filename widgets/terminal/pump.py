"""Parsing off the UI thread: a worker thread drains an :class:`Emulator`'s queue.

The UI thread queues bytes (:meth:`ParsePump.feed`) and, once per frame, reads the screen
under :attr:`ParsePump.lock`; the worker parses one chunk at a time (sized to a few ms of
CPU, :meth:`Emulator.step`), taking the lock for each, so a frame never waits for more
than one chunk. Replies the terminal owes the remote side
(device status reports) are handed to ``on_reply`` on the worker thread: pass a callable
that is safe there (e.g. ``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from widgets.terminal.emulator import Emulator


class ParsePump:
    """One daemon thread per terminal; :meth:`stop` ends it."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._watch: tuple[int, Callable[[], None]] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="terminal-parse",
                                            daemon=True)
            self._thread.start()

    def feed(self, data: bytes) -> None:
        """Queue bytes for the worker (any thread)."""
        if not data:
            return
        with self.lock:
            self.emulator.feed(data)
        self._wake.set()

    @property
    def pending(self) -> int:
        """Bytes queued and not parsed yet (the backlog)."""
        return self.emulator.pending_bytes

    def notify_below(self, level: int, callback: Callable[[], None]) -> bool:
        """Call ``callback`` (from the worker thread) once the backlog is at most ``level``
        bytes; False (and no call) when it already is. One watch at a time."""
        with self.lock:
            if self.emulator.pending_bytes <= level:
                return False
            self._watch = (level, callback)
            return True

    def _check_watch(self) -> None:
        watch = self._watch
        if watch is not None and self.emulator.pending_bytes <= watch[0]:
            self._watch = None
            watch[1]()

    def drain(self) -> None:
        """Parse everything queued now, on the calling thread (tests, snapshots)."""
        with self.lock:
            self.emulator.process(None)
            self._check_watch()

    def _run(self) -> None:
        emulator, lock, wake = self.emulator, self.lock, self._wake
        while not self._stopped:
            wake.wait()
            wake.clear()
            while not self._stopped:
                with lock:
                    if not emulator.pending_bytes:
                        break
                    emulator.step()
                    self._check_watch()
                time.sleep(0)  # let a waiting UI thread take the GIL (and the lock) now

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
