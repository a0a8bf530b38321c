"""Interactive PTY sessions on a system VM, recorded as asciicast v2 files.

Only what the VM *sends* is recorded (``"o"`` events, plus ``"r"`` resizes); keystrokes are
never written, so passwords typed at a prompt never land on disk.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncssh

from cspctl.ssh.mask import mask_secrets
from cspctl.ssh.route import Route

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


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
        scrub: Callable[[str], str] | None = None,
    ) -> None:
        self.path = path
        self._scrub = scrub
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "w", encoding="utf-8")  # noqa: SIM115
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

    def output(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            self._write([self._t(), "o", self._scrub(text) if self._scrub else text])

    def resize(self, cols: int, rows: int) -> None:
        self._write([self._t(), "r", f"{cols}x{rows}"])

    def close(self) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._write([self._t(), "o", tail])
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class ShellSession:
    """A PTY process on the target: raw bytes in and out, resizable, recorded."""

    def __init__(
        self,
        process: asyncssh.SSHClientProcess,  # type: ignore[type-arg]
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
                scrub=_scrubber(journal),
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


def _scrubber(journal: Any) -> Callable[[str], str]:
    """Best effort for recordings: the journal's known secrets and ``vmpassword=`` values
    (a secret split across two output chunks can escape the pattern)."""
    scrub = getattr(journal, "scrub", None)

    def apply(text: str) -> str:
        text = mask_secrets(text)
        return scrub(text) if callable(scrub) else text

    return apply


def _signum(name: str) -> int:
    import signal

    try:
        return int(signal.Signals[f"SIG{name}"])
    except KeyError:
        return 0
