"""Shared bench helpers: a series of measurements (min and median) and the ``ROW`` lines
``bench/run`` collects into the issue's table."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field


@dataclass
class Series:
    """Repeated measurements of one variant (seconds, or any unit given to ``text``)."""

    values: list[float] = field(default_factory=list)
    unit: str = "s"

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def text(self) -> str:
        return f"min {fmt(self.min, self.unit)}, median {fmt(self.median, self.unit)} " \
               f"(n={len(self.values)})"

    def __str__(self) -> str:
        return self.text()


def fmt(value: float, unit: str = "s") -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.2f} {unit}"


def row(figure: str, ours: Series, peer: Series, *, peer_label: str, key: str = "",
        goal_ratio: float | None = None, goal_abs: float | None = None,
        higher_is_better: bool = False, goal_text: str = "", note: str = "",
        also: bool = True) -> dict[str, object]:
    """Print (and return) one table row: our median vs the peer's, the ratio, the goal.
    ``key`` names the issue's row it measures (see ``bench/run``)."""
    ratio = ours.median / peer.median if peer.median else float("inf")
    met = also  # goals the ratio does not express (e.g. a frame delay), checked by the caller
    goals = []
    if goal_ratio is not None:
        goals.append(f"{'≥' if higher_is_better else '≤'} {goal_ratio:g}x {peer_label}")
        met &= ratio >= goal_ratio if higher_is_better else ratio <= goal_ratio
    if goal_abs is not None:
        goals.append(f"{'≥' if higher_is_better else '<'} {fmt(goal_abs, ours.unit)}")
        met &= ours.median >= goal_abs if higher_is_better else ours.median < goal_abs
    data = {"key": key, "figure": figure, "ours": ours.text(),
            "peer": f"{peer_label}: {peer.text()}",
            "ratio": f"{ratio:.2f}x", "goal": goal_text or "; ".join(goals), "met": met,
            "note": note}
    print("ROW " + json.dumps(data, ensure_ascii=False), flush=True)
    return data
