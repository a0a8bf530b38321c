"""The journal's readers and exporters on hand-made journals: cut-off and foreign lines,
markers in casts, hostile text in the report, the profile's secrets scrubbed from every
export, refresh changes, the clipboard's OSC 52 sequence."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cspctl.config import Profile, save_profile
from cspctl.sessionlog import Journal
from cspctl.sessionlog.casts import load_cast
from cspctl.sessionlog.changes import inventory_changes
from cspctl.sessionlog.clipboard import copy_text, osc52_sequence
from cspctl.sessionlog.describe import describe, kind_of
from cspctl.sessionlog.export import bundle_bytes, render
from cspctl.sessionlog.reader import read_journal
from cspctl.ssh.shell import CastWriter

APIKEY = "AKIA_cspctl_test_apikey_0001"
SECRET = "sk_cspctl-test*secret|0002"


def test_reader_keeps_foreign_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    j = Journal(path)
    j.record("session.start", profile="p")
    j.close()
    with open(path, "a") as fh:
        fh.write("not json at all\n")
        fh.write(json.dumps({"v": 99, "ts": "2030-01-01T00:00:00+00:00", "event": "x.new",
                             "shape": [1, 2]}) + "\n")
        fh.write('{"v": 1, "ts": "2030-01-01T00:00:01+00:00", "event": "note", "te')
    read = read_journal(path)
    assert [e["event"] for e in read.events] == ["session.start", "x.new"]
    assert read.events[0]["v"] == 1  # the schema version on every line we write
    assert read.problems == [
        "line 2 is not a journal event and was skipped",
        "line 4 was cut off (64 bytes; the process ended while writing it) and was skipped"]
    newer = read.events[1]
    assert kind_of(newer) == "raw" and describe(newer).startswith("(newer cspctl) {")
    assert '"shape": [1, 2]' in describe(newer)
    assert list(Journal(path).events()) == read.events


def test_cast_markers_at_commands_checks_and_repair_steps(tmp_path: Path) -> None:
    cast_path = tmp_path / "s" / "casts" / "x.cast"
    writer = CastWriter(cast_path, cols=80, rows=24, term="xterm", title="v-2-VM")
    for chunk in (b"root@v-2-VM:~# ", b"u", b"pt", b"x\x7fime\r\n", b" 10:00 up 1 day\r\n",
                  b"\x1b[01;31mroot@v-2-VM\x1b[0m:~# ", b"exit\r\n"):
        writer.output(chunk)
    writer.close()
    cast = load_cast(cast_path)
    start = datetime.now(UTC) - timedelta(seconds=0.5)
    events = [
        {"v": 1, "ts": start.isoformat(), "event": "ssh.shell", "action": "start",
         "vm": "v-2-VM", "cast": str(cast_path)},
        {"v": 1, "ts": (start + timedelta(seconds=0.2)).isoformat(), "event": "diag.finding",
         "vm": "v-2-VM", "status": "fail", "title": "Java working directory intact",
         "summary": "deleted"},
        {"v": 1, "ts": (start + timedelta(seconds=0.3)).isoformat(), "event": "repair.step",
         "vm": "v-2-VM", "playbook": "protect-assets", "title": "Restart cloud",
         "status": "ok"},
        {"v": 1, "ts": (start + timedelta(seconds=0.3)).isoformat(), "event": "repair.step",
         "vm": "s-1-VM", "title": "elsewhere", "status": "ok"},
    ]
    journal = tmp_path / "s.jsonl"
    journal.write_text("".join(json.dumps(e) + "\n" for e in events))
    blob = bundle_bytes(read_journal(journal))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        lines = tar.extractfile("cspctl-s/casts/x.cast").read().decode().splitlines()
    header, body = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert header["version"] == 2 and header["title"] == "v-2-VM"
    markers = [e[2] for e in body if e[1] == "m"]
    assert "$ uptime" in markers and "$ exit" in markers
    assert any("FAIL Java working directory intact" in m for m in markers)
    assert any("step Restart cloud on v-2-VM" in m for m in markers)
    assert not any("elsewhere" in m for m in markers)
    assert [e[0] for e in body] == sorted(e[0] for e in body)
    assert "".join(e[2] for e in body if e[1] == "o") == "".join(
        e[2] for e in cast.events if e[1] == "o")


def test_hostile_text_and_profile_secrets_never_reach_an_export(tmp_path: Path) -> None:
    save_profile(Profile(name="prod", source=None, url="https://cs.example/client/api",
                         apikey=APIKEY, secretkey=SECRET))
    sessions = tmp_path / "state" / "sessions"
    sessions.mkdir(parents=True)
    path = sessions / "20261201T000000Z-000001.jsonl"
    # written without the journal's scrubber, as an older or broken writer might have
    hostile = "x | y\x1b]52;c;aGk=\x07 <script>`` [link](http://e) **b**"
    events = [
        {"v": 1, "ts": "2026-12-01T00:00:00+00:00", "event": "session.start", "profile": "prod"},
        {"v": 1, "ts": "2026-12-01T00:00:01+00:00", "event": "diag.finding", "vm": "v-2-VM",
         "check_id": "c", "title": hostile, "status": "fail", "summary": f"key {APIKEY}",
         "evidence": [{"source": "vm", "command": f"echo {SECRET}", "exit_status": 0,
                       "output": f"```\n{SECRET}\nvmpassword=hunter2hunter2\n"}]},
        {"v": 1, "ts": "2026-12-01T00:00:02+00:00", "event": "note", "text": SECRET},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    cast = sessions / path.stem / "casts" / "a.cast"
    cast.parent.mkdir(parents=True)
    cast.write_text(json.dumps({"version": 2, "width": 80, "height": 24}) + "\n"
                    + json.dumps([0.1, "o", f"root@v-2-VM:~# echo {APIKEY}\r\n"]) + "\n")
    read = read_journal(path)
    md, js = render(read, "md"), render(read, "json")
    blob = bundle_bytes(read)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        inside = b"".join(tar.extractfile(m).read() for m in tar.getmembers())
    for secret in (APIKEY, SECRET, "hunter2hunter2"):
        for escaped in (secret, secret.replace("_", "\\_").replace("*", "\\*")
                        .replace("|", "\\|"), json.dumps(secret)[1:-1]):
            assert escaped not in md and escaped not in js
            assert escaped.encode() not in inside and escaped.encode() not in blob
    assert "\x1b" not in md and "\x07" not in md and "\\x1b" in md
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "x \\| y" in md  # a pipe cannot break the timeline table
    assert "````text" in md  # the fence is longer than the backticks inside
    json.loads(js)  # still valid JSON after scrubbing


def test_inventory_changes_say_what_changed() -> None:
    before = [{"id": "1", "name": "v-2-VM", "state": "Running", "agentstate": "Disconnected"},
              {"id": "2", "name": "s-1-VM", "state": "Running", "agentstate": "Up"}]
    after = [{"id": "1", "name": "v-2-VM", "state": "Running", "agentstate": "Up"},
             {"id": "3", "name": "s-3-VM", "state": "Starting", "agentstate": None}]
    assert inventory_changes(before, after) == [
        "v-2-VM agent Disconnected → Up", "s-3-VM appeared (Starting)", "s-1-VM gone"]
    assert inventory_changes(after, after) == []


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_clipboard_osc52_and_fallback() -> None:
    text = "# report\nünïcode\n"
    seq = osc52_sequence(text, env={})
    assert seq.startswith("\x1b]52;c;") and seq.endswith("\x07")
    assert base64.b64decode(seq[7:-1]).decode() == text
    tmux = osc52_sequence(text, env={"TMUX": "/tmp/tmux-0/default,1,0"})
    assert tmux.startswith("\x1bPtmux;\x1b\x1b]52;c;") and tmux.endswith("\x1b\\")
    out = Tty()
    result = copy_text(text, out, env={})
    assert result.method == "osc52" and out.getvalue() == seq and "no display" in result.detail
    piped = io.StringIO()
    result = copy_text(text, piped, env={})
    assert result.method == "none" and piped.getvalue() == ""
    assert result.detail.startswith("no clipboard reachable")
