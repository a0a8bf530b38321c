"""The README's exit-code table, checked where no cloud is needed (issue 9, finding 14):
``--limit`` below 1 is a usage error, and ``ssh -- CMD`` keeps 0-254 for the remote command
(cspctl's own failures are 255, as OpenSSH's) while the other modes keep their codes."""

from __future__ import annotations

import re

import pytest

from tests.cli_helpers import assert_one_clean_error_line, run_cli

DOWN = {"CSPCTL_URL": "http://127.0.0.1:9/client/api", "CSPCTL_APIKEY": "k",
        "CSPCTL_SECRETKEY": "s", "CSPCTL_TIMEOUT": "3"}


@pytest.mark.parametrize("limit", ["0", "-1"])
async def test_limit_below_one_is_a_usage_error(limit: str) -> None:
    result = await run_cli("diagnose", "--all", f"--limit={limit}", env=DOWN)
    assert result.returncode == 2
    line = assert_one_clean_error_line(result)
    assert line == f"cspctl: --limit must be at least 1 (got {limit})"
    assert result.stdout == ""


def _timeless(line: str) -> str:
    """The message without its measured times (they differ run to run)."""
    return re.sub(r"\d+(\.\d+)? s\b", "N s", line)


async def test_ssh_command_mode_exits_255_for_cspctls_own_failures() -> None:
    # the API is down: a remote status could be anything, so cspctl's own failure is 255 ...
    remote, route, diagnose = (
        await run_cli("ssh", "v-2-VM", "--", "true", env=DOWN),
        await run_cli("ssh", "v-2-VM", "--print-route", env=DOWN),
        await run_cli("diagnose", "v-2-VM", env=DOWN),
    )
    assert remote.returncode == 255
    line = assert_one_clean_error_line(remote)
    # ... with the very message the other modes give (they keep 3: could not run)
    assert route.returncode == diagnose.returncode == 3
    same = [_timeless(assert_one_clean_error_line(r)) for r in (route, diagnose)]
    assert same == [_timeless(line)] * 2
    # a missing profile: 255 with -- CMD, the usual 2 without
    missing = await run_cli("--profile", "nope", "ssh", "v-2-VM", "--", "true")
    assert missing.returncode == 255 and "nope" in assert_one_clean_error_line(missing)
    missing = await run_cli("--profile", "nope", "ssh", "v-2-VM", "--print-route")
    assert missing.returncode == 2 and "nope" in assert_one_clean_error_line(missing)
    # a bad option of cspctl's own, before the command
    bad = await run_cli("ssh", "v-2-VM", "--timeout", "soon", "--", "true", env=DOWN)
    assert bad.returncode == 255 and "--timeout 'soon'" in assert_one_clean_error_line(bad)


def test_ssh_command_mode_internal_error_is_255(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An unexpected error inside cspctl under ``-- CMD`` is still cspctl's own failure: 255,
    one line (a remote status can be anything from 0 to 254); without ``--`` it stays 70."""
    from cspctl.cli import cmd_ssh
    from cspctl.cli.main import main

    async def broken(*_args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cmd_ssh, "_main", broken)
    for key, value in DOWN.items():
        monkeypatch.setenv(key, value)
    assert main(["ssh", "v-2-VM", "--", "true"]) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cspctl: internal error: boom"), err
    assert main(["ssh", "v-2-VM", "--print-route"]) == 70
