"""A footer that never overflows: at narrow widths it drops its least important keys."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Never dropped: how to leave a shell pane, get help and quit.
KEEP = frozenset({"leave", "help", "quit"})


def key_width(key: FooterKey, *, compact: bool = True) -> int:
    """Cells a footer key takes (its text and margin, as Footer's compact CSS lays it out)."""
    text = cell_len(key.key_display)
    if key.description:
        text += 1 + cell_len(key.description)
    if key.has_class("-command-palette"):
        return text + 1  # the vertical separator on its left
    return text + 1 if compact else text + 3


class FitFooter(Footer):
    """:class:`Footer` that shows only the keys that fit the screen width, dropping the
    right-most optional ones first (leave, help and quit stay; the command palette key goes
    last); recomposes on resize."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._fitted_width = 0
        self.dropped: list[str] = []

    def compose(self) -> ComposeResult:
        items: list[Widget] = list(super().compose())
        width = self.app.size.width
        self._fitted_width = width
        keys = [w for w in items if isinstance(w, FooterKey)]
        used = sum(key_width(k, compact=self.compact) for k in keys)
        dropped: list[Widget] = []
        for key in reversed(keys):
            if used <= width:
                break
            if key.has_class("-command-palette") or key.action.rsplit(".", 1)[-1] in KEEP:
                continue
            dropped.append(key)
            used -= key_width(key, compact=self.compact)
        if used > width:  # very narrow: ctrl+p still works, it just is not advertised
            dropped += [k for k in keys if k.has_class("-command-palette")]
        self.dropped = [k.action for k in dropped if isinstance(k, FooterKey)]
        yield from (w for w in items if w not in dropped)

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and self.app.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)
