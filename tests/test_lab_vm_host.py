"""The simulated KVM host: its clock and zone, virsh, and the nested ssh into its system VMs."""

from __future__ import annotations

import datetime as dt

from cspctl.lab.vmos import HostOS, HostSpec, SystemVmOS, VmFault, VmSpec
from cspctl.lab.vmos.shparse import expand_braces, tokenize, unprotect

T0 = dt.datetime(2026, 5, 12, 5, 33, 7, tzinfo=dt.UTC).timestamp()


class FixedClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


def make_host() -> tuple[HostOS, SystemVmOS]:
    clock = FixedClock()
    vm = SystemVmOS(VmSpec("v-2-VM", linklocal_ip="169.254.3.93",
                           faults=frozenset({VmFault.EARLY_CONFIG_RERUN})), clock)
    vm.boot(ago=3600)
    host = HostOS(HostSpec("kvm01", "127.0.1.11"), clock, lambda: [("169.254.3.93", vm)])
    return host, vm


def test_host_clock_in_jst_and_identity() -> None:
    host, _ = make_host()
    assert host.execute("date +%Z").stdout == "JST\n"
    assert host.execute("date").stdout == "Tue May 12 14:33:07 JST 2026\n"
    assert host.execute("date -u +%s").stdout == f"{int(T0)}\n"
    assert host.execute("hostname").stdout == "kvm01\n"
    assert host.execute("uname -r").stdout == "3.10.0-1160.el7.x86_64\n"


def test_virsh_and_qemu_processes() -> None:
    host, vm = make_host()
    assert host.execute("virsh list").stdout == (
        " Id    Name                           State\n"
        "----------------------------------------------------\n"
        " 1     v-2-VM                         running\n\n")
    assert host.execute("pgrep -l qemu").stdout.endswith(" qemu-kvm\n")
    vm.shutdown()
    assert "v-2-VM" not in host.execute("virsh list").stdout
    assert "shut off" in host.execute("virsh list --all").stdout
    assert host.execute("pgrep qemu").status == 1


def test_nested_ssh_runs_in_the_vm_model() -> None:
    host, _ = make_host()
    key = "-i /root/.ssh/id_rsa.cloud -p 3922"
    res = host.execute(f"ssh {key} root@169.254.3.93 pgrep java")
    assert (res.stdout, res.status) == ("2345\n", 0)
    res = host.execute(f"ssh {key} -o StrictHostKeyChecking=no root@169.254.3.93 "
                       "'ls -l /proc/2345 | grep cwd'")
    assert res.stdout.endswith("cwd -> /usr/local/cloud/systemvm (deleted)\n")
    assert host.execute(f"ssh {key} root@169.254.3.93 nosuch").status == 127
    denied = host.execute("ssh -p 3922 root@169.254.3.93 true")
    assert denied.status == 255 and "Permission denied (publickey)" in denied.stderr
    other = host.execute(f"ssh {key} root@169.254.9.9 true")
    assert other.status == 255 and "Connection timed out" in other.stderr
    assert host.execute("nosuch").status == 127


def test_tokenizer_and_brace_expansion() -> None:
    tokens = tokenize("a 'b|c' && d || e; f | g")
    assert [unprotect(t) for t in tokens] == ["a", "b|c", "&&", "d", "||", "e", ";", "f", "|",
                                              "g"]
    assert tokens[1] != "b|c"  # the quoted | is not an operator
    assert expand_braces("/x/{images,js,css}") == ["/x/images", "/x/js", "/x/css"]
    assert expand_braces("f{1..3}") == ["f1", "f2", "f3"]
    assert expand_braces("%{http_code}") == ["%{http_code}"]
    assert expand_braces("a{b,{c,d}}e") == ["abe", "ace", "ade"]
