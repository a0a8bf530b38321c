"""The playbooks a VM's findings call for (best first), then the others that apply."""

from __future__ import annotations

from dataclasses import dataclass

from widgets.linetable import Cell, Column, SyncTable
from widgets.repair.steps import REPAIR_MARKERS, REPAIR_TONES


@dataclass(frozen=True)
class PlaybookRow:
    """One playbook as the list shows it. ``status``: the worst finding behind it (fail,
    warn) or ``other`` (applies, but no finding names it)."""

    id: str
    title: str
    status: str
    because: str = ""


OTHER = ("·", "other")


class PlaybookList(SyncTable):
    """Rows keyed by playbook id, in the order given (best first)."""

    COLUMNS = (
        Column("mark", " "), Column("status", "Why"), Column("id", "Playbook"),
        Column("title", "What it does", max_width=40),
        Column("because", "Because", flex=True, priority=1),
    )

    def __init__(self, **kwargs: object) -> None:
        super().__init__(self.COLUMNS, **kwargs)
        self.items: dict[str, PlaybookRow] = {}

    def show(self, rows: list[PlaybookRow]) -> None:
        self.items = {r.id: r for r in rows}
        self.sync((r.id, self._cells(r)) for r in rows)

    @staticmethod
    def _cells(row: PlaybookRow) -> tuple[str | Cell, ...]:
        marker, word = REPAIR_MARKERS.get(row.status, OTHER)
        tone = REPAIR_TONES.get(row.status, "dim")
        return (Cell(marker, tone), Cell(word, tone), row.id, row.title, row.because)
