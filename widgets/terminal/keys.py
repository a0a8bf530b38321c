"""Textual key names → the bytes an xterm sends (what the remote program expects)."""

from __future__ import annotations

_CSI = "\x1b["

_SIMPLE: dict[str, str] = {
    "enter": "\r", "tab": "\t", "shift+tab": "\x1b[Z", "backspace": "\x7f",
    "ctrl+h": "\x08", "escape": "\x1b", "delete": "\x1b[3~", "insert": "\x1b[2~",
    "pageup": "\x1b[5~", "pagedown": "\x1b[6~",
    "f1": "\x1bOP", "f2": "\x1bOQ", "f3": "\x1bOR", "f4": "\x1bOS",
    "f5": "\x1b[15~", "f6": "\x1b[17~", "f7": "\x1b[18~", "f8": "\x1b[19~",
    "f9": "\x1b[20~", "f10": "\x1b[21~", "f11": "\x1b[23~", "f12": "\x1b[24~",
    "ctrl+@": "\x00", "ctrl+space": "\x00", "ctrl+left_square_bracket": "\x1b",
    "ctrl+backslash": "\x1c", "ctrl+right_square_bracket": "\x1d",
    "ctrl+circumflex_accent": "\x1e", "ctrl+underscore": "\x1f",
}
_CURSOR = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
_MODIFIERS = {"shift": 1, "alt": 2, "ctrl": 4}


def key_to_bytes(key: str, character: str | None, *, app_cursor: bool = False) -> bytes | None:
    """The bytes for a Textual key event, or None when the key means nothing to a terminal.

    ``app_cursor``: DECCKM is set (arrows send ``ESC O A`` rather than ``ESC [ A``).
    """
    if key in _SIMPLE:
        return _SIMPLE[key].encode()
    *mods, base = key.split("+")
    if base in _CURSOR:
        final = _CURSOR[base]
        if not mods:
            return (("\x1bO" if app_cursor else _CSI) + final).encode()
        code = 1 + sum(_MODIFIERS.get(m, 0) for m in mods)
        return f"{_CSI}1;{code}{final}".encode()
    if mods == ["ctrl"] and len(base) == 1 and base.isalpha():
        return bytes([ord(base.lower()) - ord("a") + 1])
    if mods == ["alt"] and character:
        return b"\x1b" + character.encode()
    if character and character.isprintable():
        return character.encode()
    return None


def paste_bytes(text: str, *, bracketed: bool) -> bytes:
    """Pasted text as the remote side expects it (newlines as CR; bracketed if asked for)."""
    data = text.replace("\r\n", "\r").replace("\n", "\r").encode()
    return b"\x1b[200~" + data + b"\x1b[201~" if bracketed else data
