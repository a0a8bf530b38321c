"""A diagnosis's findings are journalled in bounded batches (``Journal.record_soon``) and none is
lost: not when the run is cancelled midway, not when nothing else is written after them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from cspctl.diagnostics.runner import DiagnosisRunner, StepFinished
from cspctl.diagnostics.select import select_vms
from cspctl.lab.runner import Lab
from cspctl.session import Session
from cspctl.sessionlog import Journal
from cspctl.sessionlog.journal import SOON_EVENTS, SOON_SECONDS

ROOT = Path(__file__).resolve().parents[1]


def _on_disk(path: Path, event: str) -> list[dict[str, object]]:
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["event"] == event]


async def test_a_cancelled_run_leaves_every_finding_it_reported_in_the_journal() -> None:
    async with Lab("large", time_scale=0.01) as lab:
        session = Session.open(profile=lab.profile())
        async with session:
            vms = await select_vms(session.api, zone="zone01", limit=8)
            reported: list[tuple[str, str]] = []
            enough = asyncio.Event()

            def seen(event: object) -> None:
                if isinstance(event, StepFinished):
                    reported.append((event.vm_id, event.finding.check_id))
                    if len(reported) >= 40:
                        enough.set()

            runner = DiagnosisRunner(session.api, session.ssh, session.profile,
                                     journal=session.journal, on_event=seen, timeout=20)
            task = asyncio.ensure_future(runner.run(vms))
            await asyncio.wait_for(enough.wait(), 120)
            task.cancel()
            await asyncio.wait([task])
            assert task.cancelled()
            # read while the session is still open: nothing closed the journal yet
            on_disk = {(str(e["vm_id"]), str(e["check_id"]))
                       for e in _on_disk(session.journal.path, "diag.finding")}
    assert len(reported) >= 40
    assert set(reported) <= on_disk, set(reported) - on_disk


def test_held_events_are_written_within_the_bound(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "soon.jsonl")
    journal.record_soon("diag.finding", i=0)
    deadline = time.monotonic() + SOON_SECONDS + 5  # the bound, plus a loaded machine's slack
    while not _on_disk(journal.path, "diag.finding"):
        assert time.monotonic() < deadline, "a held event was never written"
        time.sleep(0.01)
    # a full batch is written at once; and a plain record writes what is held first, in order
    for i in range(1, SOON_EVENTS + 1):
        journal.record_soon("diag.finding", i=i)
    assert len(_on_disk(journal.path, "diag.finding")) >= SOON_EVENTS
    journal.record_soon("diag.finding", i=SOON_EVENTS + 1)
    journal.record("diag.end")
    events = [e["event"] for e in map(json.loads, journal.path.read_text().splitlines())]
    assert events == ["diag.finding"] * (SOON_EVENTS + 2) + ["diag.end"]
    journal.close()


def test_close_writes_what_is_held(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "close.jsonl")
    for i in range(5):
        journal.record_soon("diag.finding", i=i)
    journal.close()
    assert [e["i"] for e in _on_disk(tmp_path / "close.jsonl", "diag.finding")] == list(range(5))


def test_exit_without_close_writes_what_is_held(tmp_path: Path) -> None:
    path = tmp_path / "exit.jsonl"
    code = ("import sys\nfrom pathlib import Path\nfrom cspctl.sessionlog import Journal\n"
            "j = Journal(Path(sys.argv[1]))\n"
            "for i in range(5):\n    j.record_soon('diag.finding', i=i)\n")
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True, timeout=60)
    assert [e["i"] for e in _on_disk(path, "diag.finding")] == list(range(5))
