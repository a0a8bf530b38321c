"""Untrusted text made safe to show: one rule for every output path.

Everything that comes from a cloud, a VM, a file or a profile is data. Before it reaches a
terminal (CLI output, one-line errors, reports) it goes through :func:`safe_line` (one line,
nothing a terminal would obey) or :func:`safe_block` (multi-line evidence keeps newlines and
tabs). Control characters become visible escapes (``\\x1b``), so an operator still sees that
something odd was there. Long values are cut with a visible marker.

The console renders the same strings as text (``rich.text.Text``), never as markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_FIELD = 4096
"""Longest single value (a name, a state) shown or kept, in characters."""
MAX_BLOCK = 64 * 1024
"""Longest multi-line block (command output used as evidence), in characters."""

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# lone surrogates (from JSON ``\\ud800`` escapes) cannot even be encoded for a terminal
_ODD = f"{_BIDI}\u2028\u2029\ud800-\udfff"
_UNSAFE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_ODD}]")
_UNSAFE_BLOCK = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_ODD}]")
# what json.dumps(ensure_ascii=False) leaves raw although a terminal would act on it
_UNSAFE_JSON = re.compile(f"[\\x7f-\\x9f{_ODD}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters plus a visible marker saying how much."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters cut]"


def safe_line(value: object, limit: int = MAX_FIELD) -> str:
    """One line with no control, escape or bidi character left; newlines show as ``\\x0a``."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE_LINE.sub(_escape, truncate(text, limit))


def safe_block(value: object, limit: int = MAX_BLOCK) -> str:
    """Multi-line text: newlines and tabs kept, every other control character made visible."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE_BLOCK.sub(_escape, truncate(text, limit))


def is_safe(text: str, *, multiline: bool = False) -> bool:
    """True when ``text`` holds nothing :func:`safe_line` (or :func:`safe_block`) would change."""
    pattern = _UNSAFE_BLOCK if multiline else _UNSAFE_LINE
    return pattern.search(text) is None


def bounded(value: Any, limit: int = MAX_FIELD) -> Any:
    """``value`` (decoded JSON) with every string, key or value, cut to ``limit`` characters
    (with :func:`truncate`'s marker); dicts, lists and tuples are copied, the rest kept."""
    if isinstance(value, str):
        return truncate(value, limit)
    if isinstance(value, dict):
        return {bounded(k, limit): bounded(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v, limit) for v in value]
    return value


def safe_json(value: Any, **dumps_kwargs: Any) -> str:
    """``json.dumps`` whose text is safe to print: the same document, but DEL, C1 and bidi
    characters (left raw by ``ensure_ascii=False``) are written as ``\\uXXXX`` escapes.

    ``json.dumps`` already escapes C0 controls; the JSON value read back is unchanged.
    """
    return safe_json_text(json.dumps(value, ensure_ascii=False, **dumps_kwargs))


def safe_json_text(text: str) -> str:
    """JSON text (as ``json.dumps(..., ensure_ascii=False)`` writes it) made safe to print:
    DEL, C1 and bidi characters, which can only stand inside its strings, become ``\\uXXXX``
    escapes there. The document read back is unchanged."""
    if _UNSAFE_JSON.search(text) is None:
        return text
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
