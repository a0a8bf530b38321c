"""The checks' parsers against output captured live from real tools on this machine.

The lab prints what it was written to print; these tests prove each parser on what iproute2,
procps, coreutils, e2fsprogs, the kernel's /proc and the init system really print, with a
state the test created itself (a socket it listens on, a process whose working directory it
deleted). Each test name says which real output it proves the parser on. The last tests run
whole checks over a real OpenSSH sshd (tests/sshd.py) against real processes and ports.

CI installs the tools (scripts/test, .ci/run: iproute2, procps, e2fsprogs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cspctl.cloudstack.models import SystemVm
from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import by_id, facts
from cspctl.diagnostics.checks.probe import tcp_commands
from cspctl.diagnostics.context import CheckContext, RunCache, VmState
from cspctl.diagnostics.model import Finding, Status
from cspctl.ssh import HostKeyStore, SshPool, direct_route
from tests.sshd import SshdServer


def sh(command: str, *, env: dict[str, str] | None = None, cwd: Path | None = None
       ) -> subprocess.CompletedProcess[str]:
    """Run a real command line (bash, as the SSH server would) and capture its output."""
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: the real-userland tests need it (scripts/test "
                    "installs it as root)", pytrace=False)


@contextlib.contextmanager
def listener() -> Iterator[socket.socket]:
    """A TCP socket really listening on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    try:
        yield sock
    finally:
        sock.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # released on close: nothing listens there


@contextlib.contextmanager
def process_in_deleted_dir(tmp_path: Path, name: str = "java") -> Iterator[tuple[int, Path]]:
    """A process named ``name`` whose working directory was removed after it started."""
    need("sleep")
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    exe = bindir / name
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    cwd = tmp_path / "systemvm"
    cwd.mkdir()
    proc = subprocess.Popen([str(exe), "300"], cwd=cwd)
    try:
        cwd.rmdir()  # what cloud-early-config's rm -rf does under the running agent
        yield proc.pid, cwd
    finally:
        proc.kill()
        proc.wait(10)


# ---- parsers on live tool output ----------------------------------------------------------------
def test_ss_ltn_iproute2_listening_port_found_closed_port_absent() -> None:
    need("ss")
    with listener() as sock:
        port = sock.getsockname()[1]
        closed = closed_port()
        for command in ("ss -ltn", "ss -ltnp", "ss -ln", "ss -ltnH"):
            out = sh(command).stdout
            ports = parse.parse_listening_ports(out)
            assert port in ports, (command, out)
            assert closed not in ports, (command, out)


def test_ss_tn_iproute2_established_connection_to_a_port() -> None:
    need("ss")
    with listener() as sock:
        port = sock.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        server, _ = sock.accept()
        try:
            out = sh("ss -tn").stdout
            conns = parse.established_to(out, port)
            assert [c.peer_host for c in conns] == ["127.0.0.1"], out
            assert conns[0].local_port == client.getsockname()[1]
            assert parse.established_to(out, closed_port()) == []
        finally:
            client.close()
            server.close()


def test_netstat_net_tools_listening_port_when_installed() -> None:
    """netstat is the fallback probe; where net-tools is installed its output must parse."""
    with listener() as sock:
        port = sock.getsockname()[1]
        result = sh("netstat -ltn")
        if result.returncode == 127:
            assert "netstat" in result.stderr  # not installed: the probe would fall back
            return
        assert port in parse.parse_listening_ports(result.stdout), result.stdout


def test_ps_lstart_procps_start_time_of_a_new_process(tmp_path: Path) -> None:
    need("ps")
    proc = subprocess.Popen(["sleep", "30"])
    try:
        out = sh(f"ps -o pid,lstart,args -p {proc.pid}").stdout
        started = parse.parse_ps_lstart(out, proc.pid)
        assert started is not None, out
        assert abs((datetime.now() - started).total_seconds()) < 10, out
        assert parse.parse_ps_lstart(out, proc.pid + 100000) is None
    finally:
        proc.kill()
        proc.wait(10)


def test_df_P_coreutils_root_filesystem_matches_statvfs() -> None:
    need("df")
    out = sh("df -P /").stdout
    rows = parse.parse_df(out)
    assert len(rows) == 1, out
    st = os.statvfs("/")
    size_kb = st.f_blocks * st.f_frsize // 1024
    assert abs(rows[0].size_kb - size_kb) <= max(1024, size_kb // 100), (rows, size_kb)
    assert 0 <= rows[0].percent <= 100
    assert rows[0].mount == "/"
    every = parse.parse_df(sh("df -P").stdout)
    assert any(r.mount == "/" for r in every)


def test_free_m_procps_total_matches_proc_meminfo() -> None:
    need("free")
    mem = parse.parse_free(sh("free -m").stdout)
    assert mem is not None
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(next(ln for ln in meminfo.splitlines()
                        if ln.startswith("MemTotal:")).split()[1])
    assert abs(mem.total_mb - total_kb // 1024) <= 2, (mem, total_kb)
    assert 0 < mem.available_mb <= mem.total_mb


def test_date_coreutils_gmt_and_utc_share_an_offset_jst_does_not() -> None:
    # POSIX TZ strings: no tzdata needed; GMT and UTC are the same zone under two names
    zones = {tz: parse.parse_tz_offset(sh("date '+%z %Z'", env={"TZ": tz}).stdout)
             for tz in ("GMT0", "UTC0", "JST-9")}
    gmt, utc, jst = zones["GMT0"], zones["UTC0"], zones["JST-9"]
    assert gmt is not None and utc is not None and jst is not None, zones
    assert (gmt.offset, gmt.name, utc.offset, utc.name) == ("+0000", "GMT", "+0000", "UTC")
    assert (jst.offset, jst.name) == ("+0900", "JST")
    epoch = parse.parse_epoch(sh("date -u +%s").stdout)
    assert epoch is not None and abs(epoch - time.time()) < 5


def test_lsattr_e2fsprogs_immutable_flag_set_by_chattr(tmp_path: Path) -> None:
    need("lsattr")
    need("chattr")
    target = tmp_path / "images"
    target.mkdir()
    before = parse.parse_lsattr(sh(f"lsattr -d {target}").stdout)
    locked = sh(f"chattr +i {target}")
    try:
        after = sh(f"lsattr -d {target}")
    finally:
        sh(f"chattr -i {target}")
    if locked.returncode == 0:
        assert before and not parse.immutable(before[str(target)]), before
        flags = parse.parse_lsattr(after.stdout)
        assert parse.immutable(flags[str(target)]), after.stdout
    else:  # a file system without attributes (tmpfs, overlay) or no CAP_LINUX_IMMUTABLE
        assert "chattr" in locked.stderr
        assert not any(parse.immutable(f) for f in parse.parse_lsattr(after.stdout).values())


def test_ls_l_proc_cwd_kernel_marks_a_really_deleted_directory(tmp_path: Path) -> None:
    with process_in_deleted_dir(tmp_path, "sleeper") as (pid, cwd):
        for command in (f"ls -l /proc/{pid}/cwd", f"readlink /proc/{pid}/cwd",
                        f"pwdx {pid}"):
            result = sh(command)
            if result.returncode == 127:  # pwdx comes with procps
                pytest.fail(f"{command}: not installed ({result.stderr.strip()})")
            assert parse.parse_cwd(result.stdout) == parse.Cwd(str(cwd), True), (command,
                                                                                   result.stdout)
    alive = sh(f"ls -l /proc/{os.getpid()}/cwd").stdout
    assert parse.parse_cwd(alive) == parse.Cwd(os.getcwd(), False)


def test_ls_l_coreutils_sizes_of_a_file_an_empty_file_and_a_missing_one(tmp_path: Path) -> None:
    full, empty = tmp_path / "cloud.jks", tmp_path / "cloud.ca.crt"
    full.write_bytes(b"x" * 2210)
    empty.write_bytes(b"")
    for command in (f"ls -l {full} {empty} {tmp_path}/missing",
                    f"ls -l --time-style=long-iso {full} {empty}"):
        sizes = parse.parse_ls_sizes(sh(command).stdout)
        assert sizes == {str(full): 2210, str(empty): 0}, (command, sizes)


def test_service_status_real_init_system_answer_matches_its_exit_code() -> None:
    """systemctl where systemd runs, else the sysvinit/LSB script of a service that exists."""
    if Path("/run/systemd/system").is_dir():
        result = sh("systemctl is-active systemd-journald")
    elif shutil.which("service") and Path("/etc/init.d/ssh").exists():
        result = sh("service ssh status")
    else:
        pytest.fail("neither systemd nor a sysvinit ssh script here (install openssh-server)")
    state = parse.parse_service_status(result.stdout + result.stderr, result.returncode)
    # LSB: status exits 0 when running, 3 (or another non-zero) when not
    assert state.running == (result.returncode == 0), (result.stdout, result.returncode)
    assert result.stdout.strip(), "the init system said nothing"


def test_tcp_probe_fallbacks_real_shell_open_and_closed_port() -> None:
    """nc, socat or bash's /dev/tcp: the first one installed answers, and answers right."""
    with listener() as sock:
        port = sock.getsockname()[1]
        for address, want in ((port, 0), (closed_port(), None)):
            results = [(c, sh(c)) for c in tcp_commands("127.0.0.1", address, 2)]
            answered = [(c, r) for c, r in results if r.returncode != 127]
            assert answered, [(c, r.stderr) for c, r in results]
            command, result = answered[0]
            if want == 0:
                assert result.returncode == 0, (command, result.stderr)
            else:
                assert result.returncode not in (0, 127), (command, result.stderr)


# ---- whole checks over a real sshd, against real processes and ports ----------------------------
@pytest.fixture
async def real_vm(sshd: SshdServer, client_key: Path, tmp_path: Path) -> Any:
    """A VmState whose route is the real sshd on this machine (the 'system VM' is this box)."""
    vm = SystemVm(id="vm-real-1", name="v-1-VM", systemvmtype="consoleproxy", state="Running")
    route = direct_route("127.0.0.1", sshd.port, "root", keys=(str(client_key),),
                         vm_id=vm.id, name=vm.name)
    async with SshPool(hostkeys=HostKeyStore(tmp_path / "known.json"),
                       policy="accept-new") as pool:
        yield vm, route, pool


def real_ctx(check_id: str, real_vm: Any, known: dict[str, Any] | None = None
             ) -> CheckContext:
    vm, route, pool = real_vm
    state = VmState(vm=vm, route=route, host_ssh_error="no host hop on this route")
    for key, value in (known or {}).items():  # what boot-params would have read from cmdline
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result((value, []))
        state.facts[key] = fut
    return CheckContext(by_id(check_id), state, api=None, ssh=pool,  # type: ignore[arg-type]
                        profile=None, cache=RunCache(), timeout=20)


async def run_check(check_id: str, real_vm: Any, known: dict[str, Any] | None = None
                    ) -> Finding:
    return await by_id(check_id).run(real_ctx(check_id, real_vm, known))


@pytest.mark.sshd
async def test_java_cwd_check_over_real_sshd_finds_a_really_deleted_cwd(
    real_vm: Any, tmp_path: Path
) -> None:
    with process_in_deleted_dir(tmp_path, "java") as (pid, cwd):
        finding = await run_check("java-cwd", real_vm)
    assert finding.status is Status.FAIL, finding
    assert f"{cwd} (deleted)" in finding.summary
    assert finding.playbook == "protect-assets"
    assert any(e.command == f"ls -l /proc/{pid}/cwd" and "(deleted)" in e.output
               for e in finding.evidence), finding.evidence


@pytest.mark.sshd
async def test_mgmt_connect_check_over_real_sshd_port_listening_or_not(real_vm: Any) -> None:
    with listener() as sock:
        port = sock.getsockname()[1]
        up = await run_check("mgmt-connect", real_vm,
                             {"cmdline": {"host": "127.0.0.1", "port": str(port)}})
        down = await run_check("mgmt-connect", real_vm,
                               {"cmdline": {"host": "127.0.0.1", "port": str(closed_port())}})
    assert up.status is Status.OK, up
    assert down.status is Status.FAIL, down
    assert "cannot connect to 127.0.0.1" in down.summary
    # whichever probe this userland has, a missing nc was never taken for a closed port
    assert all(e.exit_status != 127 for e in up.evidence[-1:]), up.evidence


@pytest.mark.sshd
async def test_resource_and_port_checks_over_real_sshd_read_real_tools(real_vm: Any) -> None:
    disk = await run_check("disk", real_vm)
    memory = await run_check("memory", real_vm)
    assert disk.status in (Status.OK, Status.WARN, Status.FAIL), disk
    assert "% used" in disk.summary
    assert memory.status is not Status.ERROR and "MB available" in memory.summary, memory
    with listener() as sock:
        port = sock.getsockname()[1]
        ctx = real_ctx("ssvm-ports", real_vm)
        listening = await facts.listening_ports(ctx)
        ports = await by_id("ssvm-ports").run(ctx)
    assert port in listening and closed_port() not in listening
    assert ports.status in (Status.OK, Status.WARN), ports
    assert ports.evidence[0].command in ("ss -ltn", "netstat -ltn")


async def test_missing_tool_is_could_not_check_not_a_failure(real_vm: Any) -> None:
    """On a userland without lsattr the step is an error with the tool's name (PATH emptied)."""
    vm, route, pool = real_vm
    ctx_state = VmState(vm=vm, route=route)
    check = by_id("asset-protection")
    ctx = CheckContext(check, ctx_state, api=None, ssh=pool,  # type: ignore[arg-type]
                       profile=None, cache=RunCache(), timeout=20)
    original = ctx.vm_run

    async def without_tools(command: str, **kw: Any) -> Any:
        return await original(f"PATH=/nonexistent {command}", **kw)

    ctx.vm_run = without_tools  # type: ignore[method-assign]
    finding = await check.run(ctx)
    assert finding.status is Status.ERROR, finding
    assert finding.summary == "could not check: lsattr not installed on the VM"
    assert finding.evidence[-1].exit_status == 127
