"""The line table's row model on its own: cells by column key, in-place changes, filter and
sort as index operations (no widget involved)."""

from __future__ import annotations

from widgets.linetable import Cell, Column
from widgets.linetable.model import RowModel

COLUMNS = [Column("name", "Name"), Column("state", "State"), Column("agent", "Agent")]


def test_cells_by_column_key_land_in_their_columns_whatever_the_order() -> None:
    model = RowModel(COLUMNS)
    result = model.sync([
        ("a", {"agent": Cell("Disconnected", "bad"), "name": "v-1-VM", "state": "Running"}),
        ("b", {"name": "s-2-VM"}),  # a column left out is an empty cell
        ("c", ("v-3-VM", "Stopped", "Up")),  # in column order still works
    ])
    assert (result.added, result.removed, result.reorder) == (3, 0, True)
    assert model.cell("a", "agent") == ("Disconnected", "bad")
    assert model.cell("a", "name") == ("v-1-VM", "")
    assert model.cell("b", "state") == ("", "")
    assert model.cell("c", "state") == ("Stopped", "")
    assert model.natural(COLUMNS[2]) == len("Disconnected")


def test_a_changed_row_is_repainted_alone_and_a_same_row_not_at_all() -> None:
    model = RowModel(COLUMNS)
    model.sync([("a", {"name": "v-1-VM", "state": "Running"}), ("b", {"name": "s-2-VM"})])
    version = model.rows["a"].version
    result = model.sync([("a", {"name": "v-1-VM", "state": "Stopped"}),
                         ("b", {"name": "s-2-VM"})])
    assert (result.updated, result.changed, result.reorder) == (1, {"a"}, False)
    assert model.rows["a"].version > version
    assert model.put("b", {"name": "s-2-VM"}) == "same"
    assert model.put("b", ("s-2-VM", "Running", "")) == "changed"


def test_filter_and_sort_compute_the_keys_to_show() -> None:
    model = RowModel(COLUMNS)
    model.sync([(k, {"name": n}) for k, n in (("1", "b"), ("2", "a"), ("3", "c"))])
    assert model.view() == ["1", "2", "3"]  # the caller's order
    model.sort_column, model.order = "name", None
    assert model.view() == ["2", "1", "3"]
    model.filter = {"1", "3"}
    assert model.view() == ["1", "3"]
    assert model.put("4", {"name": "d"}) == "reorder"  # sorted: its place must be found
