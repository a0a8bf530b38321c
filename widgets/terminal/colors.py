"""pyte character attributes → Rich styles (16 named colours, 256-colour and truecolour hex)."""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color
from rich.style import Style

# pyte's names for the 16 ANSI colours ("brown" is yellow; pyte misspells bright magenta bg).
_ANSI = {
    "black": 0, "red": 1, "green": 2, "brown": 3, "yellow": 3, "blue": 4, "magenta": 5,
    "cyan": 6, "white": 7,
}


@lru_cache(maxsize=1024)
def to_color(name: str) -> Color | None:
    """A pyte colour name or ``rrggbb`` hex string as a Rich Color (None for "default")."""
    if not name or name == "default":
        return None
    if name.startswith(("bright", "bfight")):
        base = _ANSI.get(name[6:])
        return Color.from_ansi(base + 8) if base is not None else None
    if name in _ANSI:
        return Color.from_ansi(_ANSI[name])
    if len(name) == 6:
        try:
            return Color.from_rgb(int(name[0:2], 16), int(name[2:4], 16), int(name[4:6], 16))
        except ValueError:
            return None
    return None


@lru_cache(maxsize=4096)
def char_style(fg: str, bg: str, bold: bool, italics: bool, underscore: bool,
               strikethrough: bool, reverse: bool, blink: bool) -> Style:
    """The Rich style for one combination of pyte attributes (cached: few distinct ones)."""
    return Style(
        color=to_color(fg), bgcolor=to_color(bg), bold=bold or None, italic=italics or None,
        underline=underscore or None, strike=strikethrough or None, reverse=reverse or None,
        blink=blink or None,
    )
