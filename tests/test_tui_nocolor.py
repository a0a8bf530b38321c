"""Under NO_COLOR, failures are the most visible thing on screen (issue 9, finding 14).

The console runs with ``NO_COLOR`` against the seed lab (both system VMs unhealthy, the CPVM's
diagnosis fails). The rendered segments of the ``✘`` marker, the ``Disconnected`` cell and the
``FAIL`` step go through the app's own output filters (what the terminal gets) and must be
bold reverse video with a high contrast, not a dim grey.
"""

from __future__ import annotations

import pytest
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style

from cspctl.lab.runner import Lab
from tests.tui_helpers import diagnose_cpvm, lab_app, loaded


def _luminance(color: RichColor) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = color.get_truecolor()
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(style: Style) -> float:
    """WCAG contrast ratio of a segment's text against its background, as drawn."""
    fg, bg = style.color, style.bgcolor
    assert fg is not None and bg is not None, style
    if style.reverse:
        fg, bg = bg, fg
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def drawn(app: object, needle: str, widget: object, row: str) -> Style:
    """The style of the segment holding ``needle`` on the line of ``widget`` that shows
    ``row``, after the app's output filters (NO_COLOR's monochrome among them)."""
    region = widget.content_region  # type: ignore[attr-defined]
    strips = app.screen._compositor.render_strips()  # type: ignore[attr-defined]
    background = app.screen.styles.background  # type: ignore[attr-defined]
    for y in range(region.y, region.bottom):
        if row not in strips[y].text[region.x:region.right]:
            continue
        segments: list[Segment] = list(strips[y])
        for line_filter in app._filters:  # type: ignore[attr-defined]
            segments = line_filter.apply(segments, background)
        x = 0
        for seg in segments:
            if needle in seg.text and region.x <= x < region.right:
                assert seg.style is not None
                return seg.style
            x += seg.cell_length
    raise AssertionError(f"{needle!r} not drawn on a {row!r} line of {widget}")


async def test_failures_stand_out_under_no_color(lab: Lab, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = lab_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.no_color
        await loaded(pilot)
        table = app.overview.table
        for needle in ("✘", "Disconnected"):
            style = drawn(app, needle, table, "v-2-VM")
            assert style.bold and style.reverse, (needle, style)
            assert contrast(style) >= 7, (needle, style, contrast(style))
        # an ordinary cell stays ordinary: the failure is what stands out
        normal = drawn(app, "CPVM", table, "v-2-VM")
        assert not normal.reverse

        pane = await diagnose_cpvm(pilot)
        # the cursor starts on the first failure: put it on a step that passed
        steps = pane.steps
        ok_key = next(k for k, (_, f) in pane.findings.items() if f.status.value == "ok")
        steps.select_key(ok_key)
        await pilot.pause(0.2)
        for needle in ("✘", "FAIL"):
            style = drawn(app, needle, pane.steps, "FAIL")
            assert style.bold and style.reverse, (needle, style)
            assert contrast(style) >= 7, (needle, style, contrast(style))
        ok = drawn(app, "OK", pane.steps, "OK")
        assert not ok.reverse
