"""The one place the console talks to the engine (screens hold no protocol code).

``Backend`` owns a :class:`cspctl.session.Session` (and, for ``--lab``, the in-process
:class:`cspctl.lab.runner.Lab`): it fetches snapshots, opens shells, hands a shell to the real
terminal, runs diagnostics and repairs, and reads and exports the session log. Panes call
these methods only; the import contracts in ``pyproject.toml`` keep it so (only this module
imports ``cspctl.session``, and it is the console's one ``--lab`` seam).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cspctl.cloudstack.models import SystemVm, Zone
from cspctl.config import Profile
from cspctl.session import Session
from tui.inventory import Snapshot
from tui.settings import UiSettings

if TYPE_CHECKING:
    from cspctl.diagnostics import DiagEvent, Diagnosis, Finding
    from cspctl.lab.runner import Lab
    from cspctl.repair import Ask, Outcome, Playbook, RepairEvent, StepState
    from cspctl.sessionlog.export import ExportScrubber
    from cspctl.ssh import HostKeyAsk, Route, ShellSession

JournalRecord = dict[str, object]
"""One journal event as recorded (JSON: ``event``, ``ts`` and the event's own fields)."""

OnDiagEvent = Callable[["DiagEvent"], Awaitable[None] | None]
"""A diagnosis listener: called with each progress event (awaited when it returns one)."""

OnRepairEvent = Callable[["RepairEvent"], object]
"""A repair listener: called with each event of the run, in order."""


@dataclass(frozen=True)
class EventLine:
    """A journal event as the timeline shows it: time (UTC), kind, one line of text."""

    time: str
    kind: str
    text: str


PartialListener = Callable[[Snapshot, int, int], None]
"""``on_partial(snapshot so far, VMs received, VMs expected)`` while a listing arrives."""


class Backend:
    """A session (plus an optional lab) as the console needs it."""

    def __init__(self, session: Session, *, lab: Lab | None = None,
                 settings: UiSettings | None = None, owns_lab: bool = False) -> None:
        self.session = session
        self.lab = lab
        self.owns_lab = owns_lab
        self.settings = settings or UiSettings()
        self._log_listeners: list[Callable[[JournalRecord], None]] = []
        self._last_vms: tuple[SystemVm, ...] | None = None
        self._check_titles: dict[str, str] | None = None
        session.journal.subscribe(self._on_record)

    # -- opening --------------------------------------------------------------------------
    @classmethod
    async def open_lab(cls, scenario: str = "seed", *, read_only: bool | None = None,
                       settings: UiSettings | None = None) -> Backend:
        """Start the embedded lab in this event loop and open a session on it."""
        from cspctl.lab.runner import Lab

        settings = settings or UiSettings()
        lab = Lab(scenario, time_scale=settings.lab_time_scale)
        await lab.start()
        try:
            session = Session.open(profile=lab.profile(), read_only=read_only, mode="console")
        except BaseException:
            await lab.stop()
            raise
        return cls(session, lab=lab, settings=settings, owns_lab=True)

    @staticmethod
    def check_lab_scenario(scenario: str) -> None:
        """Raise (a one-line ``CspctlError``) when ``scenario`` is no lab scenario: called
        before the console takes the screen."""
        from cspctl.lab.scenarios import get_scenario

        get_scenario(scenario)

    @classmethod
    def for_lab(cls, lab: Lab, *, read_only: bool | None = None,
                settings: UiSettings | None = None) -> Backend:
        """A session on a lab someone else started (tests)."""
        return cls(Session.open(profile=lab.profile(), read_only=read_only, mode="console"),
                   lab=lab, settings=settings)

    @classmethod
    async def open_profile(cls, name: str | None, *, read_only: bool | None = None,
                           settings: UiSettings | None = None) -> Backend:
        """A session on a configured profile (None: the default one)."""
        return cls(Session.open(name, read_only=read_only, mode="console"), settings=settings)

    async def close(self) -> None:
        """Close the session, then the lab if we started it."""
        with contextlib.suppress(Exception):
            await self.session.aclose()
        if self.lab is not None and self.owns_lab:
            with contextlib.suppress(Exception):
                await self.lab.stop()

    # -- facts ----------------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        return self.session.profile

    @property
    def read_only(self) -> bool:
        return self.session.read_only

    @property
    def journal_path(self) -> str:
        return str(self.session.journal.path)

    def refresh_interval(self) -> float:
        if self.settings.refresh_interval is not None:
            return self.settings.refresh_interval
        return float(self.profile.refresh_interval or 0.0)

    async def snapshot(self, *, background: bool = False,
                       on_partial: PartialListener | None = None) -> Snapshot:
        """Zones, system VMs (agent state joined) and the server version, fetched together.

        ``background`` (the periodic refresh): successful calls are not journalled; a
        ``refresh`` event says what changed, when anything did ("v-2-VM agent Disconnected
        → Up"). A failed call is journalled either way.

        ``on_partial(snapshot, received, expected)``: called while a large listing's pages
        arrive (once the zones are in), with a snapshot of the VMs received so far, so a
        first screen need not wait for the last page. The snapshot returned is complete.
        """
        from cspctl.sessionlog.changes import background as quiet
        from cspctl.sessionlog.changes import inventory_changes

        api = self.session.api  # version() is cached by the client: asked once per session
        zones_in: list[Zone] | None = None
        rows_in: tuple[list[SystemVm], int | None] | None = None

        def emit() -> None:
            if on_partial is None or zones_in is None or rows_in is None:
                return
            rows, expected = rows_in
            if expected is not None and len(rows) < expected:
                taken = self.settings.seams.clock()
                on_partial(Snapshot(tuple(zones_in), tuple(rows), None, taken),
                           len(rows), expected)

        async def zones() -> list[Zone]:
            nonlocal zones_in
            zones_in = await api.list_zones()
            emit()
            return zones_in

        def partial(rows: list[SystemVm], expected: int | None) -> None:
            nonlocal rows_in
            rows_in = (rows, expected)
            emit()

        with quiet() if background else contextlib.nullcontext():
            zone_list, vms, version = await asyncio.gather(
                zones(), api.list_system_vms(on_rows=partial if on_partial else None),
                api.version()
            )
        if self._last_vms is not None:
            changes = inventory_changes(self._last_vms, vms)
            if changes:
                self.record("refresh", changes=changes, background=background)
        self._last_vms = tuple(vms)
        return Snapshot(tuple(zone_list), tuple(vms), version, self.settings.seams.clock())

    def attempt(self) -> int:
        """The attempt number of the API call still waiting for an answer (0: none)."""
        return self.session.api.attempt_in_flight

    # -- SSH ------------------------------------------------------------------------------
    def set_host_key_ask(self, ask: HostKeyAsk) -> None:
        """Route host-key questions (policy "ask") to the UI."""
        self.session.host_key_ask = ask
        if self.session.has_ssh:
            self.session.ssh.ask = ask

    async def route(self, vm: SystemVm) -> Route:
        from cspctl.ssh import resolve_route

        return await resolve_route(vm, self.session.api, self.session.profile)

    def check_shell(self, vm: SystemVm) -> None:
        """The engine's word on a shell on ``vm``: raises ``ReadOnlyRefused`` (journaled) in
        read-only mode, before anything connects."""
        self.session.ssh.check_shell(f"an interactive shell on {vm.name or vm.id or '?'}")

    async def open_shell(self, route: Route, cols: int, rows: int) -> ShellSession:
        return await self.session.ssh.open_shell(
            route, term=self.settings.shell_term, cols=cols, rows=rows
        )

    async def real_shell(self, vm: SystemVm, route: Route | None = None, *,
                         terminal: tuple[int, int] | None = None) -> int:
        """A shell on ``vm`` in the operator's own terminal; its exit status. The caller has
        given the terminal up (the console suspends first). ``route``: already resolved (else
        resolved here); ``terminal``: (input fd, output fd), default stdin and stdout.

        Read-only mode refuses (``ReadOnlyRefused``, journalled) before anything connects."""
        from cspctl.ssh.handoff import hand_off

        self.check_shell(vm)
        if route is None:
            route = await self.route(vm)
        self.record("ui.real_terminal", vm=vm.name, route=route.summary())
        fd_in, fd_out = terminal if terminal is not None else (None, None)
        return await hand_off(self.session.ssh, route, vm.name or vm.id or "?",
                              fd_in=fd_in, fd_out=fd_out)

    # -- diagnostics ----------------------------------------------------------------------
    async def diagnose(self, vms: Sequence[SystemVm], on_event: OnDiagEvent) -> Diagnosis:
        """Diagnose ``vms`` with the CLI's engine path and the configured concurrency;
        ``on_event`` sees every step start and finish (journalled by the engine)."""
        from cspctl.diagnostics import DiagnosisRunner

        runner = DiagnosisRunner.for_session(
            self.session, concurrency=self.settings.diagnose_concurrency, on_event=on_event)
        return await runner.run(vms)

    def check_title(self, check_id: str) -> str:
        """The diagnostics check's title (its id when unknown)."""
        if self._check_titles is None:
            from cspctl.diagnostics import CATALOGUE

            self._check_titles = {c.id: c.title for c in CATALOGUE}
        return self._check_titles.get(check_id, check_id)

    # -- repair -------------------------------------------------------------------------
    def repair_playbooks(self, vm: SystemVm) -> list[Playbook]:
        """Every playbook of the catalogue that applies to this kind of VM."""
        from cspctl.repair import CATALOGUE

        return [p for p in CATALOGUE if vm.systemvmtype in p.applies_to]

    async def suggest_repairs(self, vm: SystemVm, findings: list[Finding] | None = None,
                              ) -> list[tuple[Playbook, list[Finding]]]:
        """Playbooks for ``vm``, best first, with the findings behind each. Without
        ``findings`` the VM is diagnosed first (read-only checks, journalled)."""
        from cspctl.repair import suggest
        from cspctl.repair.verify import diagnose

        if findings is None:
            findings = list((await diagnose(self.session, vm, writes=False)).findings)
        return suggest(findings)

    async def find_vm(self, name: str) -> SystemVm:
        """The live system VM called ``name`` (CannotRepair when there is none)."""
        from cspctl.repair import find_vm

        return await find_vm(self.session, name)

    async def preview_repair(self, playbook: str, vm: SystemVm) -> list[StepState]:
        """Every step of ``playbook`` on ``vm`` with its preview (CannotRepair when it does
        not apply: wrong VM type or CloudStack version)."""
        from cspctl.repair import prepare

        run = await prepare(self.session, playbook, vm)
        return run.preview()

    async def run_repair(self, playbook: str, vm: SystemVm, *, ask: Ask,
                         on_event: OnRepairEvent, dry_run: bool = False,
                         ) -> Outcome:
        """Run ``playbook`` on ``vm`` through the engine (it asks, gates and journals)."""
        from cspctl.repair import DEFAULT_TIMEOUT, run_playbook

        return await run_playbook(self.session, playbook, vm, ask=ask, on_event=on_event,
                                  dry_run=dry_run,
                                  timeout=self.settings.repair_timeout or DEFAULT_TIMEOUT,
                                  poll=self.settings.repair_poll)

    def record(self, event: str, **fields: object) -> None:
        self.session.journal.record(event, **fields)

    # -- session log ----------------------------------------------------------------------
    @property
    def session_id(self) -> str:
        return self.session.journal.path.stem

    def _on_record(self, record: JournalRecord) -> None:
        for listener in list(self._log_listeners):
            with contextlib.suppress(Exception):
                listener(record)

    def log_events(self) -> tuple[list[JournalRecord], list[str]]:
        """Everything journalled so far (from the file), and what could not be read."""
        from cspctl.sessionlog.reader import read_journal

        if not self.session.journal.path.exists():
            return [], []
        read = read_journal(self.session.journal.path)
        return read.events, read.problems

    def watch_log(self, listener: Callable[[JournalRecord], None]) -> Callable[[], None]:
        """Call ``listener`` with each event as it is journalled (from any thread);
        returns the function that stops it."""
        self._log_listeners.append(listener)

        def stop() -> None:
            with contextlib.suppress(ValueError):
                self._log_listeners.remove(listener)

        return stop

    def describe_event(self, record: JournalRecord, *, durations: bool | None = None,
                       ) -> EventLine:
        """How the timeline shows ``record`` (``durations``: default the settings')."""
        from cspctl.sessionlog.describe import describe, kind_of
        from cspctl.sessionlog.reader import parse_ts

        shown = self.settings.seams.show_durations if durations is None else durations
        ts = parse_ts(record.get("ts"))
        return EventLine(ts.strftime("%H:%M:%S") if ts else "??:??:??", kind_of(record),
                         describe(record, durations=shown))

    def add_note(self, text: str) -> None:
        self.record("note", text=text[:4000], by="console")

    def report_markdown(self) -> str:
        """This session's incident report, as exported (scrubbed)."""
        from cspctl.sessionlog.export import render
        from cspctl.sessionlog.reader import read_journal

        read = read_journal(self.session.journal.path)
        return render(read, "md", self._export_scrubber())

    def _export_scrubber(self) -> ExportScrubber:
        from cspctl.sessionlog.export import ExportScrubber

        scrub = ExportScrubber()
        for secret in self.profile.secrets():
            scrub.add(secret)
        return scrub

    def export_path(self, fmt: str) -> str:
        """Where :meth:`export_log` writes ``fmt`` (md, json, bundle)."""
        from cspctl.sessionlog.export import default_path
        from cspctl.sessionlog.reader import JournalRead

        return str(default_path(JournalRead(self.session.journal.path, []), fmt))

    async def export_log(self, fmt: str) -> str:
        """Write this session's report (md/json) or bundle; returns the file's path."""
        from cspctl.sessionlog import export as exporter
        from cspctl.sessionlog.reader import read_journal

        def write() -> str:
            read = read_journal(self.session.journal.path)
            scrub = self._export_scrubber()
            data = (exporter.bundle_bytes(read, scrub) if fmt == "bundle"
                    else exporter.render(read, fmt, scrub).encode())
            path = exporter.default_path(read, fmt)
            exporter.write_private(path, data)
            return str(path)

        return await asyncio.to_thread(write)

    def local_clipboard(self, text: str) -> str | None:
        """pyperclip where a local clipboard works; None when copied, else why not."""
        from cspctl.sessionlog.clipboard import has_display, pyperclip_copy

        if not has_display():
            return "no display"
        return pyperclip_copy(text)

    def diagnosis_report(self, diagnosis: Diagnosis, fmt: str) -> str:
        """A diagnosis tab's own report (md or json), scrubbed like every export."""
        from cspctl.diagnostics import report

        text = report.render_json(diagnosis) if fmt == "json" else \
            report.render_markdown(diagnosis)
        return self._export_scrubber()(text)

    async def export_diagnosis(self, diagnosis: Diagnosis, fmt: str) -> str:
        """Write a diagnosis report next to the journal; returns the file's path."""
        from cspctl.sessionlog import export as exporter

        text = self.diagnosis_report(diagnosis, fmt)
        path = (self.session.journal.directory
                / f"diagnosis-{diagnosis.run_id}.{'json' if fmt == 'json' else 'md'}")
        await asyncio.to_thread(exporter.write_private, path, text.encode())
        return str(path)
