"""The main pane: zones (with unhealthy counts), the zone's system VMs, the selected VM."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cspctl.cloudstack.models import SystemVm
from cspctl.text import safe_line
from tui import inventory
from tui.inventory import Snapshot
from widgets import plain
from widgets.linetable import Cell, Column, SyncTable

ALL_ZONES = "*"
# the toned cells, found by column key (inventory.COLUMNS) rather than by position
_MARK, _STATE, _AGENT = ([key for key, _, _ in inventory.COLUMNS].index(k)
                         for k in ("mark", "state", "agent"))


def _prompt_text(prompt: object) -> str:
    """An option's prompt as plain text (whatever visual it was given as)."""
    return str(getattr(prompt, "plain", prompt))


class FilterBox(Input):
    """The one-line filter. Its scrollable width follows the text, as any Input's does, but
    here without a layout pass of the whole screen per keystroke (the box's own size never
    changes: it is one line, as wide as the pane)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)


def _loading(loading: tuple[int, int]) -> str:
    received, expected = loading
    return f"loading {received:,}/{expected:,}"


class Overview(Vertical):
    """Zones on the left, system VMs of the selected zone, detail of the selected VM."""

    BINDINGS = [
        Binding("escape", "clear_filter", "Clear filter", show=False, id="overview.clear_filter"),
        Binding("z", "focus_zones", "Zones", show=False, id="overview.zones"),
    ]

    def __init__(self, *, scrub: Callable[[str], str] = str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.scrub = scrub
        self.snapshot: Snapshot | None = None
        self.stale: str | None = None
        """Why the rows shown are old (None: they are the latest answer)."""
        self.zone_id: str | None = None
        self.query_text = ""
        self._shown: dict[str, SystemVm] = {}  # row key -> VM, the selected zone's
        self._haystacks: dict[str, str] = {}  # row key -> what the filter searches
        self._unhealthy: set[str] = set()
        self.partial: tuple[int, int] | None = None
        """(received, expected) while the first listing's pages arrive; None when whole."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="overview-body"):
            yield OptionList(id="zones")
            with Vertical(id="vm-side"):
                yield FilterBox(placeholder="filter: name, state, IP — Esc clears",
                                id="filter")
                yield SyncTable([Column(k, label, priority=prio)
                                 for k, label, prio in inventory.COLUMNS], id="vms")
                yield Static("loading…", id="detail", markup=False)

    def on_mount(self) -> None:
        self.query_one("#zones", OptionList).border_title = "Zones"
        self.query_one("#vms", SyncTable).border_title = "System VMs"
        self.query_one("#filter", Input).display = False

    # -- data -----------------------------------------------------------------------------
    @property
    def table(self) -> SyncTable:
        return self.query_one("#vms", SyncTable)

    def show(self, snapshot: Snapshot, *, loading: tuple[int, int] | None = None) -> None:
        """Render a new snapshot: zone counts and the table updated in place. ``loading``:
        (received, expected) when the snapshot holds only the first pages of the listing
        (counts then say "loading n/N")."""
        self.snapshot = snapshot
        self.partial = loading
        zones = self.query_one("#zones", OptionList)
        # the counts in the list are of the rows in so far: the list says how many of all
        zones.border_title = "Zones" if loading is None else "Zones …"
        zones.border_subtitle = "" if loading is None else f"{loading[0]:,}/{loading[1]:,}"
        wanted = [(ALL_ZONES, inventory.zone_label(None, *snapshot.zone_health(None)))]
        for zone in snapshot.zones:
            bad, total = snapshot.zone_health(zone.id)
            wanted.append((zone.id or "?", inventory.zone_label(zone, bad, total)))
        current = [(opt.id, _prompt_text(opt.prompt)) for opt in zones.options]
        if current != wanted:
            highlighted = zones.highlighted
            zones.clear_options()
            # a zone name is data: a Text prompt is never parsed as markup
            zones.add_options([Option(plain.line(label), id=key) for key, label in wanted])
            if self.zone_id is None and len(snapshot.zones) >= 1:
                self.zone_id = snapshot.zones[0].id
            ids = [key for key, _ in wanted]
            key = self.zone_id or ALL_ZONES
            zones.highlighted = ids.index(key) if key in ids else (highlighted or 0)
        self._sync_table()

    def _sync_table(self) -> None:
        """The selected zone's VMs into the table's row model (changed rows only)."""
        if self.snapshot is None:
            return
        vms = inventory.sort_vms(self.snapshot.vms_in(self.zone_id))
        self._shown = shown = {self._key(vm): vm for vm in vms}
        self._unhealthy = {key for key, vm in shown.items() if not vm.healthy}
        self._haystacks = {}
        table = self.table
        first = table.row_count == 0
        table.set_filter(self._matcher(), recompute=False)
        table.sync((key, self._cells(vm)) for key, vm in shown.items())
        if first and table.row_count:
            table.move_cursor(row=0)
        self._after_change()

    def _apply_filter(self) -> None:
        """A new query: the table recomputes which rows it shows (no row is rebuilt)."""
        self.table.set_filter(self._matcher())
        self._after_change()

    def _matcher(self) -> set[str] | None:
        """The keys of the rows the query matches (None: no query, every row)."""
        words = self.query_text.lower().split()
        if not words:
            return None
        hay = self._haystacks
        if len(hay) != len(self._shown):  # once per data change, on the first query
            hay.update((key, inventory.haystack(vm)) for key, vm in self._shown.items()
                       if key not in hay)
        if len(words) == 1:
            word = words[0]
            return {key for key, text in hay.items() if word in text}
        return {key for key, text in hay.items() if all(w in text for w in words)}

    def _after_change(self) -> None:
        table = self.table
        count = table.row_count
        if self.query_text:
            bad = len(self._unhealthy.intersection(table.row_keys))
        else:
            bad = len(self._unhealthy)
        title = f"System VMs ({count}"
        title += f", {inventory.UNHEALTHY}{bad} unhealthy)" if bad else ")"
        if self.query_text:
            title += f" filter: {plain.markup_literal(self.query_text)}"
        if self.partial is not None:
            title += f" — {_loading(self.partial)}"
        if self.stale:
            title = f"{inventory.UNHEALTHY} STALE {title} — {self.stale}"
        table.border_title = title  # ``stale`` holds only our own words (no server text)
        table.set_class(self.stale is not None, "stale")
        self._show_detail()

    @staticmethod
    def _key(vm: SystemVm) -> str:
        return vm.id or vm.name or "?"

    @staticmethod
    def _cells(vm: SystemVm) -> tuple[str | Cell, ...]:
        """Plain text cells; the marker, state and agent carry a tone when unhealthy."""
        cells: list[str | Cell] = list(inventory.vm_cells(vm))
        tone = inventory.health(vm).tone
        cells[_MARK] = Cell(str(cells[_MARK]), tone)
        if not vm.healthy:
            if vm.agentstate != "Up":
                cells[_AGENT] = Cell(str(cells[_AGENT]), tone)
            if vm.state != "Running":
                cells[_STATE] = Cell(str(cells[_STATE]), tone)
        return tuple(cells)

    def show_error(self, message: str) -> None:
        """No data to show: say why, inline."""
        self.query_one("#detail", Static).update(
            plain.line(self.scrub(f"{inventory.UNHEALTHY} no data: {message}")))

    def show_waiting(self, text: str) -> None:
        """No data yet: how long we have been waiting, and which attempt ("loading… 12 s")."""
        if self.snapshot is None:
            self.query_one("#detail", Static).update(plain.line(self.scrub(text)))

    def clear(self, text: str = "loading…") -> None:
        """Forget every row (another cloud now): nothing old stays on screen or selectable."""
        self.snapshot = None
        self.stale = None
        self.partial = None
        self.zone_id = None
        self.query_one("#zones", OptionList).clear_options()
        self._shown, self._unhealthy, self._haystacks = {}, set(), {}
        self.table.sync([])
        self.table.border_title = "System VMs"
        zones = self.query_one("#zones", OptionList)
        zones.border_title, zones.border_subtitle = "Zones", ""
        self.query_one("#detail", Static).update(plain.line(self.scrub(text)))

    def set_stale(self, why: str | None) -> None:
        """Mark the rows as old (``why``: our own words, e.g. "rows from 10:00:00, 42 s ago";
        never server text: it lands in a border title) or current again (None)."""
        if why == self.stale:
            return
        self.stale = why
        if self.snapshot is not None:
            self._after_change()  # title and detail; the rows themselves did not change

    def selected_vm(self) -> SystemVm | None:
        if self.snapshot is None:
            return None
        key = self.table.selected_key
        return None if key is None else self._shown.get(key)

    def selected_zone(self) -> str | None:
        return self.zone_id

    def _show_detail(self) -> None:
        vm = self.selected_vm()
        detail = self.query_one("#detail", Static)
        if vm is None:
            detail.update("no system VM selected" if self.snapshot else "loading…")
        else:
            lines = [safe_line(line) for line in inventory.detail_lines(vm)]
            if self.stale:
                lines = [f"{inventory.UNHEALTHY} STALE: {self.stale}, the API is not answering; "
                         "d, s and D refuse to act until a refresh succeeds (ctrl+r)", *lines]
            # its height is fixed (4 lines): new text needs no layout pass of the screen
            detail.update(plain.block(self.scrub("\n".join(lines))), layout=False)

    # -- events ---------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#zones")
    def _zone_changed(self, event: OptionList.OptionHighlighted) -> None:
        key = event.option.id
        zone = None if key == ALL_ZONES else key
        if zone != self.zone_id:
            self.zone_id = zone
            self._sync_table()

    @on(SyncTable.RowHighlighted, "#vms")
    def _row_changed(self) -> None:
        self._show_detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        self._apply_filter()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()
        if self.table.row_count:
            self.table.move_cursor(row=0)
        self._show_detail()

    def action_filter(self) -> None:
        """Show the filter box and focus it."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        """Clear and hide the filter."""
        box = self.query_one("#filter", Input)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.query_text = ""
            self._apply_filter()
            self.table.focus()

    def action_focus_zones(self) -> None:
        self.query_one("#zones", OptionList).focus()
