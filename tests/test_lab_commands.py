"""The lab's userland is bounded: one registry, documented command by command, one parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cspctl.lab.vmos import HostOS, HostSpec, SystemVmOS, VmSpec
from cspctl.lab.vmos.registry import all_commands

DOC = Path(__file__).resolve().parent.parent / "docs" / "lab-commands.md"
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| ([^|]+) \| (.+) \|$")


class Clock:
    def now(self) -> float:
        return 1_778_564_000.0


def _doc_rows() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} listed twice"
            rows[m.group(1)] = (m.group(2), m.group(4).strip())
    return rows


def test_registry_and_docs_table_list_the_same_commands() -> None:
    rows = _doc_rows()
    registry = all_commands()
    assert sorted(rows) == sorted(registry)
    for name, (path, why) in rows.items():
        assert path == registry[name].path, name
        assert len(why) > 10, f"{name}: say which check, playbook or habit needs it"


def test_machines_answer_exactly_the_registered_commands() -> None:
    vm = SystemVmOS(VmSpec("v-2-VM"), Clock())
    vm.boot()
    new = SystemVmOS(VmSpec("v-3-VM", era="systemd", cloudstack_version="4.18.1.0"), Clock())
    host = HostOS(HostSpec("kvm01", "127.0.1.11"), Clock())
    registry = set(all_commands())
    assert set(vm.commands) | set(new.commands) | set(host.commands) == registry
    assert "systemctl" in new.commands and "systemctl" not in vm.commands
    assert "virsh" in host.commands and "virsh" not in vm.commands
    for name in ("awk", "xargs", "telnet", "sort"):  # nothing needs them: not there
        res = vm.execute(f"{name} x")
        assert (res.stderr, res.status) == (f"bash: {name}: command not found\n", 127)
    assert vm.execute("which ls").status == 127


@pytest.mark.parametrize("line, err, status", [
    ("ls -y /", "ls: invalid option -- 'y'\nTry 'ls --help' for more information.\n", 2),
    ("grep --nope x /etc/hostname",
     "grep: unrecognized option '--nope'\nTry 'grep --help' for more information.\n", 2),
    ("tail -n", "tail: option requires an argument -- 'n'\n"
                "Try 'tail --help' for more information.\n", 1),
    ("df -Z", "df: invalid option -- 'Z'\nTry 'df --help' for more information.\n", 1),
])
def test_bad_options_get_gnu_usage_errors(line: str, err: str, status: int) -> None:
    vm = SystemVmOS(VmSpec("v-2-VM"), Clock())
    vm.boot()
    res = vm.execute(line)
    assert (res.stdout, res.stderr, res.status) == ("", err, status)


def test_one_parser_reads_options_anywhere_and_old_spellings() -> None:
    vm = SystemVmOS(VmSpec("v-2-VM"), Clock())
    vm.boot()
    assert vm.execute("tail /etc/resolv.conf -n 1").stdout == "nameserver 8.8.8.8\n"
    assert vm.execute("head -1 /etc/resolv.conf").stdout == "nameserver 10.1.1.2\n"
    assert vm.execute("timeout 5 ls -d /tmp").stdout == "/tmp\n"  # options stop at `5`
