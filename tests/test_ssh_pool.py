"""SshPool against real OpenSSH sshd instances on loopback: routes, keys, reconnects, shells."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from cspctl.sessionlog import Journal
from cspctl.ssh import (
    CommandResult,
    Hop,
    HostKeyChanged,
    HostKeyQuestion,
    HostKeyStore,
    HostKeyUnknown,
    Route,
    SshAuthError,
    SshConnectionLost,
    SshPool,
    SshPortClosed,
    SshTimeout,
    direct_route,
    fingerprint,
)
from tests.sshd import SshdServer, free_port, keygen

pytestmark = pytest.mark.sshd


def vm_route(server: SshdServer, key: Path, vm_id: str = "vm-uuid-1", name: str = "v-1-VM"):
    return direct_route("127.0.0.1", server.port, "root", keys=(str(key),), vm_id=vm_id, name=name)


def jump_route(host: SshdServer, vm: SshdServer, key: Path, known_hosts: Path) -> Route:
    return Route(
        "vm-uuid-2",
        "v-2-VM",
        "linklocal",
        (
            Hop("host", "127.0.0.1", host.port, "root", name="kvm-01", hypervisor="KVM",
                keys=(str(key),), known_hosts=str(known_hosts)),
            Hop("systemvm", "127.0.0.1", vm.port, "root", name="v-2-VM", keys=(str(key),)),
        ),
    )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal" / "s.jsonl")


@pytest.fixture
def store(tmp_path: Path) -> HostKeyStore:
    return HostKeyStore(tmp_path / "known_systemvms.json")


async def test_direct_route_runs_command_and_journals(sshd, client_key, journal, store):
    async with SshPool(journal=journal, hostkeys=store, policy="accept-new") as pool:
        res = await pool.run(vm_route(sshd, client_key), "echo hello; echo oops >&2; exit 3")
    assert isinstance(res, CommandResult)
    assert (res.exit_status, res.stdout, res.stderr, res.ok) == (3, "hello\n", "oops\n", False)
    assert res.duration > 0
    ev = [e for e in journal.events() if e["event"] == "ssh.command"]
    assert len(ev) == 1
    assert ev[0]["exit_status"] == 3 and ev[0]["vm"] == "v-1-VM" and ev[0]["outcome"] == "failed"
    assert ev[0]["stdout"] == "hello\n" and f"127.0.0.1:{sshd.port}" in ev[0]["route"]


async def test_journal_output_is_truncated(sshd, client_key, journal, store):
    async with SshPool(journal=journal, hostkeys=store, policy="accept-new") as pool:
        res = await pool.run(vm_route(sshd, client_key), "head -c 20000 /dev/zero | tr '\\0' x")
    assert len(res.stdout) == 20000
    ev = next(e for e in journal.events() if e["event"] == "ssh.command")
    assert len(ev["stdout"]) < 4200 and "more characters not journaled" in ev["stdout"]


async def test_jump_through_host_to_systemvm(sshd, sshd2, client_key, tmp_path, store):
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    route = jump_route(sshd, sshd2, client_key, kh)
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        res = await pool.run(route, "echo via-jump")
        assert res.stdout == "via-jump\n"
        assert pool.connections_opened == 2
    assert sshd.accepted_count() == 1 and sshd2.accepted_count() == 1


async def test_host_hop_with_unknown_key_is_refused(sshd, sshd2, client_key, tmp_path, store):
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        with pytest.raises(HostKeyUnknown) as err:
            await pool.run(jump_route(sshd, sshd2, client_key, kh), "true")
    msg = str(err.value)
    assert "host kvm-01" in msg and "ssh-keyscan" in msg and str(sshd.port) in msg
    assert sshd.accepted_count() == 0


async def test_host_hop_without_known_hosts_file_is_refused(sshd, sshd2, client_key, tmp_path):
    async with SshPool(policy="accept-new") as pool:
        with pytest.raises(HostKeyUnknown, match="does not exist"):
            await pool.run(jump_route(sshd, sshd2, client_key, tmp_path / "nope"), "true")


async def test_first_contact_ask_without_callback_refuses(sshd, client_key, store, journal):
    async with SshPool(hostkeys=store, journal=journal) as pool:  # default policy: ask
        with pytest.raises(HostKeyUnknown) as err:
            await pool.run(vm_route(sshd, client_key), "true")
    msg = str(err.value)
    assert fingerprint(sshd.public_key) in msg
    assert "--accept-new-hostkey" in msg and "accept-new" in msg and "v-1-VM" in msg
    assert store.entries() == []
    assert sshd.accepted_count() == 0, "never authenticate to an unverified server"
    assert any(e["event"] == "ssh.hostkey" and e["action"] == "refused" for e in journal.events())


async def test_first_contact_ask_callback_accepts(sshd, client_key, store):
    asked: list[HostKeyQuestion] = []

    async def ask(q: HostKeyQuestion) -> bool:
        asked.append(q)
        return True

    async with SshPool(hostkeys=store, ask=ask) as pool:
        assert (await pool.run(vm_route(sshd, client_key), "echo ok")).stdout == "ok\n"
    assert len(asked) == 1
    q = asked[0]
    assert (q.vm_id, q.vm_name, q.reason) == ("vm-uuid-1", "v-1-VM", "new")
    assert q.fingerprint == fingerprint(sshd.public_key) and q.key_type == "ssh-ed25519"
    assert store.lookup("vm-uuid-1", f"[127.0.0.1]:{sshd.port}") is not None
    # known now: a new pool does not ask again
    async with SshPool(hostkeys=store, ask=ask) as pool:
        await pool.run(vm_route(sshd, client_key), "true")
    assert len(asked) == 1


async def test_first_contact_ask_callback_declines(sshd, client_key, store):
    async def ask(q: HostKeyQuestion) -> bool:
        return False

    async with SshPool(hostkeys=store, ask=ask) as pool:
        with pytest.raises(HostKeyUnknown, match="refused by the operator"):
            await pool.run(vm_route(sshd, client_key), "true")
    assert store.entries() == []


async def test_first_contact_strict_refuses_even_with_callback(sshd, client_key, store):
    async def ask(q: HostKeyQuestion) -> bool:
        raise AssertionError("strict never asks")

    async with SshPool(hostkeys=store, ask=ask, policy="strict") as pool:
        with pytest.raises(HostKeyUnknown, match="strict"):
            await pool.run(vm_route(sshd, client_key), "true")
    store.trust("vm-uuid-1", f"[127.0.0.1]:{sshd.port}", sshd.public_key, "v-1-VM")
    async with SshPool(hostkeys=store, policy="strict") as pool:
        assert (await pool.run(vm_route(sshd, client_key), "echo k")).stdout == "k\n"


async def test_accept_new_trusts_on_first_use(sshd, client_key, store):
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        await pool.run(vm_route(sshd, client_key), "true")
    (entry,) = store.entries()
    assert entry["vm_id"] == "vm-uuid-1" and entry["fingerprint"] == fingerprint(sshd.public_key)
    assert (store.path.stat().st_mode & 0o777) == 0o600


async def test_changed_key_is_refused_then_accepted(sshd, client_key, store, journal):
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        await pool.run(vm_route(sshd, client_key), "true")
    old_fp = fingerprint(sshd.public_key)
    sshd.restart(new_host_key=True)
    new_fp = fingerprint(sshd.public_key)
    assert old_fp != new_fp
    async with SshPool(hostkeys=store, policy="accept-new", journal=journal) as pool:
        with pytest.raises(HostKeyChanged) as err:
            await pool.run(vm_route(sshd, client_key), "true")
    msg = str(err.value)
    assert "CHANGED" in msg and old_fp in msg and new_fp in msg
    assert "--accept-changed-hostkey" in msg
    asked: list[HostKeyQuestion] = []

    async def ask(q: HostKeyQuestion) -> bool:
        asked.append(q)
        return True

    async with SshPool(hostkeys=store, ask=ask) as pool:
        await pool.run(vm_route(sshd, client_key), "true")
    assert asked[0].reason == "changed" and asked[0].previous_fingerprint == old_fp
    assert store.entries()[0]["fingerprint"] == new_fp


async def test_recreated_vm_on_same_address_is_first_contact(sshd, client_key, store):
    address = f"[127.0.0.1]:{sshd.port}"
    other = keygen(sshd.dir / "old_vm_key")
    store.trust("old-vm-id", address, Path(f"{other}.pub").read_text(), "v-2-VM")
    async with SshPool(hostkeys=store) as pool:
        with pytest.raises(HostKeyUnknown) as err:
            await pool.run(vm_route(sshd, client_key, "new-vm-id", "v-3-VM"), "true")
    msg = str(err.value)
    old_fp = fingerprint(Path(f"{other}.pub").read_text())
    assert f"{address} was v-2-VM (id old-vm-id, key {old_fp}), now v-3-VM" in msg
    assert "re-created VM has a new key" in msg
    async with SshPool(hostkeys=store, accept_new=True) as pool:
        await pool.run(vm_route(sshd, client_key, "new-vm-id", "v-3-VM"), "true")
    (entry,) = store.entries()
    assert entry["vm_id"] == "new-vm-id"


async def test_auth_failure_names_key_user_and_hop(sshd, tmp_path, store):
    stranger = keygen(tmp_path / "id_stranger")
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        with pytest.raises(SshAuthError) as err:
            await pool.run(vm_route(sshd, stranger), "true")
    msg = str(err.value)
    assert str(stranger) in msg and "user root" in msg and "v-1-VM" in msg
    assert err.value.exit_code != 0


async def test_port_closed_direct_and_through_tunnel(sshd, client_key, tmp_path, store):
    closed = free_port()
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        with pytest.raises(SshPortClosed, match=f"connection refused at .*{closed}"):
            await pool.run(
                direct_route("127.0.0.1", closed, keys=(str(client_key),), name="v-9-VM"), "true"
            )
        kh = tmp_path / "kh"
        kh.write_text(sshd.known_hosts_line())
        dead = SshdServer.__new__(SshdServer)
        dead.port = closed
        with pytest.raises(SshPortClosed, match="systemvm v-2-VM"):
            await pool.run(jump_route(sshd, dead, client_key, kh), "true")


async def test_command_timeout(sshd, client_key, store):
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        with pytest.raises(SshTimeout, match=r"did not finish within 0\.5s"):
            await pool.run(vm_route(sshd, client_key), "sleep 5", timeout=0.5)
        # the connection is still usable afterwards
        assert (await pool.run(vm_route(sshd, client_key), "echo again")).stdout == "again\n"


async def test_connect_timeout_names_the_hop(store, client_key):
    # a listener that never speaks SSH: the handshake times out
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with SshPool(hostkeys=store, policy="accept-new", connect_timeout=0.5) as pool:
            with pytest.raises(SshTimeout, match=r"timed out after 0\.5s connecting to systemvm"):
                await pool.run(direct_route("127.0.0.1", port, keys=(str(client_key),)), "true")
    finally:
        server.close()


async def test_dropped_connection_is_reopened_on_next_run(sshd, client_key, store, journal):
    route = vm_route(sshd, client_key)
    async with SshPool(hostkeys=store, policy="accept-new", journal=journal) as pool:
        assert (await pool.run(route, "echo one")).stdout == "one\n"
        assert sshd.kill_sessions() >= 1
        await asyncio.sleep(0.2)
        assert (await pool.run(route, "echo two")).stdout == "two\n"
        assert pool.connections_opened == 2
    assert sshd.accepted_count() == 2
    assert any(e["event"] == "ssh.reconnect" for e in journal.events())


async def test_killed_mid_command_reports_loss_then_recovers(sshd, client_key, store):
    route = vm_route(sshd, client_key)
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        await pool.run(route, "true")
        task = asyncio.create_task(pool.run(route, "sleep 10"))
        await asyncio.sleep(0.5)
        sshd.kill_sessions()
        with pytest.raises(SshConnectionLost) as err:
            await task
        assert isinstance(err.value, SshConnectionLost) and "re-opened" in str(err.value)
        assert (await pool.run(route, "echo back")).stdout == "back\n"


async def test_fifty_commands_use_one_connection(sshd, client_key, store):
    route = vm_route(sshd, client_key)
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        first = await asyncio.gather(*(pool.run(route, f"echo {i}") for i in range(25)))
        rest = [await pool.run(route, f"echo {i}") for i in range(25, 50)]
        assert [r.stdout for r in first + rest] == [f"{i}\n" for i in range(50)]
        assert pool.connections_opened == 1
    assert sshd.accepted_count() == 1


async def test_shell_session_pty_resize_and_cast(sshd, client_key, store, journal):
    async with SshPool(hostkeys=store, policy="accept-new", journal=journal) as pool:
        shell = await pool.open_shell(
            vm_route(sshd, client_key), term="vt100", cols=100, rows=30,
            command="stty -echo; echo TERM=$TERM; stty size; read -r s; stty size; "
            "echo got-${#s}; exit 7",
        )
        out = b""
        while b"30 100" not in out:
            out += await shell.read()
        shell.resize(120, 40)
        shell.write(b"hunter2-typed-secret\n")
        while chunk := await shell.read():
            out += chunk
        await shell.close()
    text = out.decode()
    assert "TERM=vt100" in text and "30 100" in text and "40 120" in text and "got-20" in text
    assert shell.exit_status == 7
    assert shell.cast_path is not None and shell.cast_path.parent == journal.directory / "casts"
    lines = shell.cast_path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and header["width"] == 100 and header["height"] == 30
    assert header["env"]["TERM"] == "vt100"
    events = [json.loads(x) for x in lines[1:]]
    assert all(isinstance(e[0], float | int) and e[1] in ("o", "r") for e in events)
    assert "got-20" in "".join(e[2] for e in events if e[1] == "o")
    assert [e[2] for e in events if e[1] == "r"] == ["120x40"]
    assert "hunter2" not in shell.cast_path.read_text(), "input is never recorded"
    shells = [e for e in journal.events() if e["event"] == "ssh.shell"]
    assert [e["action"] for e in shells] == ["start", "end"]
    assert shells[1]["exit_status"] == 7 and shells[0]["cast"] == str(shell.cast_path)


async def test_shell_and_commands_share_the_connection(sshd, client_key, store):
    route = vm_route(sshd, client_key)
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        await pool.run(route, "true")
        shell = await pool.open_shell(route, command="echo in-shell")
        data = b""
        while chunk := await shell.read():
            data += chunk
        assert b"in-shell" in data and shell.exit_status == 0
        await pool.run(route, "true")
        assert pool.connections_opened == 1


async def test_nested_mode_runs_ssh_on_the_host(sshd, sshd2, client_key, tmp_path, store):
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    route = Route(
        "vm-uuid-5",
        "v-5-VM",
        "nested",
        (
            Hop("host", "127.0.0.1", sshd.port, "root", name="kvm-01", hypervisor="KVM",
                keys=(str(client_key),), known_hosts=str(kh)),
            Hop("systemvm", "127.0.0.1", sshd2.port, "root", name="v-5-VM",
                remote_key=str(client_key)),
        ),
    )
    assert "nested ssh on the host" in route.describe()[1]
    async with SshPool(hostkeys=store) as pool:
        with pytest.raises(HostKeyUnknown, match="--accept-new-hostkey"):
            await pool.run(route, "true")
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        res = await pool.run(route, "echo \"nested $((6*7))\"; echo e >&2; exit 5")
        assert (res.exit_status, res.stdout, res.stderr) == (5, "nested 42\n", "e\n")
        res = await pool.run(route, "printf '%s' 'a b;c'")
        assert res.stdout == "a b;c"
        assert pool.connections_opened == 1  # one to the host; the host runs ssh
    assert store.lookup("vm-uuid-5", f"[127.0.0.1]:{sshd2.port}") is not None
    sshd2.restart(new_host_key=True)
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        with pytest.raises(HostKeyChanged):
            await pool.run(route, "true")


async def test_stdin_is_closed_input_is_sent_and_output_streams(sshd, client_key, store):
    route = vm_route(sshd, client_key)
    seen: list[tuple[str, str]] = []
    async with SshPool(hostkeys=store, policy="accept-new", command_timeout=10) as pool:
        # nothing waits on stdin: `cat` with no input ends at once
        assert (await pool.run(route, "cat; echo end")).stdout == "end\n"
        assert (await pool.run(route, "tr a-z A-Z", stdin_text="secret-ish\n")).stdout == (
            "SECRET-ISH\n"
        )
        res = await pool.run(route, "echo one; sleep 0.3; echo two >&2",
                             on_output=lambda s, t: seen.append((s, t)))
    assert res.stdout == "one\n" and res.stderr == "two\n"
    assert seen == [("stdout", "one\n"), ("stderr", "two\n")]


async def test_keepalive_detects_a_silent_peer(sshd, client_key, store, journal):
    import os
    import signal

    route = vm_route(sshd, client_key)
    async with SshPool(hostkeys=store, policy="accept-new", journal=journal,
                       keepalive_interval=0.2, keepalive_count_max=2) as pool:
        await pool.run(route, "true")
        assert pool.is_connected(route)
        pids = sshd.session_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)  # the peer goes silent, TCP stays up
        try:
            for _ in range(50):
                if not pool.is_connected(route):
                    break
                await asyncio.sleep(0.1)
            assert not pool.is_connected(route), "keepalive must notice the silent peer"
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
        assert (await pool.run(route, "echo fresh")).stdout == "fresh\n"
    connects = [e for e in journal.events() if e["event"] == "ssh.connect"]
    assert [e["outcome"] for e in connects] == ["ok", "ok"]


async def test_bastion_host_and_systemvm(tmp_path, client_key, store):
    servers = [SshdServer(tmp_path / n, [client_key]) for n in ("bastion", "host", "vm")]
    for s in servers:
        s.start()
    try:
        bastion, host, vm = servers
        kh = tmp_path / "kh"
        kh.write_text(bastion.known_hosts_line() + host.known_hosts_line())
        route = Route("vm-b", "v-7-VM", "linklocal", (
            Hop("bastion", "127.0.0.1", bastion.port, "root", keys=(str(client_key),),
                known_hosts=str(kh)),
            Hop("host", "127.0.0.1", host.port, "root", name="kvm-02", keys=(str(client_key),),
                known_hosts=str(kh)),
            Hop("systemvm", "127.0.0.1", vm.port, "root", name="v-7-VM", keys=(str(client_key),)),
        ))
        async with SshPool(hostkeys=store, policy="accept-new") as pool:
            results = await asyncio.gather(*(pool.run(route, "echo $((1+2))") for _ in range(5)))
            assert {r.stdout for r in results} == {"3\n"}
            assert pool.connections_opened == 3
        assert [s.accepted_count() for s in servers] == [1, 1, 1]
    finally:
        for s in servers:
            s.stop()


async def test_nested_mode_shell(sshd, sshd2, client_key, tmp_path, store):
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    route = Route("vm-n", "v-8-VM", "nested", (
        Hop("host", "127.0.0.1", sshd.port, "root", name="kvm-01", keys=(str(client_key),),
            known_hosts=str(kh)),
        Hop("systemvm", "127.0.0.1", sshd2.port, "root", name="v-8-VM",
            remote_key=str(client_key)),
    ))
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        shell = await pool.open_shell(route, command="tty >/dev/null && echo has-tty; exit 6")
        data = b""
        while chunk := await shell.read():
            data += chunk
        assert b"has-tty" in data and shell.exit_status == 6


async def test_broken_host_key_store_refuses_to_connect(sshd, client_key, tmp_path):
    from cspctl.ssh.errors import HostKeyError

    path = tmp_path / "broken.json"
    path.write_text("{oops")
    async with SshPool(hostkeys=HostKeyStore(path), policy="accept-new") as pool:
        with pytest.raises(HostKeyError, match="cannot read cspctl's system VM host keys"):
            await pool.run(vm_route(sshd, client_key), "true")
    assert sshd.accepted_count() == 0 and path.read_text() == "{oops"


async def test_session_limit_keeps_the_connection_and_its_shells(tmp_path, client_key, store):
    from cspctl.ssh import SshError

    server = SshdServer(tmp_path / "limited", [client_key], extra_config="MaxSessions 1")
    server.start()
    try:
        route = vm_route(server, client_key)
        async with SshPool(hostkeys=store, policy="accept-new") as pool:
            shell = await pool.open_shell(route, command="read -r x; echo got-$x")
            with pytest.raises(SshError, match="refused a new session"):
                await pool.run(route, "true")
            shell.write(b"still-alive\n")
            data = b""
            while chunk := await shell.read():
                data += chunk
            assert b"got-still-alive" in data, "the shell survived the refused channel"
            await shell.close()
            for _ in range(40):  # sshd frees the session slot shortly after the channel closes
                try:
                    res = await pool.run(route, "echo after")
                    break
                except SshError:
                    await asyncio.sleep(0.05)
            assert res.stdout == "after\n"
            assert pool.connections_opened == 1
    finally:
        server.stop()


async def test_secrets_in_output_never_reach_journal_or_cast(sshd, client_key, store, journal):
    journal.add_secret("api-secret-value-123")
    route = vm_route(sshd, client_key)
    line = "template=domP type=consoleproxy vmpassword=Sup3rS3cret name=v-1-VM"
    async with SshPool(hostkeys=store, policy="accept-new", journal=journal) as pool:
        res = await pool.run(route, f"echo '{line}'")
        assert res.stdout == line + "\n", "the caller gets the real output"
        shell = await pool.open_shell(route, command=f"echo '{line}'; echo api-secret-value-123")
        while await shell.read():
            pass
    text = journal.path.read_text() + shell.cast_path.read_text()
    assert "Sup3rS3cret" not in text and "api-secret-value-123" not in text
    assert "vmpassword=***" in journal.path.read_text()


def _host_route(host: SshdServer, vm: SshdServer, kh: Path, host_keys, vm_key: Path) -> Route:
    return Route("vm-a", "v-4-VM", "linklocal", (
        Hop("host", "127.0.0.1", host.port, "root", name="kvm-01", keys=host_keys,
            known_hosts=str(kh)),
        Hop("systemvm", "127.0.0.1", vm.port, "root", name="v-4-VM", keys=(str(vm_key),)),
    ))


async def test_host_hop_uses_ssh_config_identityfile(sshd, sshd2, client_key, tmp_path, store):
    from cspctl.config import Profile
    from cspctl.ssh.route import host_client_keys

    home = Path(os.environ["HOME"])
    (home / ".ssh").mkdir()
    (home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n    IdentityFile {client_key}\n")
    # the profile's management key is not the one the host accepts: ~/.ssh/config's is used
    profile = Profile(name="p", source=None, url="http://x", ssh_key=tmp_path / "nope")
    assert host_client_keys(profile) is None
    kh = tmp_path / "kh"
    kh.write_text(sshd.known_hosts_line())
    async with SshPool(hostkeys=store, policy="accept-new") as pool:
        res = await pool.run(_host_route(sshd, sshd2, kh, None, client_key), "echo cfg")
    assert res.stdout == "cfg\n"


async def test_host_hop_uses_ssh_agent(sshd, sshd2, client_key, tmp_path, store, monkeypatch):
    import subprocess

    from cspctl.config import Profile
    from cspctl.ssh.route import host_client_keys

    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            await asyncio.sleep(0.05)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        subprocess.run(["ssh-add", "-q", str(client_key)], check=True, timeout=10,
                       capture_output=True)
        assert host_client_keys(Profile(name="p", source=None, url="http://x")) is None
        kh = tmp_path / "kh"
        kh.write_text(sshd.known_hosts_line())
        async with SshPool(hostkeys=store, policy="accept-new") as pool:
            res = await pool.run(_host_route(sshd, sshd2, kh, None, client_key), "echo agent")
        assert res.stdout == "agent\n"
    finally:
        agent.terminate()
        agent.wait(10)
