"""The command palette: every action of the console, searchable (ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from cspctl.text import safe_line

if TYPE_CHECKING:
    from textual.fuzzy import Matcher

    from tui.app import CspctlApp


class ConsoleCommands(Provider):
    """Open a shell on X, diagnose VM or zone Y, switch profile, refresh, and the rest."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """(title, help, callback); titles and help hold names from the cloud: they are
        made safe here and shown as text (the palette parses plain strings as markup)."""
        for title, help_text, callback in self._raw_commands():
            yield safe_line(title), safe_line(help_text), callback

    def _raw_commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        app: CspctlApp = self.app  # type: ignore[assignment]
        yield "Refresh", "reload zones and system VMs now (ctrl+r)", app.action_refresh
        yield "Filter system VMs", "filter by name, state or IP (/)", app.action_filter
        yield "Help: key bindings", "every binding and its id (?)", app.action_help
        yield ("Repair VM…", "repair wizard for the selected VM or diagnostics step (r)",
               app.action_repair)
        yield ("Session log", "the journal of this session: timeline, notes, export, copy (l)",
               app.action_log)
        snapshot = app.snapshot
        if snapshot is not None:
            for vm in snapshot.vms:
                name = vm.name or vm.id or "?"
                state = f"{vm.short_type}, {vm.state}, agent {vm.agentstate or '-'}"
                yield (f"Open shell on {name}", state, partial(app.open_shell, vm))
                yield (f"Diagnose {name}", state, partial(app.open_diagnosis, [vm], name))
                yield (f"Repair {name}…", f"{state}: suggested playbooks",
                       partial(app.open_repair, vm))
            for zone in snapshot.zones:
                vms = snapshot.vms_in(zone.id)
                label = f"zone {zone.name}"
                yield (f"Diagnose zone {zone.name}", f"all {len(vms)} system VMs",
                       partial(app.open_diagnosis, vms, label))
        for name in app.profile_names():
            yield (f"Switch profile: {name}", "reconnect with this profile",
                   partial(app.switch_profile, name))

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=escape(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, _highlight(matcher, title), callback, text=title,
                          help=escape(help_text))


def _highlight(matcher: Matcher, title: str) -> Content:
    """The title as text with the matched characters styled (``Matcher.highlight`` would
    parse the title as markup)."""
    content = Content(title)
    _, offsets = matcher.fuzzy_search.match(matcher.query, title)
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
