"""``cspctl profiles``: sources, default mark, live check (reachable / authenticated /
version) against a loopback server, never a secret on screen."""

from __future__ import annotations

import asyncio
import json
import re
import socket

from cspctl.config import cmk_config_path, config_path
from cspctl.sessionlog import state_dir
from tests.apiserver import ApiServer
from tests.cli_helpers import run_cli

BAD_SECRET = "WRONG-secret-value-0123456789"
PASSWORD = "pa ss+w/rd~"  # the test server's admin password


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_files(srv: ApiServer) -> str:
    dead = f"http://127.0.0.1:{closed_port()}/client/api"
    cmk = cmk_config_path()
    cmk.parent.mkdir(parents=True)
    cmk.write_text(
        "prompt     = 🐱\n"
        "timeout    = 1800\n"
        "verifycert = true\n"
        "profile    = good\n\n"
        f"[good]\nurl       = {srv.url}\napikey    = {srv.apikey}\nsecretkey = {srv.secretkey}\n\n"
        f"[login]\nurl      = {srv.url}\nusername = admin\npassword = {PASSWORD}\ndomain   = /\n\n"
        f"[badkeys]\nurl       = {srv.url}\napikey    = {srv.apikey}\nsecretkey = {BAD_SECRET}\n\n"
        f"[dead]\nurl       = {dead}\napikey    = {srv.apikey}\nsecretkey = {srv.secretkey}\n"
    )
    cmk.chmod(0o600)
    config_path().parent.mkdir(parents=True)
    config_path().write_text(
        '[profiles.good]\nssh_user = "ops"\n\n[profiles.nourl]\nread_only = true\n'
    )
    config_path().chmod(0o600)
    return dead


def secrets_of(srv: ApiServer) -> list[str]:
    return [srv.apikey, srv.secretkey, BAD_SECRET, PASSWORD]


def table(stdout: str) -> dict[str, list[str]]:
    head, *body = stdout.split("\n\n")[0].splitlines()
    assert re.split(r"\s{2,}", head.strip()) == [
        "NAME", "SOURCE", "URL", "AUTH", "REACHABLE", "AUTHENTICATED", "VERSION"
    ]  # fmt: skip
    return {re.split(r"\s{2,}", line[3:])[0]: [line[:1], *re.split(r"\s{2,}", line[3:])]
            for line in body}  # fmt: skip


async def test_profiles_live_check() -> None:
    async with ApiServer(version="4.8.0") as srv:
        dead = setup_files(srv)
        res = await run_cli("profiles", "--timeout", "10")
        commands = srv.commands()
    assert res.returncode == 1  # some profiles fail their check
    rows = table(res.stdout)
    assert list(rows) == ["good", "login", "badkeys", "dead", "nourl"]
    assert rows["good"] == ["*", "good", "~/.cmk/config + " + str(config_path()), srv.url,
                            "apikey", "yes", "yes", "4.8.0"]  # fmt: skip
    assert rows["login"][4:] == ["password", "yes", "yes", "4.8.0"]
    assert rows["badkeys"][4:] == ["apikey", "yes", "no", "-"]
    assert rows["dead"][3:] == [dead, "apikey", "no", "?", "-"]
    assert rows["nourl"][2:5] == ["-", "-", "broken"]
    notes = res.stdout.split("\n\n")[1]
    assert "badkeys: " in notes and "401" in notes
    assert "dead: " in notes and "connection refused" in notes
    assert "nourl: profile 'nourl' in " in notes and "has no url" in notes
    # password profile logged in and out; every server was asked listCapabilities
    assert commands.count("listCapabilities") == 3 and "login" in commands
    assert "logout" in commands
    for secret in secrets_of(srv):
        assert secret not in res.output
    # each check is journaled, redacted
    (journal,) = (state_dir() / "sessions").glob("*.jsonl")
    text = journal.read_text()
    checks = {e["profile"]: e for e in map(json.loads, text.splitlines())
              if e["event"] == "profiles.check"}  # fmt: skip
    assert set(checks) == {"good", "login", "badkeys", "dead"}
    assert checks["good"]["version"] == "4.8.0" and checks["dead"]["reachable"] is False
    for secret in secrets_of(srv):
        assert secret not in text


async def test_profiles_json_and_no_check() -> None:
    async with ApiServer() as srv:
        setup_files(srv)
        res = await run_cli("profiles", "--no-check", "--json")
        assert srv.requests == []  # --no-check contacts nobody
    assert res.returncode == 1  # 'nourl' is broken
    data = {d["name"]: d for d in json.loads(res.stdout)}
    assert data["good"]["default"] is True and data["login"]["default"] is False
    assert data["good"]["url"] == srv.url and data["good"]["auth"] == "apikey"
    assert data["login"]["username"] == "admin"
    assert "has no url" in data["nourl"]["error"]
    assert "reachable" not in data["good"]
    for secret in secrets_of(srv):
        assert secret not in res.output


async def test_profiles_env_profile() -> None:
    async with ApiServer() as srv:
        env = {"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey,
               "CSPCTL_SECRETKEY": srv.secretkey}  # fmt: skip
        res = await run_cli("profiles", env=env)
    assert res.returncode == 0, res.output
    assert table(res.stdout) == {
        "env": ["*", "env", "env", srv.url, "apikey", "yes", "yes", "4.8.0"]
    }
    assert srv.secretkey not in res.output


async def test_profiles_with_nothing_configured() -> None:
    res = await run_cli("profiles")
    assert res.returncode == 2
    assert res.stderr.startswith("cspctl: no CloudStack profile configured")


async def test_checks_run_in_parallel() -> None:
    """With a 2 s server latency, a sequential check could not send its second request until
    the first answer came back; all three requests must be in flight together."""
    async with ApiServer(latency=2.0) as srv:
        cmk = cmk_config_path()
        cmk.parent.mkdir(parents=True)
        cmk.write_text(
            "profile = p1\n"
            + "".join(
                f"[p{i}]\nurl = {srv.url}\napikey = {srv.apikey}\nsecretkey = {srv.secretkey}\n"
                for i in (1, 2, 3)
            )
        )
        cmk.chmod(0o600)
        arrivals: list[float] = []
        loop = asyncio.get_running_loop()

        async def watch() -> None:
            while len(arrivals) < 3:
                while len(arrivals) < len(srv.requests):
                    arrivals.append(loop.time())
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        res = await run_cli("profiles")
        await asyncio.wait_for(watcher, 5)
    assert res.returncode == 0, res.output
    assert srv.commands() == ["listCapabilities"] * 3
    assert arrivals[-1] - arrivals[0] < 1.5  # sequential would be >= 2 s apart


async def test_profiles_check_the_lab() -> None:
    """The profile `cspctl lab serve` saves is listed and answers (signed v3 against the lab)."""
    from cspctl.config import save_profile
    from cspctl.lab.runner import Lab

    async with Lab("healthy", time_scale=0.01) as lab:
        save_profile(lab.profile())
        res = await run_cli("profiles", "--json")
        version = lab.world.version
    assert res.returncode == 0, res.output
    (lab_row,) = json.loads(res.stdout)
    assert lab_row["name"] == "lab" and lab_row["is_lab"] is True and lab_row["default"] is True
    assert (lab_row["reachable"], lab_row["authenticated"]) == (True, True)
    assert lab_row["version"] == version
    assert lab.secretkey not in res.output and lab.password not in res.output
