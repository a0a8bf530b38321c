"""A KVM hypervisor host (CentOS 7 / Ubuntu): clock in its own zone, virsh, and the nested
`ssh -i /root/.ssh/id_rsa.cloud -p 3922 root@169.254.x.x CMD` into its system VMs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import tz
from .base import SimOS
from .hostcmds import CLOUD_KEY
from .registry import HOST, SYSTEMD
from .shell import Shell
from .spec import HostSpec, LabClock


class HostOS(SimOS):
    """One hypervisor host. `vms()` lists (name, linklocal ip, SystemVmOS) running on it."""

    traits = frozenset({HOST, SYSTEMD})

    def __init__(self, spec: HostSpec, clock: LabClock,
                 vms: Callable[[], list[tuple[Any, ...]]] | None = None) -> None:
        super().__init__(clock, hostname=spec.hostname, timezone=spec.timezone,
                         clock_offset=spec.clock_offset)
        self.spec = spec
        self.vms = vms or (lambda: [])
        self.memory_mb = spec.memory_mb
        if spec.distro.startswith("ubuntu"):
            self.kernel, self.kernel_version = "5.4.0-150-generic", \
                "#167-Ubuntu SMP Mon May 15 17:35:05 UTC 2023"
        else:
            self.kernel, self.kernel_version = spec.kernel, "#1 SMP Mon Oct 19 16:18:59 UTC 2020"
        self._build()
        self.install_proc()
        self.boot_time = clock.now() - 23 * 86400 - 4 * 3600

    def _build(self) -> None:
        fs, t = self.fs, self.clock.now() - 30 * 86400
        for d in ("etc", "root/.ssh", "tmp", "var/log/cloudstack/agent", "etc/cloudstack/agent",
                  "usr/bin", "proc"):
            fs.makedirs("/" + d, t)
        fs.write("/etc/hostname", self.spec.hostname + "\n", mtime=t)
        if self.spec.distro.startswith("ubuntu"):
            fs.write("/etc/os-release", 'NAME="Ubuntu"\nVERSION="20.04.6 LTS (Focal Fossa)"\n',
                     mtime=t)
        else:
            fs.write("/etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n", mtime=t)
        tz.install(self, t)
        fs.write(CLOUD_KEY, "-----BEGIN RSA PRIVATE KEY-----\n(lab)\n"
                 "-----END RSA PRIVATE KEY-----\n", mtime=t, mode=0o600)
        fs.write(CLOUD_KEY + ".pub", "ssh-rsa AAAA... root@" + self.spec.hostname + "\n", mtime=t)
        fs.write("/etc/cloudstack/agent/agent.properties",
                 "host=10.1.1.10\nport=8250\nprivate.network.device=cloudbr0\n"
                 "hypervisor.type=kvm\nguid=\n", mtime=t)
        fs.write("/var/log/cloudstack/agent/agent.log", "", mtime=t)
        t0 = self.clock.now() - 23 * 86400
        self.spawn(["/usr/lib/systemd/systemd", "--switched-root", "--system"], pid=1, ppid=0,
                   start=t0, comm="systemd", stat="Ss")
        self.spawn(["/usr/sbin/sshd", "-D"], pid=1102, start=t0 + 9, stat="Ss",
                   listens=[("0.0.0.0", 22, 3)])
        self.spawn(["/usr/sbin/libvirtd"], pid=1190, start=t0 + 9, stat="Ssl")
        self.spawn(["/usr/bin/java", "-Xms256m", "-Xmx2048m", "-cp",
                    "/usr/share/cloudstack-agent/lib/*", "com.cloud.agent.AgentShell"],
                   pid=1421, start=t0 + 12, stat="Sl")
        self.next_pid = 3000

    def addresses(self) -> list[str]:
        return ["127.0.0.1", self.spec.ip, "169.254.0.1"]

    def new_shell(self) -> Shell:
        self._sync_guests()
        return super().new_shell()

    def _sync_guests(self) -> None:
        """One qemu-kvm process per running guest (pids stable per guest name)."""
        running = {name for name, _ip, vm in self.vm_list() if vm.running}
        for pid, proc in list(self.procs.items()):
            if proc.comm == "qemu-kvm" and proc.args[2].split("=")[1].split(",")[0] not in running:
                self.kill(pid)
        have = {p.args[2].split("=")[1].split(",")[0] for p in self.procs.values()
                if p.comm == "qemu-kvm"}
        for name in sorted(running - have):
            self.spawn(["/usr/libexec/qemu-kvm", "-name", f"guest={name},debug-threads=on",
                        "-machine", "pc-i440fx-rhel7.0.0,accel=kvm,usb=off", "-m", "1024",
                        "-smp", "1,sockets=1,cores=1,threads=1", "-uuid",
                        "5c3b6a7e-0d55-3c2a-9f1e-7e0a4b1c9d21", "-no-user-config", "-nodefaults"],
                       comm="qemu-kvm", user="qemu", stat="Sl", vsz=2_780_000, rss=1_050_000,
                       start=self.now() - 3600)

    def ip_addr_text(self) -> str:
        out = super().ip_addr_text()
        nics = [("eth0", None, "00:25:90:a1:b2:c3"), ("cloudbr0", f"{self.spec.ip}/24",
                                                        "00:25:90:a1:b2:c3"),
                ("cloud0", "169.254.0.1/16", "fe:00:a9:fe:00:01")]
        for i, (name, cidr, mac) in enumerate(nics, 2):
            out += (f"{i}: {name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue "
                    f"state UP group default qlen 1000\n    link/ether {mac} brd "
                    "ff:ff:ff:ff:ff:ff\n")
            if cidr:
                out += (f"    inet {cidr} scope global {name}\n       valid_lft forever "
                        "preferred_lft forever\n")
        return out

    def vm_list(self) -> list[tuple[str, str, SimOS]]:
        """(name, linklocal ip, os); `vms()` may give (ip, os) or (name, ip, os) tuples."""
        rows = []
        for item in self.vms():
            if len(item) == 2:
                ip, vm = item
                rows.append((vm.hostname, ip, vm))
            else:
                rows.append(item)
        return rows

    def vm_by_ip(self, ip: str) -> tuple[str, SimOS] | None:
        for name, addr, vm in self.vm_list():
            if addr == ip:
                return name, vm
        return None

    def tcp_connect(self, host: str, port: int) -> str:
        ip = self.resolve(host)
        if ip is None:
            return "resolve"
        found = self.vm_by_ip(ip)
        if found is not None:
            return "open" if found[1].running and port == 3922 else "refused"
        return super().tcp_connect(host, port)

    def ping_ok(self, ip: str) -> bool:
        return super().ping_ok(ip) or self.vm_by_ip(ip) is not None

