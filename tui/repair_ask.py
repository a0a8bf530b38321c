"""The repair engine's questions, asked in the console's dialogs.

The engine decides what to ask and journals the question and the answer; this module only
picks the dialog for the question's kind (confirm, type the VM's name, choose) and turns what
the operator did into an :class:`~cspctl.repair.Answer`. Dismissing a dialog is a "no".
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

from cspctl.repair import Answer
from cspctl.text import safe_line
from widgets.confirm import ChooseDialog, ConfirmDialog, TypeNameDialog
from widgets.repair import question_body, question_title

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from cspctl.repair import Question

ResultT = TypeVar("ResultT")


async def ask_in_dialog(app: App[object], q: Question) -> Answer:
    """Ask ``q`` in the dialog its kind calls for; the operator's answer."""
    title, body = question_title(q), question_body(q)
    if q.kind == "type-name":
        typed = await _answer(app, TypeNameDialog(
            title, body, prompt=f"Type the VM's name ({safe_line(q.expected or '')}) "
            "to confirm:", yes="Destroy"))
        return Answer(text=typed)
    if q.kind == "choose":
        picked = await _answer(app, ChooseDialog(title, body, q.choices))
        return Answer(picked=tuple(picked or ()))
    yes = await _answer(app, ConfirmDialog(title, body, yes="Run it", no="Don't"))
    return Answer(yes=bool(yes))


async def _answer(app: App[object], dialog: Screen[ResultT]) -> ResultT | None:
    """Push ``dialog`` and wait for its result (None: dismissed without one)."""
    done: asyncio.Future[ResultT | None] = asyncio.get_running_loop().create_future()

    def answered(value: ResultT | None) -> None:
        if not done.done():
            done.set_result(value)

    app.push_screen(dialog, callback=answered)
    return await done
