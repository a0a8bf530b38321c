"""A repair question as the confirmation dialog shows it: what runs, where, what it breaks.

Everything in a question came from the cloud or the VM (names, previews, blast radius): it is
made safe for the terminal and appended as plain text, never parsed as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from cspctl.text import safe_block, safe_line


def question_title(q: Any) -> str:
    """One line: the step and the VM it changes."""
    if q.kind == "type-name":
        return f"DESTROY {safe_line(q.vm)}? {safe_line(q.title)}"
    if q.kind == "choose":
        return f"{safe_line(q.title)} — on {safe_line(q.vm)}: pick what to delete"
    return f"{safe_line(q.title)} — on {safe_line(q.vm)}?"


def question_body(q: Any) -> Text:
    """The exact preview, the blast radius, the warning, how to undo it."""
    out = Text()
    out.append(f"playbook {safe_line(q.playbook)}, step {safe_line(q.step_id)}, "
               f"VM {safe_line(q.vm)}\n", style="dim")
    out.append("This will run exactly:\n", style="bold")
    out.append(safe_block(q.preview) + "\n")
    if q.blast_radius:
        out.append("\nBlast radius:\n", style="bold")
        for line in q.blast_radius:
            out.append(f" • {safe_line(line)}\n")
    if q.warning:
        out.append("\nWarning: ", style="bold reverse")
        out.append(safe_block(q.warning) + "\n")
    out.append("\nUndo: ", style="bold")
    out.append((safe_line(q.undo) if q.undo else "not possible") + "\n")
    if q.kind == "confirm" and q.optional:
        out.append("\nThis is an option of the step; the default is no.\n", style="italic")
    out.rstrip()
    return out
