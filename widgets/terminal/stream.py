"""pyte's byte stream with a fast lane for the bulk of terminal output.

pyte parses every control character through a Python generator, one character at a time.
Most output is text, ``\\r``, ``\\n`` and colour changes (``ESC [ … m``): while pyte's parser is
at rest (its "ground" state), :class:`FastByteStream` recognises those with one regular
expression and calls the screen directly, exactly as pyte's parser would. Anything else (a
cursor move, a mode change, an OSC title) is handed to pyte's own parser, up to the next
escape, and the fast lane resumes once pyte is back at rest; so every sequence pyte knows is
still handled by pyte, and the result is the same screen. A sequence pyte raises on is
dropped alone (pyte would lose the rest of the read with it).

At the start of a line on the blank bottom row, a run of whole lines (text and SGR, each
ended by CR LF) goes to the bulk lane instead (:meth:`TerminalScreen.place_lines`): the
rows are placed with O(lines) work, and those that scroll away reach history packed.
"""

from __future__ import annotations

import re

import pyte

from widgets.terminal.bulk import RUN
from widgets.terminal.screen import TerminalScreen

_FAST = re.compile(
    r"(?P<text>[^\x00-\x1f\x7f\x1b\x9b\x9d]+)"  # what pyte's own text pattern would draw
    r"|(?P<crlf>\r\n)|(?P<cr>\r)|(?P<lf>\n)"
    r"|\x1b\[(?P<sgr>[0-9;]*)m"
)
_CSI = re.compile(r"\x1b\[[\x20-\x3f]*[\x40-\x7e]")  # one whole control sequence


class FastByteStream(pyte.ByteStream):
    """A ``pyte.ByteStream`` that handles text, CR, LF and SGR itself while pyte is at rest."""

    errors = 0
    """Malformed sequences pyte refused (each dropped, the rest of the input drawn)."""

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        self.feed_text(self.utf8_decoder.decode(data) if self.use_utf8
                       else "".join(map(chr, data)))

    def feed_text(self, data: str) -> None:
        screen = self.listener
        if screen is None:
            raise RuntimeError("Listener is not set")
        match, csi = _FAST.match, _CSI.match
        slow = pyte.Stream.feed
        draw, cr, lf = screen.draw, screen.carriage_return, screen.linefeed
        sgr = screen.select_graphic_rendition
        bulk = screen if isinstance(screen, TerminalScreen) else None
        run = RUN.match
        offset, length = 0, len(data)
        line_start = True
        run_end = 0  # where the run of whole plain lines found last ends
        while offset < length:
            if self._taking_plain_text:
                if line_start and bulk is not None and bulk.bulk_ready():
                    if offset >= run_end:
                        whole = run(data, offset)
                        run_end = offset if whole is None else whole.end()
                    if offset < run_end:
                        taken = bulk.place_lines(data, offset, run_end)
                        if taken > offset:
                            offset = taken
                            continue
                line_start = False
                m = match(data, offset)
                if m is not None:
                    kind = m.lastindex  # 1 text, 2 CR LF, 3 CR, 4 LF, 5 SGR
                    if kind == 1:
                        draw(m.group(1))
                    elif kind == 2:
                        cr()
                        lf()
                        line_start = True
                    elif kind == 4:
                        lf()
                        line_start = True
                    elif kind == 3:
                        cr()
                    else:
                        sgr(*(min(int(p or 0), 9999) for p in m.group(5).split(";")))
                    offset = m.end()
                    continue
            # pyte's parser: a whole control sequence, else one character at a time until
            # it is at rest again (a bad sequence then costs that sequence only)
            whole = csi(data, offset) if self._taking_plain_text else None
            end = whole.end() if whole is not None else offset + 1
            try:
                slow(self, data[offset:end])
            except Exception:  # pyte raises on some malformed sequences and resets itself:
                self.errors += 1  # only that sequence is lost, the rest is drawn
            offset = end
