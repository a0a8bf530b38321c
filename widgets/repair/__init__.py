"""The repair wizard's widgets: the playbook list, a playbook's step list, question text."""

from widgets.repair.playbooks import PlaybookList, PlaybookRow
from widgets.repair.question import question_body, question_title
from widgets.repair.steps import REPAIR_MARKERS, RepairStepList

__all__ = ["REPAIR_MARKERS", "PlaybookList", "PlaybookRow", "RepairStepList",
           "question_body", "question_title"]
