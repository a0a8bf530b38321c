"""``cspctl lab scenarios`` / ``cspctl lab serve`` as an operator runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from test_lab_cs_client import start_serve, stop_serve

from cspctl.lab.scenarios import SCENARIOS


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cspctl", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_scenarios_one_line_each_seed_first() -> None:
    proc = run_cli("lab", "scenarios")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    assert lines[0].startswith("seed")
    for name in ("healthy", "mgmt-port-blocked", "clock-drift", "disk-full",
                 "template-mismatch", "cert-expired", "ssvm-storage", "large"):
        assert name in SCENARIOS


def test_unknown_scenario_is_a_one_line_usage_error() -> None:
    proc = run_cli("lab", "serve", "--scenario", "nope")
    assert proc.returncode == 2
    assert proc.stderr.startswith("cspctl: unknown lab scenario 'nope'")
    assert "Traceback" not in proc.stderr


def test_serve_prints_profile_saves_it_and_exits_cleanly(tmp_path: Path) -> None:
    proc, info = start_serve(tmp_path, "--scenario", "healthy")
    try:
        listed = run_cli("--profile", "lab", "list", "systemvms", "--json")
        assert listed.returncode == 0, listed.stderr
        names = sorted(vm["name"] for vm in json.loads(listed.stdout))
        assert names == ["s-1-VM", "v-2-VM"]
        from cspctl.config import load_profile

        profile = load_profile("lab")
        assert profile.is_lab and profile.url == info["url"]
        assert profile.ssh_key == Path(info["ssh_key"])
        assert profile.host_key_policy == "ask"
    finally:
        code, out, err = stop_serve(proc, signal.SIGTERM)
    assert code == 0, err
    assert "[lab]" in out and f"url       = {info['url']}" in out
    assert f"ssh key   : {info['ssh_key']}" in out
    assert "Traceback" not in err


def test_serve_refuses_a_busy_port(tmp_path: Path) -> None:
    proc, info = start_serve(tmp_path, "--no-save")
    try:
        port = info["url"].split(":")[2].split("/")[0]
        busy = run_cli("lab", "serve", "--no-save", "--port", port)
        assert busy.returncode == 1
        assert busy.stderr.startswith("cspctl: lab: cannot start the seed lab")
        assert "Traceback" not in busy.stderr
    finally:
        code, _out, err = stop_serve(proc)
        assert code == 0, err



def test_printed_openssh_command_reaches_the_system_vm(tmp_path: Path) -> None:
    """The 'try' line is a working plain-OpenSSH command (host hop + link-local VM)."""
    import shlex

    proc, _info = start_serve(tmp_path, "--no-save")
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = proc.stdout.readline()
            assert line, "lab serve closed its output"
            lines.append(line.rstrip("\n"))
        try_line = next(ln for ln in lines if ln.startswith("try ("))
        argv = shlex.split(try_line.split(": ", 1)[1])
        assert argv[0] == "ssh"
        ran = subprocess.run([argv[0], "-o", "BatchMode=yes", *argv[1:], "pgrep java"],
                             capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip().isdigit()
    finally:
        code, _out, err = stop_serve(proc)
    assert code == 0, err


def test_serve_with_injected_faults(tmp_path: Path) -> None:
    import cs
    import pytest

    bad = run_cli("lab", "serve", "--fault", "nope=1")
    assert bad.returncode == 2 and bad.stderr.startswith("cspctl: --fault 'nope=1'")
    proc, info = start_serve(tmp_path, "--no-save", "--fault", "api_error_rate=1")
    try:
        api = cs.CloudStack(endpoint=info["url"], key=info["apikey"], secret=info["secretkey"])
        with pytest.raises(cs.CloudStackApiException) as exc:
            api.listZones()
        assert exc.value.error["errorcode"] == 530
    finally:
        code, _out, err = stop_serve(proc)
    assert code == 0, err


def test_two_serves_keep_their_own_keys_and_never_touch_the_operators(tmp_path: Path) -> None:
    """Each `lab serve` trusts its VMs in its own state directory: the operator's
    known_systemvms.json (with a real VM at the lab's link-local address) and
    ~/.ssh/known_hosts stay byte-identical, and a second lab does not break the first."""
    import base64
    import os
    import shlex

    from cspctl.lab.clock import LabClock
    from cspctl.lab.faults import Faults
    from cspctl.lab.scenarios import build_world
    from cspctl.ssh.hostkeys import HostKeyStore

    cpvm = next(vm for vm in build_world("seed", LabClock(1.0), Faults()).live_vms()
                if vm.name == "v-2-VM")
    operator_store = HostKeyStore()  # the operator's, in CSPCTL_CONFIG_DIR
    real_key = "ssh-ed25519 " + base64.b64encode(b"a real cloud's CPVM key".ljust(51)).decode()
    operator_store.trust("real-cloud-vm", cpvm.linklocalip, real_key, "v-9-VM")
    known_hosts = Path(os.environ["HOME"]) / ".ssh" / "known_hosts"
    known_hosts.parent.mkdir()
    known_hosts.write_text("jump.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJump\n")
    before = {p: p.read_bytes() for p in (operator_store.path, known_hosts)}

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, info_a = start_serve(tmp_path / "a", "--profile-name", "laba")
    try:
        second, info_b = start_serve(tmp_path / "b", "--profile-name", "labb")
        try:
            assert info_a["known_hosts"] != info_b["known_hosts"]
            assert info_a["host_keys"] != info_b["host_keys"]
            for info in (info_a, info_b):
                assert Path(info["host_keys"]).parent == Path(info["state_dir"])
                assert Path(info["known_hosts"]).parent == Path(info["state_dir"])
            for name in ("laba", "labb"):  # both labs answer, on their own trusted keys
                ran = run_cli("--profile", name, "ssh", "v-2-VM", "--", "echo", name)
                assert (ran.returncode, ran.stdout) == (0, f"{name}\n"), ran.stderr
            # plain OpenSSH with the first lab's printed command still reaches its VM
            assert first.stdout is not None
            lines: list[str] = []
            while not lines or not lines[-1].startswith("Press Ctrl-C"):
                line = first.stdout.readline()
                assert line, "lab serve closed its output"
                lines.append(line.rstrip("\n"))
            try_line = next(ln for ln in lines if ln.startswith("try ("))
            assert f"UserKnownHostsFile={info_a['known_hosts']}" in try_line
            argv = shlex.split(try_line.split(": ", 1)[1])
            ran = subprocess.run([argv[0], "-o", "BatchMode=yes", *argv[1:], "echo reached"],
                                 capture_output=True, text=True, timeout=60)
            assert (ran.returncode, ran.stdout) == (0, "reached\n"), ran.stderr
        finally:
            code, _out, err = stop_serve(second)
            assert code == 0, err
    finally:
        code, _out, err = stop_serve(first)
        assert code == 0, err
    assert {p: p.read_bytes() for p in before} == before
    assert not Path(info_a["state_dir"]).exists() and not Path(info_b["state_dir"]).exists()
