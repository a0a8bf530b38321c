"""Drawing one line of a line table (the header or a row) as a ``Strip``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from widgets.linetable.cells import Column, cut, text_width


def _finish(segments: list[Segment], width: int, scroll_x: int, base: Style) -> Strip:
    strip = Strip(segments)
    if scroll_x:
        strip = strip.crop(scroll_x, scroll_x + width)
    return strip.adjust_cell_length(width, base).simplify()


def _extend(widths: Sequence[int], padding: int, width: int, style: Style) -> Segment:
    used = sum(w + 2 * padding for w in widths)
    return Segment(" " * max(0, width - used), style + Style.from_meta({"out_of_bounds": True}))


def header_strip(active: Sequence[Column], widths: Sequence[int], padding: int,
                 header: Style, width: int, scroll_x: int, base: Style) -> Strip:
    """Column labels (each carries its column index as meta: a click sorts by it)."""
    pad = " " * padding
    segments = []
    for ci, (col, w) in enumerate(zip(active, widths, strict=True)):
        label = cut(col.label, w)
        style = header + Style.from_meta({"column": ci})
        segments.append(Segment(pad + label + " " * (w - text_width(label)) + pad, style))
    segments.append(_extend(widths, padding, width, header))
    return _finish(segments, width, scroll_x, base)


def row_strip(cells: Sequence[tuple[str, str]], widths: Sequence[int], padding: int,
              component: Style, tone_style: Callable[[str], Style], width: int,
              scroll_x: int, base: Style) -> Strip:
    """One row: ``cells`` (text, tone) of the shown columns; ``component`` the cursor or
    hover style over it; a toned text is drawn in its tone's style."""
    post = Style.from_color(color=component.color) if component.color else None
    pad = " " * padding
    segments = []
    for ci, ((text, tone), w) in enumerate(zip(cells, widths, strict=True)):
        text = cut(text, w)
        fill = " " * (w - text_width(text))
        plain = base + Style.from_meta({"column": ci}) + component
        if post is not None:
            plain += post
        if tone and text:
            toned = base + Style.from_meta({"column": ci}) + component + tone_style(tone)
            if post is not None:
                toned += post
            segments += [Segment(pad, plain), Segment(text, toned), Segment(fill + pad, plain)]
        else:
            segments.append(Segment(pad + text + fill + pad, plain))
    segments.append(_extend(widths, padding, width, base + component))
    return _finish(segments, width, scroll_x, base)
