"""`cspctl log` end to end: real sessions against `cspctl lab serve` (a diagnosis, an
interactive shell on a pty, a process killed with SIGKILL), exported as Markdown, JSON and a
bundle; the report, its time order, its casts, and no secret of the lab in any byte."""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.test_diag_cli import _env, lab_serve

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "journals" / "repair-protect-assets.jsonl"


def cspctl(*args: str, env: dict[str, str] | None = None, check: bool = True,
           **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "cspctl", *args], env=env or _env(),
                            capture_output=True, text=True, timeout=120, **kw)  # type: ignore
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    return result


def sessions() -> Path:
    return Path(os.environ["CSPCTL_STATE_DIR"]) / "sessions"


def read_until(master: int, token: bytes, seen: bytes = b"", timeout: float = 30) -> bytes:
    deadline = time.monotonic() + timeout
    while token not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {token!r}: {seen[-500:]!r}")
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def shell_on_pty(*lines: bytes, kill: bool = False) -> tuple[subprocess.Popen[bytes], bytes]:
    """``cspctl --profile lab ssh v-2-VM`` on a pty; type ``lines`` after each prompt;
    exit (or, with ``kill``, SIGKILL the process while the shell is open)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "cspctl", "--profile", "lab", "ssh",
                             "v-2-VM"], stdin=slave, stdout=slave, stderr=slave,
                            env=_env(), start_new_session=True)
    os.close(slave)
    seen = read_until(master, b"# ")
    for line in lines:
        os.write(master, line + b"\n")
        seen = read_until(master, b"# ")  # the next prompt
    if kill:
        proc.send_signal(signal.SIGKILL)
    else:
        os.write(master, b"exit\n")
    proc.wait(30)
    os.close(master)
    return proc, seen


def all_bytes(tar_path: Path) -> tuple[list[str], bytes, dict[str, bytes]]:
    with tarfile.open(tar_path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    return list(members), b"".join(members.values()), members


def test_seed_incident_exported_in_every_format_without_a_secret(tmp_path: Path) -> None:
    with lab_serve(tmp_path, "seed") as info:
        diag = cspctl("--profile", "lab", "diagnose", "v-2-VM", "--timeout", "10", check=False)
        assert diag.returncode == 2, diag.stderr
        shell, _ = shell_on_pty(b"cat /var/cache/cloud/cmdline", b"ls /usr/local/cloud")
        assert shell.returncode == 0
        repair = cspctl("--profile", "lab", "repair", "protect-assets", "v-2-VM", "--yes")
        assert "VERIFIED" in repair.stdout
    secrets = [str(info[k]) for k in ("apikey", "secretkey", "password")]
    assert all(len(s) >= 8 for s in secrets)
    journals = sorted(sessions().glob("*.jsonl"))
    assert len(journals) == 3
    diag_id, shell_id, repair_id = (j.stem for j in journals)

    listing = cspctl("log", "list", "--json")
    rows = json.loads(listing.stdout)
    assert [r["id"] for r in rows] == [diag_id, shell_id, repair_id]
    assert rows[0]["outcome"] == "fail" and rows[0]["vms"] == ["v-2-VM"]
    assert rows[0]["mode"] == "headless" and "diagnose v-2-VM" in rows[0]["command"]
    assert rows[1]["vms"] == ["v-2-VM"] and rows[1]["ended"] == "normal"
    assert rows[2]["outcome"] == "repaired"
    # log commands start no session of their own: latest is still the repair
    assert sorted(sessions().glob("*.jsonl")) == journals
    assert cspctl("log", "show", "latest").stdout.startswith(f"session {repair_id}")

    # the repair's report: each question, its answer, each step's result, the verification
    rmd = cspctl("log", "export", "latest", "--format", "md", "-o", "-").stdout
    rjs = json.loads(cspctl("log", "export", "latest", "--format", "json", "-o", "-").stdout)
    (action,) = rjs["actions"]
    assert action["playbook"] == "protect-assets" and action["status"] == "verified"
    changes = [st for st in action["steps"] if st["destructive"]]
    assert changes and all(st["asked"] and st["answer"] == "yes" and st["status"] == "done"
                           for st in changes)
    assert all(st["asked"] <= st["answered"] for st in changes)  # asked, then answered
    assert action["verification"][0]["status"] == "verified"
    section = rmd[rmd.index("## Actions taken"):rmd.index("## Still open")]
    spots = []
    for st in action["steps"]:
        spots.append(section.index(f"**{st['title']}**"))
        if st["asked"]:
            spots.append(section.index("Confirmation asked", spots[-1]))
        spots.append(section.index(f"Result: **{st['status']}**", spots[-1]))
    spots.append(section.index("Verification:"))
    assert spots == sorted(spots)
    assert "chattr +i /usr/local/cloud/systemvm/images" in section
    assert "1 of 1 repairs done and verified" in rmd
    java = next(f for f in rjs["findings"] if f["check_id"] == "java-cwd")
    assert java["status"] == "fail" and java["later"]["status"] == "ok"
    assert not any("Java working directory" in item for item in rjs["open"])

    note = cspctl("log", "note", diag_id[:-2], "agent", "restarted", "by", "hand")
    assert "note added" in note.stderr
    out = tmp_path / "out"
    md = cspctl("log", "export", diag_id, "--format", "md", "-o", str(out / "r.md"))
    js = cspctl("log", "export", diag_id, "--format", "json", "-o", str(out / "r.json"))
    bundle = cspctl("log", "export", diag_id, "--format", "bundle", "-o", str(out / "b.tar.gz"))
    shell_bundle = cspctl("log", "export", shell_id, "--format", "bundle")
    repair_bundle = cspctl("log", "export", repair_id, "--format", "bundle")
    for result in (md, js, bundle):
        assert "ended abruptly" not in result.stderr
    report = (out / "r.md").read_text()
    data = json.loads((out / "r.json").read_text())

    # the report names the findings with their evidence, the note, in time order
    assert report.startswith(f"# Incident report: session {diag_id}")
    for needle in ("## Summary", "## Timeline (UTC)", "## Findings", "## Actions taken",
                   "## Still open", "## Facts and guesses", "Java working directory intact",
                   "(deleted)", "`protect-assets`", "agent restarted by hand",
                   "CloudStack 4.8.0", "profile lab (lab)"):
        assert needle in report, needle
    assert data["session"]["cloudstack_version"] == "4.8.0"
    assert data["session"]["end"] == "normal" and data["session"]["operator"]
    assert data["session"]["utc_offset"].startswith(("+", "-"))
    checks = {f["check_id"]: f for f in data["findings"]}
    assert checks["java-cwd"]["status"] == "fail"
    assert any("(deleted)" in e["output"] for e in checks["java-cwd"]["evidence"])
    assert "v-2-VM" in data["summary"]["affected_vms"]
    assert any("Java working directory intact" in item for item in data["open"])
    stamps = [row["ts"] for row in data["timeline"]]
    assert stamps == sorted(stamps) and len(stamps) > 5
    assert data["notes"][0]["text"] == "agent restarted by hand"

    # the bundle: reports, journal, and the shell's cast (with markers, playable)
    names, blob, members = all_bytes(out / "b.tar.gz")
    root = f"cspctl-{diag_id}"
    assert {f"{root}/report.md", f"{root}/report.json", f"{root}/journal.jsonl"} <= set(names)
    bundled = [json.loads(line) for line in members[f"{root}/journal.jsonl"].splitlines()]
    assert bundled == [json.loads(line) for line in journals[0].read_text().splitlines()]
    assert members[f"{root}/report.md"] == (out / "r.md").read_bytes()
    shell_tar = Path(shell_bundle.stdout.strip())
    snames, sblob, smembers = all_bytes(shell_tar)
    casts = [n for n in snames if n.endswith(".cast")]
    assert len(casts) == 1, snames
    cast_lines = smembers[casts[0]].decode().splitlines()
    header = json.loads(cast_lines[0])
    assert header["version"] == 2 and header["width"] > 0 and header["height"] > 0
    events = [json.loads(line) for line in cast_lines[1:]]
    assert all(isinstance(e, list) and len(e) == 3 and e[1] in "omr" for e in events)
    times = [e[0] for e in events]
    assert times == sorted(times)
    markers = [e[2] for e in events if e[1] == "m"]
    assert "$ cat /var/cache/cloud/cmdline" in markers, markers
    assert "$ ls /usr/local/cloud" in markers, markers
    played = tmp_path / "played.cast"
    played.write_bytes(smembers[casts[0]])
    asciinema = shutil.which("asciinema") or str(Path(sys.executable).parent / "asciinema")
    cat = subprocess.run([asciinema, "cat", str(played)], capture_output=True, timeout=60)
    assert cat.returncode == 0, cat.stderr
    # asciinema reproduces exactly what the session showed (the recording, markers aside)
    original = next((sessions() / shell_id / "casts").glob("*.cast")).read_text()
    shown = "".join(e[2] for e in map(json.loads, original.splitlines()[1:]) if e[1] == "o")
    assert cat.stdout.decode() == shown
    assert "type=consoleproxy" in shown and "root@v-2-VM:~# ls /usr/local/cloud" in shown

    # no secret in any exported byte (and none in the journals themselves)
    _, rblob, _ = all_bytes(Path(repair_bundle.stdout.strip()))
    exported = [(out / "r.md").read_bytes(), (out / "r.json").read_bytes(), blob, sblob,
                rblob, rmd.encode(), json.dumps(rjs).encode(),
                (out / "b.tar.gz").read_bytes(), shell_tar.read_bytes(),
                "\n".join(names + snames).encode()]
    exported += [p.read_bytes() for p in sessions().rglob("*") if p.is_file()]
    for secret in secrets:
        for data_bytes in exported:
            assert secret.encode() not in data_bytes
            assert base64.b64encode(secret.encode())[:16] not in data_bytes


def test_a_session_killed_with_sigkill_still_exports(tmp_path: Path) -> None:
    with lab_serve(tmp_path, "seed"):
        proc, _ = shell_on_pty(b"uptime", kill=True)
    assert proc.returncode == -signal.SIGKILL
    journal = next(sessions().glob("*.jsonl"))
    # as if the kill had landed mid-write: a cut-off last line
    with open(journal, "a") as fh:
        fh.write('{"v": 1, "ts": "2026-12-01T00:00:00+00:00", "event": "ssh.comm')
    listing = json.loads(cspctl("log", "list", "--json").stdout)
    assert listing[0]["ended"] == "abrupt" and listing[0]["problems"] == 1
    for fmt in ("md", "json", "bundle"):
        result = cspctl("log", "export", "latest", "--format", fmt)
        assert "ended abruptly" in result.stderr, result.stderr
        assert "was cut off" in result.stderr and "skipped" in result.stderr
        assert Path(result.stdout.strip()).is_file()
    report = (journal.parent / journal.stem / "report.md").read_text()
    assert "**Ended abruptly:**" in report and "was cut off" in report
    names, _, members = all_bytes(journal.parent / journal.stem
                                  / f"cspctl-{journal.stem}.tar.gz")
    cast = next(n for n in names if n.endswith(".cast"))  # an unfinished recording
    assert json.loads(members[cast].decode().splitlines()[0])["version"] == 2
    # a note after the kill lands on its own line, not glued to the cut-off one
    cspctl("log", "note", "latest", "killed while in the shell")
    export = json.loads(cspctl("log", "export", "latest", "--format", "json", "-o", "-").stdout)
    assert export["notes"][-1]["text"] == "killed while in the shell"
    assert export["session"]["end"] == "abrupt"


def _fixture_session() -> Path:
    target = sessions() / "20261130T171000Z-abc123.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, target)
    return target


def test_repair_events_render_as_actions_with_confirmations_and_verification() -> None:
    _fixture_session()
    md = cspctl("log", "export", "latest", "--format", "md", "-o", "-")
    data = json.loads(cspctl("log", "export", "latest", "--format", "json", "-o", "-").stdout)
    report = md.stdout
    assert "line 19 was cut off" in md.stderr and "ended abruptly" in md.stderr
    (action,) = data["actions"]
    assert action["playbook"] == "protect-assets" and action["status"] == "ok"
    steps = action["steps"]
    assert [s["title"] for s in steps] == ["Protect the console assets (chattr +i)",
                                           "Restart the cloud service"]
    assert [s["answer"] for s in steps] == ["yes", "yes"]
    assert steps[0]["preview"].startswith("chattr +i") and steps[1]["status"] == "ok"
    assert action["verification"][0]["summary"] == "agent Up"
    # in the Markdown: question, answer, result, verification, in that order
    order = ["Protect the console assets (chattr +i)", "Confirmation asked at 17:11:01",
             "answer: **yes** at 17:11:05", "Result: **ok**", "Restart the cloud service",
             "cloud.service restarted", "Verification:", "**ok**: agent Up"]
    actions = report.index("## Actions taken")
    positions = [report.index(x, actions) for x in order]
    assert positions == sorted(positions)
    assert "repaired" not in data["open"] and not any("Java" in o for o in data["open"])
    assert data["open"] == ["the session ended abruptly (no session end was recorded): "
                            "whatever it was doing may be incomplete"]
    assert data["summary"]["outcome"].startswith("1 of 1 repairs done and verified")
    assert "local time UTC+09:00" in report and "ops@mgmt1" in report
    # facts apart from guesses
    facts = report.index("Observed (from the checks")
    guesses = report.index("Not verified")
    assert facts < report.index("java (pid 2345) runs in a deleted directory", facts) < guesses
    assert report.index("restart the cloud service after protecting", guesses) > guesses
    # unknown and newer events: kept and shown raw
    assert [e["event"] for e in data["unknown_events"]] == ["session.future", "wizard.mystery"]
    assert '"event": "session.future"' in report and '"v": 7' in report
    show = cspctl("log", "show", "latest", "--kind", "raw")
    assert "(newer cspctl)" in show.stdout and "wizard.mystery" in show.stdout
    assert "was cut off" in show.stderr
    # the timeline is in time order, repair steps as actions
    kinds = [(r["ts"], r["kind"]) for r in data["timeline"]]
    assert [t for t, _ in kinds] == sorted(t for t, _ in kinds)
    assert sum(k == "action" for _, k in kinds) == 9


def test_copy_on_a_pty_without_a_display_emits_osc52() -> None:
    _fixture_session()
    expected = cspctl("log", "export", "latest", "--format", "md", "-o", "-").stdout
    env = _env()
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "TMUX", "STY"):
        env.pop(var, None)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "cspctl", "log", "copy", "latest"],
                            stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env)
    os.close(slave)
    seen = read_until(master, b"\x07")
    rc = proc.wait(30)
    err = proc.stderr.read().decode()  # type: ignore[union-attr]
    os.close(master)
    assert rc == 0, err
    match = re.search(rb"\x1b\]52;c;([A-Za-z0-9+/=]+)\x07", seen)
    assert match, seen[:200]
    assert base64.b64decode(match[1]).decode() == expected
    assert "copied via an OSC 52 escape" in err and "no display" in err
    assert "report.md" in err
    # not a terminal, no display: say so, and where the file is
    piped = cspctl("log", "copy", "latest", env=env, check=False)
    assert piped.returncode == 1 and piped.stdout == ""
    line = piped.stderr.strip()
    assert line.startswith("cspctl: no clipboard reachable") and "the report is at " in line
    assert Path(line.rsplit("the report is at ", 1)[1]).read_text() == expected


def test_list_groups_cron_runs_and_prune_deletes_only_old(tmp_path: Path) -> None:
    from cspctl.sessionlog import Journal

    folder = sessions()
    folder.mkdir(parents=True, exist_ok=True)

    def session(sid: str, mode: str, command: str, status: str) -> Path:
        j = Journal(folder / f"{sid}.jsonl")
        j.record("session.start", profile="prod", mode=mode, command=command)
        j.record("diag.end", status=status)
        j.record("session.end", duration=1.0)
        j.close()
        return j.path

    session("20261201T000000Z-000000", "console", "", "ok")
    for i in range(85):
        session(f"20261201T01{i // 60:02d}{i % 60:02d}Z-{i:06x}", "headless",
                "diagnose --all", "fail" if i % 17 == 0 else "ok")
    session("20261201T030000Z-ffffff", "console", "", "warn")
    rows = json.loads(cspctl("log", "list", "--json").stdout)
    assert len(rows) == 3
    assert rows[1]["group"] and rows[1]["runs"] == 85
    assert rows[1]["outcomes"] == {"fail": 5, "ok": 80}
    text = cspctl("log", "list").stdout.splitlines()
    assert len(text) == 4 and "85 runs" in text[2] and "80 ok" in text[2]
    assert len(json.loads(cspctl("log", "list", "--json", "--ungrouped", "--limit", "0")
                          .stdout)) == 87
    # prune: only what is older than the age given
    old = folder / "20261201T000000Z-000000.jsonl"
    (folder / old.stem / "casts").mkdir(parents=True)
    (folder / old.stem / "casts" / "x.cast").write_text("{}\n")
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    dry = cspctl("log", "prune", "--older-than", "30d", "--dry-run")
    assert dry.stdout.strip() == f"would remove {old.stem}" and old.exists()
    done = cspctl("log", "prune", "--older-than", "30d")
    assert done.stdout.strip() == f"removed {old.stem}"
    assert not old.exists() and not (folder / old.stem).exists()
    assert len(list(folder.glob("*.jsonl"))) == 86
    bad = cspctl("log", "prune", "--older-than", "soon", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("cspctl: --older-than")
    missing = cspctl("log", "export", "nosuch", check=False)
    assert missing.returncode == 4 and missing.stderr.strip() == \
        "cspctl: no session 'nosuch' (see cspctl log list)"


@pytest.mark.timeout(120)
def test_concurrent_sessions_write_only_their_own_journal(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "from cspctl.sessionlog import Journal\n"
        "j = Journal()\n"
        "print(j.path, flush=True)\n"
        "for i in range(300):\n"
        "    j.record('note', text=f'{sys.argv[1]}-{i}')\n"
        "j.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE,
                              text=True, env=_env()) for name in ("alpha", "beta", "gamma")]
    paths = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        paths.append(Path(out.strip()))
    assert len(set(paths)) == 3
    for name, path in zip(("alpha", "beta", "gamma"), paths, strict=True):
        texts = [json.loads(line)["text"] for line in path.read_text().splitlines()]
        assert texts == [f"{name}-{i}" for i in range(300)]


def test_console_quit_says_where_the_journal_is() -> None:
    """``cspctl --lab`` on a real pty: after ctrl+q, one line names the journal and the
    command that exports it; that command works."""
    master, slave = pty.openpty()
    env = {**_env(), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen([sys.executable, "-m", "cspctl", "--lab"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    try:
        seen = read_until(master, b"v-2-VM", timeout=60)
        os.write(master, b"\x11")  # ctrl+q
        seen = read_until(master, b"--format md", seen, timeout=60)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    tail = seen.rsplit(b"\x1b", 1)[-1].decode(errors="replace")
    match = re.search(r"cspctl: session journal (\S+\.jsonl); export it with "
                      r"'cspctl log export (\S+) --format md'", tail)
    assert match, tail
    assert Path(match[1]).is_file() and Path(match[1]).stem == match[2]
    exported = cspctl("log", "export", match[2], "--format", "json", "-o", "-")
    data = json.loads(exported.stdout)
    assert data["session"]["mode"] == "console" and data["session"]["end"] == "normal"
