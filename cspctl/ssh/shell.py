"""Interactive PTY sessions on a system VM, recorded as asciicast v2 files.

Only what the VM *sends* is recorded (``"o"`` events, plus ``"r"`` resizes); keystrokes are
never written, so passwords typed at a prompt never land on disk. What the VM sends back (the
echo of typed characters, one or a few at a time) is masked on the joined stream
(:class:`~cspctl.ssh.mask.StreamMasker`): a short tail that could still become a secret is held
back until the next output, a flush timer or the end of the session. The live terminal gets
every byte at once; only the recording waits.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import asyncssh

from cspctl.ssh.mask import StreamMasker, mask_secrets
from cspctl.ssh.route import Route

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
FLUSH_DELAY = 0.25
"""Seconds of silence after which a held tail that reveals nothing is written anyway."""


class CastWriter:
    """Appends asciicast v2 lines: a header, then ``[t, "o", text]`` / ``[t, "r", "CxR"]``."""

    def __init__(
        self,
        path: Path,
        *,
        cols: int,
        rows: int,
        term: str,
        title: str | None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.path = path
        self._masker = StreamMasker(secrets)
        self._last_t = 0.0
        self._held_t: float | None = None  # when the text held back by the masker arrived
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: TextIO | None = open(path, "w", encoding="utf-8")  # noqa: SIM115
        os.chmod(path, 0o600)
        self._start = time.monotonic()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        header: dict[str, Any] = {
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": int(time.time()),
            "env": {"TERM": term, "SHELL": "/bin/sh"},
        }
        if title:
            header["title"] = title
        self._write(header)

    def _write(self, obj: Any) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self._fh.flush()

    def _t(self) -> float:
        return round(time.monotonic() - self._start, 6)

    def _event(self, t: float, kind: str, data: str) -> None:
        self._last_t = max(self._last_t, t)  # events stay in time order
        self._write([self._last_t, kind, data])

    @property
    def holding(self) -> bool:
        """True while output is held back (it could still become a secret)."""
        return self._masker.holding

    def output(self, data: bytes) -> None:
        now = self._t()
        text = self._masker.feed(self._decoder.decode(data))
        if text:
            self._event(now, "o", text)
        self._held_t = (self._held_t or now) if self._masker.holding else None

    def flush_held(self) -> None:
        """Write the held tail if it reveals nothing (called after :data:`FLUSH_DELAY`)."""
        text = self._masker.flush()
        if text:
            self._event(self._held_t if self._held_t is not None else self._t(), "o", text)
        if not self._masker.holding:
            self._held_t = None

    def resize(self, cols: int, rows: int) -> None:
        self._event(self._t(), "r", f"{cols}x{rows}")

    def close(self) -> None:
        if self._fh is None:
            return
        tail = self._masker.feed(self._decoder.decode(b"", final=True)) + self._masker.close()
        if tail:
            self._event(self._held_t if self._held_t is not None else self._t(), "o", tail)
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class ShellSession:
    """A PTY process on the target: raw bytes in and out, resizable, recorded."""

    def __init__(
        self,
        process: asyncssh.SSHClientProcess[bytes],
        *,
        route: Route,
        journal: Any = None,
        term: str = "xterm-256color",
        cols: int = 80,
        rows: int = 24,
        command: str | None = None,
    ) -> None:
        self._proc = process
        self.route = route
        self.journal = journal
        self.term, self.cols, self.rows = term, cols, rows
        self.exit_status: int | None = None
        self.cast_path: Path | None = None
        self._cast: CastWriter | None = None
        self._ended = False
        self._started = time.monotonic()
        self._flush_timer: asyncio.TimerHandle | None = None
        if journal is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            name = _SAFE.sub("_", route.vm_name or route.target.host)
            self.cast_path = Path(journal.directory) / "casts" / f"{stamp}-{name}.cast"
            n = 1
            while self.cast_path.exists():
                n += 1
                self.cast_path = self.cast_path.with_name(f"{stamp}-{name}-{n}.cast")
            self._cast = CastWriter(
                self.cast_path, cols=cols, rows=rows, term=term, title=route.vm_name,
                secrets=_known_secrets(journal),
            )
            journal.record(
                "ssh.shell", action="start", vm=route.vm_name, vm_id=route.vm_id,
                route=route.summary(), term=term, cols=cols, rows=rows,
                command=mask_secrets(command) if command else None,
                cast=str(self.cast_path),
            )

    async def read(self) -> bytes:
        """Next chunk of output (raw bytes); ``b""`` once the session has ended."""
        if self._ended:
            return b""
        try:
            data = await self._proc.stdout.read(65536)
        except (asyncssh.Error, OSError, BrokenPipeError):
            data = b""
        if isinstance(data, str):  # defensive: encoding is None, so bytes are expected
            data = data.encode()
        if data:
            if self._cast is not None:
                self._cast.output(data)
                self._schedule_flush()
            return data
        await self._finish()
        return b""

    def write(self, data: bytes) -> None:
        """Send keystrokes (never recorded)."""
        if self._ended:
            return
        with contextlib.suppress(asyncssh.Error, OSError, BrokenPipeError):
            self._proc.stdin.write(data)

    def write_eof(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError, BrokenPipeError):
            self._proc.stdin.write_eof()

    def resize(self, cols: int, rows: int) -> None:
        """Tell the remote PTY its new size (and record it)."""
        if self._ended or (cols, rows) == (self.cols, self.rows):
            return
        self.cols, self.rows = cols, rows
        with contextlib.suppress(asyncssh.Error, OSError):
            self._proc.change_terminal_size(cols, rows)
        if self._cast is not None:
            self._cast.resize(cols, rows)

    def _schedule_flush(self) -> None:
        """After a quiet moment, write what the recording holds back (if it reveals nothing)."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._cast is not None and self._cast.holding:
            self._flush_timer = asyncio.get_running_loop().call_later(
                FLUSH_DELAY, self._cast.flush_held
            )

    @property
    def ended(self) -> bool:
        return self._ended

    async def _finish(self) -> None:
        if self._ended:
            return
        self._ended = True
        with contextlib.suppress(Exception):
            await self._proc.wait_closed()
        status = self._proc.exit_status
        if (status is None or status < 0) and self._proc.exit_signal:
            status = 128 + _signum(self._proc.exit_signal[0])
        self.exit_status = status if status is not None and status >= 0 else None
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._cast is not None:
            self._cast.close()
        if self.journal is not None:
            self.journal.record(
                "ssh.shell", action="end", vm=self.route.vm_name, vm_id=self.route.vm_id,
                exit_status=self.exit_status, duration=round(time.monotonic() - self._started, 3),
                cast=str(self.cast_path) if self.cast_path else None,
            )

    async def close(self) -> None:
        """End the session (closes the channel, not the pooled connection)."""
        if not self._ended:
            self._proc.close()
        await self._finish()


def _known_secrets(journal: Any) -> frozenset[str]:
    """The secret values the journal knows (the profile's keys and passwords)."""
    scrub = getattr(journal, "scrub", None)
    return frozenset(getattr(scrub, "secrets", ()) or ())


def _signum(name: str) -> int:
    import signal

    try:
        return int(signal.Signals[f"SIG{name}"])
    except KeyError:
        return 0
