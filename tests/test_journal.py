"""The session journal: JSON Lines, one event per line, on disk before record() returns,
nothing secret ever written (keys masked, known secret values scrubbed from free text)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cspctl.sessionlog import MASK, Journal, Scrubber, redact_params, state_dir

ROOT = Path(__file__).resolve().parents[1]
SECRET = "q8VrN2r_Jd7Yt0wPz1sLxK4mC9bH3fA6uE5gT2iO-cspctl-lab-secret-0001"
APIKEY = "Ek4-ZNQ9sBtTd3VaJ0yQ0X6_cspctl-lab-apikey-0001"


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_one_event_per_line(tmp_path: Path) -> None:
    j = Journal(tmp_path / "s.jsonl")
    j.record("api.call", command="listZones", duration=0.012, outcome="ok")
    j.record("ssh.run", command="uptime\nwith newline", exit_status=0)
    j.record("note", text="ünïcödé 🐱")
    raw = (tmp_path / "s.jsonl").read_text(encoding="utf-8")
    assert raw.endswith("\n") and raw.count("\n") == 3  # newlines inside values are escaped
    events = lines(tmp_path / "s.jsonl")
    assert [e["event"] for e in events] == ["api.call", "ssh.run", "note"]
    assert events[0]["command"] == "listZones" and events[0]["duration"] == 0.012
    assert events[2]["text"] == "ünïcödé 🐱"
    for e in events:  # an ISO-8601 UTC timestamp on every line
        assert datetime.fromisoformat(e["ts"]).utcoffset() == UTC.utcoffset(None)
    assert list(j.events()) == events
    j.close()


def test_default_location_is_under_the_state_dir() -> None:
    j = Journal()
    j.record("session.start")
    assert j.path.parent == state_dir() / "sessions"
    assert j.path.name == f"{j.session_id}.jsonl" and j.path.exists()
    assert j.directory == j.path.parent / j.session_id
    j.close()


def test_journal_file_is_private(tmp_path: Path) -> None:
    j = Journal(tmp_path / "p.jsonl")
    j.record("x")
    assert (j.path.stat().st_mode & 0o077) == 0
    j.close()


def test_every_recorded_line_survives_sigkill(tmp_path: Path) -> None:
    """A recorder killed with SIGKILL (no flush at exit) loses nothing it acknowledged."""
    path = tmp_path / "killed.jsonl"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from cspctl.sessionlog import Journal\n"
        "j = Journal(Path(sys.argv[1]))\n"
        "i = 0\n"
        "while True:\n"
        "    j.record('step', i=i, pad='x' * 200)\n"
        "    print(i, flush=True)\n"
        "    i += 1\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged = -1
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 150:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    text = path.read_text(encoding="utf-8")
    complete = text.split("\n")[:-1]  # a last line cut by the kill would have no newline
    steps = [json.loads(line)["i"] for line in complete]
    assert steps[: acknowledged + 1] == list(range(acknowledged + 1))


def test_every_line_is_flushed_before_record_returns(tmp_path: Path) -> None:
    j = Journal(tmp_path / "f.jsonl")
    for i in range(5):
        j.record("step", i=i)
        # another reader (another process would see the same) finds the line already there
        assert len((tmp_path / "f.jsonl").read_text().splitlines()) == i + 1
    j.close()


def test_threads_never_interleave_lines(tmp_path: Path) -> None:
    j = Journal(tmp_path / "t.jsonl")

    def worker(n: int) -> None:
        for i in range(100):
            j.record("t", worker=n, i=i, blob="y" * 500)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = lines(tmp_path / "t.jsonl")
    assert len(events) == 400
    for n in range(4):
        assert [e["i"] for e in events if e["worker"] == n] == list(range(100))
    j.close()


# ----------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    "key",
    ["apikey", "apiKey", "secretkey", "secret_key", "password", "sessionkey", "signature",
     "Cookie", "Set-Cookie", "JSESSIONID", "Authorization", "token", "passphrase"],
)  # fmt: skip
def test_secret_keys_are_masked(tmp_path: Path, key: str) -> None:
    j = Journal(tmp_path / "k.jsonl")
    rec = j.record("api.call", params={key: "s3cr3t-value", "command": "listZones"})
    assert rec["params"] == {key: MASK, "command": "listZones"}
    assert "s3cr3t-value" not in (tmp_path / "k.jsonl").read_text()
    j.close()


def test_nested_structures_are_redacted(tmp_path: Path) -> None:
    j = Journal(tmp_path / "n.jsonl")
    j.record(
        "api.call",
        request={"headers": [{"cookie": "JSESSIONID=abc123def"}], "params": {"password": "pw1"}},
        responses=[{"loginresponse": {"sessionkey": "SK-123456", "username": "admin"}}],
    )
    raw = (tmp_path / "n.jsonl").read_text()
    for secret in ("abc123def", "pw1", "SK-123456"):
        assert secret not in raw
    assert '"username": "admin"' in raw
    j.close()


def test_registered_secret_values_are_scrubbed_from_free_text(tmp_path: Path) -> None:
    j = Journal(tmp_path / "v.jsonl")
    j.add_secret(SECRET)
    j.add_secret(APIKEY)
    j.record(
        "ssh.run",
        command=f"echo {SECRET} > /tmp/x",
        stdout=f"key is {APIKEY}\nbye",
        lines=[f"a{SECRET}b"],
        path=Path(f"/tmp/{SECRET}"),  # not a str: still scrubbed, never str()-ed raw
    )
    raw = (tmp_path / "v.jsonl").read_text()
    assert SECRET not in raw and APIKEY not in raw
    ev = lines(tmp_path / "v.jsonl")[0]
    assert ev["command"] == f"echo {MASK} > /tmp/x"
    assert ev["stdout"] == f"key is {MASK}\nbye"
    assert ev["lines"] == [f"a{MASK}b"]
    assert ev["path"] == f"/tmp/{MASK}"
    j.close()


def test_credentials_in_urls_and_query_strings_are_masked_without_registration() -> None:
    s = Scrubber()
    text = (
        "GET /client/api?command=listZones&apiKey=AKIA123&signature=abc%2Fdef%3D "
        "Cookie: JSESSIONID=node0abc; sessionkey=zzz password=hunter2"
    )
    out = s(text)
    for secret in ("AKIA123", "abc%2Fdef%3D", "node0abc", "zzz", "hunter2"):
        assert secret not in out
    assert "command=listZones" in out


def test_short_values_are_not_treated_as_secrets() -> None:
    s = Scrubber(["abc"])  # would mangle every "abc" in output; ignored by design
    assert s("abcdef") == "abcdef"
    s.add(None)
    s.add("")
    assert s("x") == "x"


def test_redact_params() -> None:
    params = {"command": "login", "username": "admin", "password": "pw", "domain": "/"}
    assert redact_params(params) == {**params, "password": MASK}
    assert params["password"] == "pw"  # a copy, the input is untouched


def test_listener_sees_redacted_event_after_it_is_on_disk(tmp_path: Path) -> None:
    j = Journal(tmp_path / "l.jsonl")
    j.add_secret(SECRET)
    seen: list[tuple[dict, int]] = []
    j.subscribe(lambda ev: seen.append((ev, len(j.path.read_text().splitlines()))))

    def broken(ev: dict) -> None:
        raise RuntimeError("listener bug")

    j.subscribe(broken)
    j.record("note", text=f"secret {SECRET}")
    j.record("note", text="two")
    assert [(ev["text"], n) for ev, n in seen] == [(f"secret {MASK}", 1), ("two", 2)]
    j.close()


def test_close_then_record_reopens(tmp_path: Path) -> None:
    j = Journal(tmp_path / "r.jsonl")
    j.record("a")
    j.close()
    j.record("b")
    j.close()
    assert [e["event"] for e in lines(tmp_path / "r.jsonl")] == ["a", "b"]


def test_events_of_missing_journal_is_empty(tmp_path: Path) -> None:
    assert list(Journal(tmp_path / "none.jsonl").events()) == []
    assert not os.path.exists(tmp_path / "none.jsonl")
