"""How many rows a listing had last time, kept in a small file between runs, so that a new
process asks for every page of a large listing at once instead of waiting for page 1.

A guess only: pages past the end come back empty, and the rows must still add up to the
server's ``count`` (pagination.fetch_all). Nothing secret is stored: the server's address, the
command and its parameters (names, ids), and a number.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

Key = tuple[str, tuple[tuple[str, str], ...]]
MAX_ENTRIES = 200


def _text(server: str, key: Key) -> str:
    command, params = key
    return json.dumps([server, command, [list(p) for p in params]], separators=(",", ":"))


def load(path: Path | None, server: str) -> dict[Key, int]:
    """This server's remembered sizes ({} when there is no file or it is unreadable)."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[Key, int] = {}
    if not isinstance(data, dict):
        return out
    for text, size in data.items():
        with contextlib.suppress(ValueError, TypeError):
            srv, command, params = json.loads(text)
            if srv == server and isinstance(size, int) and size > 0:
                out[(str(command), tuple((str(k), str(v)) for k, v in params))] = size
    return out


def save(path: Path | None, server: str, sizes: Mapping[Key, int]) -> None:
    """Merge this server's sizes into the file (atomically; the newest MAX_ENTRIES kept)."""
    if path is None:
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    for key, size in sizes.items():
        text = _text(server, key)
        data.pop(text, None)
        data[text] = size
    data = dict(list(data.items())[-MAX_ENTRIES:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".list-sizes-")
    except OSError:
        return  # a hint only: a read-only state directory costs one round trip, no more
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
