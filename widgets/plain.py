"""Untrusted text for Textual: always a ``Text``/``Content`` (never markup), never a raw control.

Textual parses plain ``str`` as markup in many places (DataTable cells, OptionList prompts,
tab titles, border titles, notifications, command palette entries). A name from a cloud such
as ``[@click=app.quit]x`` would become a live action there, and ``[link=…]`` can crash the
render. Everything that comes from a cloud, a VM or a file is turned into text here first,
with its control characters made visible by :mod:`cspctl.text`.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.markup import escape

from cspctl.text import safe_block, safe_line


def line(value: object, style: str | Style = "") -> Text:
    """One line of untrusted text as a ``Text`` (no markup, no control character)."""
    return Text(safe_line("" if value is None else value), style=style, no_wrap=False)


def block(value: object, style: str | Style = "") -> Text:
    """Multi-line untrusted text (newlines and tabs kept) as a ``Text``."""
    return Text(safe_block("" if value is None else value), style=style)


def content(value: object) -> Content:
    """One line of untrusted text as a Textual ``Content`` (tab titles and the like)."""
    return Content(safe_line("" if value is None else value))


def markup_literal(value: object) -> str:
    """For the few APIs that take only markup strings: the value escaped, shown literally."""
    return escape(safe_line("" if value is None else value))

