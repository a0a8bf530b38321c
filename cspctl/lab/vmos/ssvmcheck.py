"""/usr/local/cloud/systemvm/ssvm-check.sh: the SSVM's own health check (DNS, NFS, management
server, java), sections as in docs/cloudstack.md §7.6."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .agent import NFS_MOUNT_ID
from .shell import Ctx, Shell

if TYPE_CHECKING:
    from .systemvm import SystemVmOS


def ssvm_check(vm: SystemVmOS, ctx: Ctx, args: list[str]) -> int:
    """/usr/local/cloud/systemvm/ssvm-check.sh, sections as in docs/cloudstack.md §7.6."""
    sep = "================================================\n"
    out = ctx.out
    dns = vm.nameserver() or ""
    out(sep + f"First DNS server is  {dns}\n")
    sub = Shell(vm, ctx.cwd)
    res = sub.run(f"ping -c 2 {dns}")
    out(res.stdout)
    if res.status == 0:
        out("Good: Can ping DNS server\n")
    else:
        out("WARNING: cannot ping DNS server\nroute follows\n")
        out(sub.run("route -n").stdout)
    out(sep)
    if vm.resolve("cloudstack.apache.org", dns_only=True) and vm.ping_ok(dns):
        out("Good: DNS resolves cloudstack.apache.org\n")
    else:
        out("ERROR: DNS not resolving cloudstack.apache.org\n"
            "resolv.conf follows\n" + vm.fs.read("/etc/resolv.conf"))
        return 2
    out(sep)
    server, _export = vm._nfs()
    if vm.nfs_mounted:
        mnt = f"/mnt/SecStorage/{NFS_MOUNT_ID}"
        out(f"NFS is currently mounted\nMount point is {mnt}\n")
        out("Good: Can write to mount point\n")
    else:
        out("ERROR: NFS is not currently mounted\nTry manually mounting from inside the "
            "VM\n")
        out(f"NFS server is  {server}\n")
        res = sub.run(f"ping -c 2 {server}")
        out(res.stdout)
        out("Good: Can ping nfs server\n" if res.status == 0 else
            "WARNING: cannot ping nfs server\nrouting table follows\n"
            + sub.run("route -n").stdout)
    out(sep)
    host = vm.spec.mgmt_host
    out(f"Management server is {host}. Checking connectivity.\n")
    if vm.tcp_connect(host, vm.spec.mgmt_port) == "open":
        out(f"Good: Can connect to management server {host} port {vm.spec.mgmt_port}\n")
    else:
        ctx.duration += 3
        out(f"ERROR: Cannot connect to {host} port {vm.spec.mgmt_port}\n")
        return 4
    out(sep)
    if vm.java_proc is None:
        out("ERROR: Java process not running.  Try restarting the SSVM.\n")
        return 3
    out("Good: Java process is running\n")
    out(sep + "Tests Complete. Look for ERROR or WARNING above.\n")
    return 0
