"""The Session facade: profile -> journal (secrets registered) -> API client -> lazy SSH pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cspctl import __version__
from cspctl.config import Profile, save_profile
from cspctl.errors import ConfigError, CspctlError
from cspctl.session import Session
from cspctl.sessionlog import Journal
from tests.apiserver import ApiServer

PASSWORD = "pa ss+w/rd~"


def profile_for(srv: ApiServer, **kw) -> Profile:  # type: ignore[no-untyped-def]
    return Profile(name="t", source=None, url=srv.url, apikey=srv.apikey,
                   secretkey=srv.secretkey, **kw)  # fmt: skip


async def test_open_by_name_records_start_and_end_without_secrets() -> None:
    async with ApiServer() as srv:
        save_profile(profile_for(srv, read_only=True))
        async with Session.open("t") as s:
            assert s.read_only is True  # from the profile
            zones = await s.api.list_zones()
            s.journal.record("note", text=f"operator pasted {srv.secretkey} by mistake")
            path = s.journal.path
        assert [z.name for z in zones] == ["zone1"]
    text = path.read_text()
    assert srv.secretkey not in text and srv.apikey not in text
    events = [json.loads(line) for line in text.splitlines()]
    start, end = events[0], events[-1]
    assert start["event"] == "session.start"
    assert start["profile"] == "t" and start["url"] == srv.url
    assert start["read_only"] is True and start["version"] == __version__
    assert start["auth"] == "apikey"
    assert end["event"] == "session.end" and end["profile"] == "t"
    assert any("listZones" in json.dumps(e) for e in events)
    assert "***" in events[-2]["text"]


async def test_explicit_read_only_and_given_profile_and_journal(tmp_path: Path) -> None:
    async with ApiServer() as srv:
        journal = Journal(tmp_path / "mine.jsonl")
        s = Session.open(profile=profile_for(srv, read_only=True), read_only=False,
                         journal=journal)  # fmt: skip
        assert s.read_only is False  # the explicit argument wins over the profile
        assert s.journal is journal and s.profile.name == "t"
        assert (await s.api.version()) == "4.8.0"
        await s.aclose()
        await s.aclose()  # idempotent: one session.end
    names = [e["event"] for e in journal.events()]
    assert names[0] == "session.start" and names.count("session.end") == 1


async def test_password_profile_logs_out_on_close() -> None:
    async with ApiServer() as srv:
        p = Profile(name="pw", source=None, url=srv.url, username="admin", password=PASSWORD)
        async with Session.open(profile=p) as s:
            await s.api.list_zones()
            path = s.journal.path
        assert srv.commands() == ["login", "listZones", "logout"]
        assert srv.sessions == {}
    text = path.read_text()
    assert PASSWORD not in text
    assert not any(key in text for key in srv.requests[1].cookies.values())


def test_unknown_profile_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="no CloudStack profile configured"):
        Session.open("nosuch")


async def test_ssh_pool_is_created_lazily_and_closed() -> None:
    async with ApiServer() as srv:
        s = Session.open(profile=profile_for(srv))
        assert s.has_ssh is False
        pool = s.ssh
        assert s.ssh is pool and s.has_ssh is True
        from cspctl.ssh.pool import SshPool

        assert isinstance(pool, SshPool)
        await s.aclose()
    end = list(s.journal.events())[-1]
    assert end["event"] == "session.end" and "errors" not in end


def test_unwritable_state_dir_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("CSPCTL_STATE_DIR", str(blocker))
    p = Profile(
        name="x", source=None, url="http://127.0.0.1:9/client/api", apikey="k", secretkey="s"
    )
    with pytest.raises(CspctlError, match=r"cannot write the session journal .*CSPCTL_STATE_DIR"):
        Session.open(profile=p)
