"""The system VM table at scale: filter, sort, in-place updates and the cursor at 5,000 rows.

The widget tests count what the table does (lines drawn, repaints asked for): a filter or an
update must cost work in proportion to what is on screen, never to the row count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult

from cspctl.lab.runner import Lab
from tests.tui_helpers import TIME_SCALE, lab_app, loaded, screen_text, until
from tui import inventory
from widgets.linetable import Cell, Column, SyncTable

COLUMNS = [Column("mark", " "), Column("name", "Name"), Column("type", "Type"),
           Column("state", "State"), Column("agent", "Agent"), Column("host", "Host", priority=1),
           Column("ip", "IP", priority=2)]


def rows(n: int, down: frozenset[int] = frozenset()) -> list[tuple[str, tuple[str | Cell, ...]]]:
    out: list[tuple[str, tuple[str | Cell, ...]]] = []
    for i in range(n):
        bad = i in down
        out.append((f"id-{i}", (Cell("✘" if bad else "✔", "bad" if bad else "good"),
                                f"v-{i}-VM", "CPVM" if i % 2 else "SSVM", "Running",
                                Cell("Disconnected", "bad") if bad else "Up",
                                f"kvm{i % 50:02d}", f"10.0.{i // 250}.{i % 250}")))
    return out


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SyncTable(COLUMNS, id="t")


class Counter:
    """Wraps a bound method and counts its calls."""

    def __init__(self, obj: Any, name: str) -> None:
        self.calls = 0
        original: Callable[..., Any] = getattr(obj, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        setattr(obj, name, counted)


async def filled(pilot: Any, n: int, down: frozenset[int] = frozenset()) -> SyncTable:
    table = pilot.app.query_one(SyncTable)
    table.focus()
    table.sync(rows(n, down))
    await pilot.pause()
    await pilot.pause()
    return table


async def test_filter_at_5000_rows_draws_only_the_visible_lines() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = await filled(pilot, 5000)
        assert table.row_count == 5000
        height = table.size.height
        drawn = Counter(table, "render_line")
        repaints = Counter(table, "refresh")
        table.set_filter(lambda key: key.endswith("7"))  # 500 rows
        await pilot.pause()
        assert table.row_count == 500
        assert table.row_keys[:3] == ["id-7", "id-17", "id-27"]
        # What one filter costs the widget: the lines in view, a few repaint requests.
        assert 0 < drawn.calls <= 2 * height, drawn.calls
        assert repaints.calls <= 4, repaints.calls
        assert "v-7-VM" in screen_text(app) and "v-8-VM" not in screen_text(app)
        drawn.calls = repaints.calls = 0
        table.set_filter(None)
        await pilot.pause()
        assert table.row_count == 5000
        assert drawn.calls <= 2 * height and repaints.calls <= 4


async def test_the_cost_of_a_filter_does_not_grow_with_the_rows() -> None:
    costs = []
    for n in (500, 5000):
        app = TableApp()
        async with app.run_test(size=(100, 30)) as pilot:
            table = await filled(pilot, n)
            drawn = Counter(table, "_row_strip")
            table.set_filter(lambda key: key.endswith("3"))
            await pilot.pause()
            costs.append(drawn.calls)
    assert costs[0] == costs[1] > 0, costs


async def test_an_update_repaints_only_the_changed_row() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        # Row 1 is down from the start: the columns are already as wide as an update needs
        # (a wider cell would widen its column and so repaint every line, rightly).
        table = await filled(pilot, 5000, down=frozenset({1}))
        table.select_key("id-3")
        await pilot.pause()
        built = Counter(table, "_row_strip")
        repaints = Counter(table, "refresh")
        added, updated, removed = table.sync(rows(5000, down=frozenset({1, 5})))
        await pilot.pause()
        assert (added, updated, removed) == (0, 2, 0)
        assert built.calls == 1 and repaints.calls == 1  # row 5's line, nothing else
        assert table.get_cell("id-5", "agent") == "Disconnected"
        assert table.get_cell_tone("id-5", "agent") == "bad"
        assert table.selected_key == "id-3"
        line = next(line for line in screen_text(app).splitlines() if "v-5-VM" in line)
        assert "✘" in line and "Disconnected" in line
        # A row that is not on screen changes: nothing is drawn at all.
        built.calls = repaints.calls = 0
        table.sync(rows(5000, down=frozenset({1, 5, 4000})))
        await pilot.pause()
        assert built.calls == 0 and repaints.calls == 0


async def test_cursor_follows_its_row_through_filter_sort_and_refresh() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = await filled(pilot, 5000)
        table.select_key("id-4321")
        await pilot.pause()
        assert table.selected_key == "id-4321" and "v-4321-VM" in screen_text(app)
        table.set_filter(lambda key: "43" in key)
        await pilot.pause()
        assert table.selected_key == "id-4321"
        table.sort_by("name", reverse=True)
        await pilot.pause()
        names = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert names == sorted(names, key=str.lower, reverse=True)
        assert table.selected_key == "id-4321"
        table.sync(rows(5000, down=frozenset({4321})))  # its agent goes down meanwhile
        await pilot.pause()
        assert table.selected_key == "id-4321"
        table.set_filter(None)
        await pilot.pause()
        assert table.row_count == 5000 and table.selected_key == "id-4321"
        assert "v-4321-VM" in screen_text(app)  # scrolled into view
        await pilot.press("down")
        assert table.selected_key != "id-4321"


async def test_cells_are_text_never_markup_nor_control_sequences() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = pilot.app.query_one(SyncTable)
        table.sync([("k", ("✔", "[bold red]x[/]", "CPVM", "Running\x1b[2J", "Up",
                           "[link=http://evil]h[/link]", "10.0.0.1"))])
        await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]x[/]" in text
        assert "Running\\x1b[2J" in text
        assert table.get_cell("k", "state") == "Running\\x1b[2J"


async def test_large_lab_filter_sort_and_select_at_5000_rows() -> None:
    async with Lab("large", time_scale=TIME_SCALE) as lab:
        app = lab_app(lab)
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            table = app.overview.table
            await pilot.press("z", "home")  # "all zones"
            await until(pilot, lambda: table.row_count == 5000, what="all zones")
            app.overview.table.focus()
            vms = app.snapshot.vms
            target = next(vm for vm in vms if not vm.healthy)
            drawn = Counter(table, "render_line")
            await pilot.press("slash", *"disconnected")
            expected = {vm.id for vm in vms if inventory.matches(vm, "disconnected")}
            assert set(table.row_keys) == expected and 0 < len(expected) < 5000
            # 12 keystrokes, each a new filter over 5,000 rows: lines in view only.
            assert drawn.calls <= 12 * 2 * table.size.height, drawn.calls
            await pilot.press("enter")
            assert app.focused is table
            table.select_key(target.id)
            assert app.overview.selected_vm() == target
            await pilot.press("o", "o")  # sort by mark, then by name
            assert table.sort_column == "name"
            names = [table.get_row_at(i)[1] for i in range(table.row_count)]
            assert names == sorted(names, key=str.lower)
            assert table.selected_key == target.id
            await until(pilot, lambda: target.name in screen_text(app), what="selected row")
            await pilot.press("escape")  # filter cleared: every row, cursor on the same VM
            assert table.row_count == 5000 and table.selected_key == target.id
            await until(pilot, lambda: target.name in screen_text(app), what="the VM shown")
            detail = screen_text(app).splitlines()[-6:]
            assert any(target.name in line and f"id {target.id}"[:12] in line
                       for line in detail), detail
