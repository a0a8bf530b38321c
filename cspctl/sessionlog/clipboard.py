"""Put a report on the operator's clipboard, and always say how (or that it could not).

1. pyperclip, where a local clipboard works (macOS, Windows, Linux with a display);
2. otherwise an OSC 52 escape when the output is a terminal (the usual case over SSH: the
   operator's own terminal puts the text on their clipboard);
3. otherwise nothing reachable: the caller names the file the report was written to.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TextIO

Method = Literal["pyperclip", "osc52", "none"]
OSC52_LIMIT = 100_000
"""Base64 bytes above which many terminals ignore or cut an OSC 52 sequence."""


@dataclass(frozen=True)
class CopyResult:
    method: Method
    detail: str


def has_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Can a local clipboard work here? (Linux/BSD need an X or Wayland display.)"""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if platform.startswith(("darwin", "win", "cygwin")):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def pyperclip_copy(text: str) -> str | None:
    """Copy with pyperclip; None on success, else why it could not."""
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception as exc:  # PyperclipException, missing xclip/xsel, a dead display
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return None


def osc52_sequence(text: str, env: Mapping[str, str] | None = None) -> str:
    """``ESC ] 52 ; c ; <base64> BEL`` (wrapped for tmux/screen passthrough when inside one)."""
    env = os.environ if env is None else env
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    seq = f"\x1b]52;c;{payload}\x07"
    if env.get("TMUX"):
        return f"\x1bPtmux;\x1b{seq}\x1b\\"
    if env.get("STY"):
        return f"\x1bP{seq}\x1b\\"
    return seq


def copy_text(text: str, stream: TextIO | None = None,
              env: Mapping[str, str] | None = None) -> CopyResult:
    """Copy ``text`` by the first method that can work here; the result says which."""
    env = os.environ if env is None else env
    stream = stream or sys.stdout
    why = "no display"
    if has_display(env):
        failure = pyperclip_copy(text)
        if failure is None:
            return CopyResult("pyperclip", "the local clipboard (pyperclip)")
        why = failure
    if _isatty(stream):
        seq = osc52_sequence(text, env)
        stream.write(seq)
        stream.flush()
        size = len(seq)
        note = (f"; {size} bytes, more than many terminals accept ({OSC52_LIMIT})"
                if size > OSC52_LIMIT else "")
        return CopyResult("osc52", f"an OSC 52 escape to this terminal (local clipboard: "
                                   f"{why}){note}")
    return CopyResult("none", f"no clipboard reachable (local: {why}; output is not a "
                              "terminal for OSC 52)")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
