"""Operator-facing failures of the real ``cspctl`` command: one clear stderr line, non-zero
exit status, no traceback, no secret, never a hang."""

from __future__ import annotations

import socket

from cspctl.config import cmk_config_path, config_path
from tests.apiserver import ApiServer, Fault
from tests.cli_helpers import assert_one_clean_error_line, run_cli

APIKEY = "ZZ-not-the-right-key-0123456789"
SECRET = "ZZ-secret-that-must-never-show-0123456789"


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text: str, mode: int = 0o600) -> None:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


async def test_unknown_profile() -> None:
    write(cmk_config_path(), "profile = a\n[a]\nurl = http://h/client/api\napikey = k\n"
                             "secretkey = s\n")  # fmt: skip
    res = await run_cli("--profile", "nosuch", "list", "zones")
    line = assert_one_clean_error_line(res)
    assert res.returncode == 2
    assert line == "cspctl: no profile 'nosuch'; known: a (from ~/.cmk/config)"
    assert res.stdout == ""


async def test_cspctl_profile_variable_selects_too() -> None:
    res = await run_cli("list", "zones", env={"CSPCTL_PROFILE": "ghost"})
    line = assert_one_clean_error_line(res)
    assert "no profile 'ghost'" in line and "cspctl --lab" in line


async def test_nothing_configured() -> None:
    res = await run_cli("list", "systemvms")
    line = assert_one_clean_error_line(res)
    assert res.returncode == 2
    assert line.startswith("cspctl: no CloudStack profile configured: create ~/.cmk/config")


async def test_closed_loopback_port() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/client/api"
    write(cmk_config_path(), f"profile = dead\n[dead]\nurl = {url}\napikey = {APIKEY}\n"
                             f"secretkey = {SECRET}\n")  # fmt: skip
    res = await run_cli("list", "zones", timeout=60)
    line = assert_one_clean_error_line(res)
    assert f"127.0.0.1:{port}" in line
    assert SECRET not in res.output and APIKEY not in res.output
    assert res.stdout == ""


async def test_bad_keys_401() -> None:
    async with ApiServer() as srv:
        res = await run_cli(
            "list", "systemvms",
            env={"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": APIKEY, "CSPCTL_SECRETKEY": SECRET},
        )  # fmt: skip
    line = assert_one_clean_error_line(res)
    assert "401" in line and "listSystemVms" in line
    assert SECRET not in res.output and APIKEY not in res.output


async def test_html_instead_of_json() -> None:
    async with ApiServer() as srv:
        srv.faults["listZones"] = Fault(
            status=502, body="<html><body>Bad Gateway</body></html>", content_type="text/html"
        )
        res = await run_cli(
            "list", "zones",
            env={"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey,
                 "CSPCTL_SECRETKEY": srv.secretkey},
        )  # fmt: skip
    line = assert_one_clean_error_line(res)
    assert "listZones" in line and "502" in line
    assert srv.secretkey not in res.output


async def test_broken_toml() -> None:
    write(config_path(), "[defaults\nprofile = 'x'\n")
    res = await run_cli("list", "zones")
    line = assert_one_clean_error_line(res)
    assert res.returncode == 2
    assert f"cannot parse {config_path()}" in line and "line 1" in line


async def test_world_readable_config_warns_then_works() -> None:
    async with ApiServer() as srv:
        write(
            cmk_config_path(),
            f"profile = srv\n[srv]\nurl = {srv.url}\napikey = {srv.apikey}\n"
            f"secretkey = {srv.secretkey}\n",
            mode=0o644,
        )
        res = await run_cli("list", "zones")
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == (
        "cspctl: warning: ~/.cmk/config is readable by other users (mode 0644); "
        "run: chmod 600 ~/.cmk/config"
    )
    assert "zone1" in res.stdout


async def test_debug_shows_the_traceback() -> None:
    res = await run_cli("--debug", "--profile", "nosuch", "list", "zones")
    assert res.returncode != 0
    assert "Traceback" in res.stderr and "ConfigError" in res.stderr
