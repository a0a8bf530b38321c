"""Commands only a KVM host has: virsh (list, domstate) and the nested
`ssh -i /root/.ssh/id_rsa.cloud -p 3922 root@169.254.x.x CMD` into its system VMs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .options import parse_options
from .registry import HOST, command
from .shell import Ctx

if TYPE_CHECKING:
    from .host import HostOS

CLOUD_KEY = "/root/.ssh/id_rsa.cloud"
SSH_OPTIONS = "46AaCfGgKkMNnqsTtVvXxYyB:b:c:D:E:e:F:I:i:J:L:l:m:O:o:p:Q:R:S:W:w:"
"""OpenSSH 9 client options (those with a value take one word)."""


def _host(ctx: Ctx) -> HostOS:
    from .host import HostOS

    assert isinstance(ctx.os, HostOS)
    return ctx.os


@command("virsh", directory="/usr/sbin", needs=[HOST])
def cmd_virsh(ctx: Ctx, args: list[str]) -> int:
    host = _host(ctx)
    o = parse_options(ctx, "virsh", args[1:], "c:qr", ("all", "inactive", "name", "uuid",
                                                       "connect=", "quiet", "readonly"))
    if o is None:
        return 1
    sub = o.operands
    if sub and sub[0] == "domstate":
        return _virsh_domstate(host, ctx, sub[1:])
    if not sub or sub[0] != "list":
        ctx.err(f"error: unknown command: '{sub[0] if sub else ''}'\n")
        return 1
    show_all = o.has("all")
    rows = []
    for i, (name, _ip, vm) in enumerate(host.vm_list(), 1):
        running = vm.running
        if running or show_all:
            rows.append((str(i) if running else "-", name, "running" if running else
                         "shut off"))
    if host.spec.distro.startswith("ubuntu"):
        w = max([4, *(len(r[1]) for r in rows)])
        ctx.out(f" Id   {'Name':<{w}}   State\n" + "-" * (w + 16) + "\n")
        ctx.out("".join(f" {i:<4} {n:<{w}}   {s}\n" for i, n, s in rows) + "\n")
    else:
        ctx.out(" Id    Name                           State\n"
                "----------------------------------------------------\n")
        ctx.out("".join(f" {i:<5} {n:<30} {s}\n" for i, n, s in rows) + "\n")
    return 0


def _virsh_domstate(host: HostOS, ctx: Ctx, names: list[str]) -> int:
    """``virsh domstate NAME``: running / shut off (libvirt keeps a stopped VM defined)."""
    if not names:
        ctx.err("error: command 'domstate' requires <domain> option\n")
        return 1
    for name, _ip, vm in host.vm_list():
        if name == names[0]:
            ctx.out(("running" if vm.running else "shut off") + "\n\n")
            return 0
    ctx.err(f"error: failed to get domain '{names[0]}'\n")
    return 1


@command("ssh", directory="/usr/bin", needs=[HOST])
def cmd_ssh(ctx: Ctx, args: list[str]) -> int:
    machine = _host(ctx)
    o = parse_options(ctx, "ssh", args[1:], SSH_OPTIONS, posix=True)
    if o is None:
        return 255
    port = int(o.last("p") or 22)
    key = o.last("i")
    user = o.last("l") or "root"
    strict_no = any(v.replace(" ", "").lower().startswith("stricthostkeychecking=no")
                    for v in o.get("o"))
    dest = o.operands[0] if o.operands else None
    words = o.operands[1:]
    if dest is None:
        ctx.err("usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]\n"
                "           [-b bind_address] [-c cipher_spec] [-D [bind_address:]port]\n"
                "           destination [command [argument ...]]\n")
        return 255
    if "@" in dest:
        user, host = dest.split("@", 1)
    else:
        host = dest
    ip = machine.resolve(host)
    if ip is None:
        ctx.err(f"ssh: Could not resolve hostname {host}: Name or service not known\r\n")
        return 255
    found = machine.vm_by_ip(ip)
    if found is None or port != 3922 or not found[1].running:
        res = machine.tcp_connect(ip, port)
        if res == "timeout":
            ctx.duration += 130
            ctx.err(f"ssh: connect to host {host} port {port}: Connection timed out\r\n")
        else:
            ctx.err(f"ssh: connect to host {host} port {port}: Connection refused\r\n")
        return 255
    if key is None or ctx.abspath(key) != CLOUD_KEY or user != "root":
        if key is not None and not machine.fs.exists(ctx.abspath(key)):
            ctx.err(f"Warning: Identity file {key} not accessible: No such file or "
                    "directory.\n")
        ctx.err(f"{user}@{host}: Permission denied (publickey).\r\n")
        return 255
    if strict_no:
        ctx.err(f"Warning: Permanently added '[{host}]:{port}' (ECDSA) to the list of known "
                "hosts.\r\n")
    if not words:
        if ctx.shell.term_cols is not None:
            ctx.shell.nested = (found[0], host, found[1])
            return 0
        ctx.err("Pseudo-terminal will not be allocated because stdin is not a terminal.\r\n")
        return 0
    result = found[1].execute(" ".join(words))
    ctx.out(result.stdout)
    ctx.err(result.stderr)
    ctx.duration += result.duration
    return result.status
