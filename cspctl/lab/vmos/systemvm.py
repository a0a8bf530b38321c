"""State model of a Debian CloudStack system VM (CPVM / SSVM), 4.8 sysvinit or 4.11+ systemd.

Boot runs cloud-early-config (whose patch step `rm -rf`s and unzips /usr/local/cloud/systemvm),
then the `cloud` service starts java with that directory as cwd. With VmFault.EARLY_CONFIG_RERUN,
cloud-early-config runs again afterwards: the directory is deleted and re-created under the
running java, whose cwd becomes `/usr/local/cloud/systemvm (deleted)`. Immutable flags live on
the (persistent) disk, so they survive reboots but not a re-created VM.
"""

from __future__ import annotations

import contextlib

from . import services, template, tz
from .agent import NFS_MOUNT_ID, SYSTEMVM
from .base import Proc
from .fs import Dir, File, FsError, Node
from .shell import Ctx
from .spec import (
    DEFAULT_DRIFT,
    LabClock,
    VmFault,
    VmSpec,
)
from .ssvmcheck import ssvm_check
from .vmnet import BASE_USED_KB, NetworkedVm

CLOUD_LOG = "/var/log/cloud.log"
BIG_LOG = "/var/log/cloud.log.1"
BOOT_SPAN = 90.0
"""Minimum seconds between power-on and 'now' after boot() (scripts have run by then)."""

__all__ = ["NFS_MOUNT_ID", "SYSTEMVM", "SystemVmOS"]


class SystemVmOS(NetworkedVm):
    """One system VM: filesystem (persistent disk), processes, services, network view.

    Layers: `AgentVm` (agent.py: cloud service, agent state, log) < `NetworkedVm` (vmnet.py:
    reachability, HTTP/TLS, mounts, disk) < this class (template, boot, patching, hooks).
    """

    def __init__(self, spec: VmSpec, clock: LabClock) -> None:
        super().__init__(spec, clock)
        self.scripts.update(services.scripts(self))
        self.scripts[f"{SYSTEMVM}/ssvm-check.sh"] = lambda ctx, args: ssvm_check(self, ctx, args)
        self._build_template()
        self.install_proc()

    def _build_template(self) -> None:
        s, fs = self.spec, self.fs
        t = self.clock.now() - 40 * 86400.0
        for d in ("bin", "boot", "dev", "etc", "home", "lib", "media/cdrom", "mnt", "opt/cloud/bin",
                  "root/.ssh", "run", "sbin", "srv", "sys", "tmp", "usr/bin", "usr/sbin",
                  "usr/local/cloud", "var/cache/cloud", "var/log/cloud", "var/lib", "var/www/html"):
            fs.makedirs("/" + d, t)
        fs.lookup("/tmp").mode = 0o1777
        fs.lookup("/root").mode = 0o700
        deb = "7.11" if self.sysv else "10.3"
        fs.write("/etc/debian_version", deb + "\n", mtime=t)
        pretty = ("Debian GNU/Linux 7 (wheezy)" if self.sysv else "Debian GNU/Linux 10 (buster)")
        fs.write("/etc/os-release", f'PRETTY_NAME="{pretty}"\nNAME="Debian GNU/Linux"\n'
                 f'ID=debian\n', mtime=t)
        fs.write("/etc/cloudstack-release", template.release_line(s), mtime=t)
        tz.install(self, t)
        fs.write("/etc/default/cloud", "ENABLED=1\n", mtime=t)
        fs.write("/etc/ssh/sshd_config", "Port 3922\nPermitRootLogin yes\n"
                 "PasswordAuthentication no\nUseDNS no\n", mtime=t)
        fs.write("/opt/cloud/bin/patchsystemvm.sh", "#!/bin/bash\n", mtime=t, mode=0o755)
        zipname = "systemvm.zip" if self.sysv else "agent.zip"
        fs.write(f"/media/cdrom/{zipname}", "", mtime=t, size=5_488_123)
        fs.write("/var/cache/cloud/cloud-scripts-signature", "3f6c2d1a0b9e8d7c\n", mtime=t)
        if not self.sysv:
            fs.write("/var/cache/cloud/patch.required", "", mtime=t)
            for unit, desc in (("cloud", "CloudStack Agent service"),
                               ("cloud-early-config", "CloudStack post-boot patching service using "
                                                      "cmdline"),
                               ("cloud-postinit", "CloudStack post-patching init script")):
                fs.write(f"/etc/systemd/system/{unit}.service", f"[Unit]\nDescription={desc}\n",
                         mtime=t)
        fs.write("/var/log/messages", "", mtime=t)
        fs.write(CLOUD_LOG, self._cloud_log_text, mtime=t)
        fs.write("/var/log/cloud/cloud.out", "", mtime=t)
        if VmFault.DISK_FULL in self.faults:
            used_kb = BASE_USED_KB
            big = (s.disk_kb - used_kb) * 1024
            fs.write(BIG_LOG, "java.io.IOException: No space left on device\n" * 3, mtime=t,
                     size=big)

    def boot(self, ago: float = 0.0) -> None:
        """Power on and run the boot scripts; `ago` pretends power-on happened N s ago."""
        now = self.now()
        t0 = now - max(ago, BOOT_SPAN)
        self.procs.clear()
        self.proc_inode_time.clear()
        self.boot_time = t0
        self.running = True
        self.next_pid = 1
        s = self.spec
        self.fs.write("/var/cache/cloud/cmdline", s.cmdline_text() + "\n", mtime=t0 + 4)
        self.fs.write("/etc/hostname", s.name + "\n", mtime=t0 + 5)
        self.fs.write("/etc/hosts", f"127.0.0.1\tlocalhost\n{s.private_ip}\t{s.name}\n",
                      mtime=t0 + 5)
        self.fs.write("/etc/resolv.conf", f"nameserver {s.internal_dns1}\nnameserver {s.dns1}\n",
                      mtime=t0 + 5)
        svcs = "cloud postinit ssh" if s.is_cpvm else "cloud postinit ssh nfs-common portmap"
        self.fs.write("/var/cache/cloud/enabled_svcs", svcs + "\n", mtime=t0 + 5)
        self._system_procs(t0)
        self.early_config(t0 + 6)
        if self.sysv:
            self.spawn(["/usr/sbin/sshd"], pid=412, start=t0 + 9, listens=[("0.0.0.0", 3922, 3)],
                       vsz=49_948, rss=1_220, stat="Ss")
        else:
            self.spawn(["/usr/sbin/sshd", "-D"], pid=412, start=t0 + 9,
                       listens=[("0.0.0.0", 3922, 3)], vsz=15_852, rss=6_640, stat="Ss")
        self.spawn(["/usr/sbin/cron"], pid=430, start=t0 + 9, vsz=20_448, rss=912, stat="Ss")
        if not s.is_cpvm:
            self.spawn(["/usr/sbin/apache2", "-k", "start"], pid=1850, start=t0 + 10, stat="Ss",
                       listens=[("*", 80, 4), ("*", 443, 6)], vsz=74_000, rss=3_900, comm="apache2")
            for i in range(2):
                self.spawn(["/usr/sbin/apache2", "-k", "start"], pid=1853 + i, ppid=1850,
                           start=t0 + 10, user="www-data", vsz=297_000, rss=4_100,
                           comm="apache2")
        # a rebooted VM's agent gets other process ids than before, as on a real one
        self.next_pid = 2290 + 1000 * self.boots
        self.boots += 1
        self.cloud_start(t0 + 14)
        self._log(t0 + 16, self._boot_line("Boot up process done", t0 + 16))
        if VmFault.EARLY_CONFIG_RERUN in self.faults:
            if not self.sysv:
                self.fs.write("/var/cache/cloud/patch.required", "", mtime=t0 + 70)
            self.early_config(t0 + 75)
        self._refresh(t0 + 76)

    def shutdown(self) -> None:
        """Power off: processes gone, disk kept."""
        if self.running:
            self._log(self.now(), self._boot_line("Shutting down system VM"))
        self.procs.clear()
        self.proc_inode_time.clear()
        self.running = False
        self._problem = (self.agent_problem_now(), self.now())

    def set_fault(self, name: str, on: bool = True) -> None:
        """Switch a fault at run time (e.g. the firewall repaired through the lab API)."""
        if on:
            self.faults.add(name)
        else:
            self.faults.discard(name)
        if name == VmFault.CLOCK_DRIFT:
            self.clock_offset = (self.spec.clock_offset or DEFAULT_DRIFT) if on else 0.0
        self._refresh()

    def renew_certificate(self, days: int = 365) -> None:
        """provisionCertificate: a fresh conf/cloud.crt (4.11+); clears VmFault.CERT_EXPIRED."""
        self.faults.discard(VmFault.CERT_EXPIRED)
        self._write_certs(self.now(), days)
        self._refresh()

    def _system_procs(self, t0: float) -> None:
        if self.sysv:
            self.spawn(["init [2]"], pid=1, ppid=0, start=t0, comm="init", exe="/sbin/init",
                       vsz=10_648, rss=808, stat="Ss")
        else:
            self.spawn(["/sbin/init"], pid=1, ppid=0, start=t0, comm="systemd", vsz=103_900,
                       rss=10_024, stat="Ss")
        for pid, name in ((2, "kthreadd"), (3, "ksoftirqd/0"), (5, "kworker/0:0H"),
                          (7, "rcu_sched"), (9, "migration/0")):
            self.spawn([f"[{name}]"], pid=pid, ppid=0 if pid == 2 else 2, start=t0, stat="S")
        if self.sysv:
            self.spawn(["udevd", "--daemon"], pid=241, start=t0 + 1, exe="/sbin/udevd",
                       vsz=21_552, rss=1_284, stat="Ss")
            self.spawn(["/usr/sbin/rsyslogd", "-c5"], pid=380, start=t0 + 8, vsz=123_000,
                       rss=1_540, stat="Sl")
            self.spawn(["/usr/sbin/acpid"], pid=395, start=t0 + 8, vsz=4_120, rss=560, stat="Ss")
        else:
            self.spawn(["/lib/systemd/systemd-journald"], pid=201, start=t0 + 1, vsz=38_900,
                       rss=6_200, stat="Ss")
            self.spawn(["/lib/systemd/systemd-udevd"], pid=241, start=t0 + 1, vsz=21_900,
                       rss=5_100, stat="Ss")
            self.spawn(["/usr/sbin/rsyslogd", "-n", "-iNONE"], pid=380, start=t0 + 8,
                       vsz=225_800, rss=3_300, stat="Ssl")
        if not self.spec.is_cpvm:
            self.spawn(["/sbin/rpcbind", "-w"], pid=1200, start=t0 + 8, vsz=37_000, rss=2_400,
                       stat="Ss", listens=[("0.0.0.0", 111, 8)])
        self.spawn(["/sbin/getty", "38400", "tty1"], pid=1260, start=t0 + 12, tty="tty1",
                   vsz=12_800, rss=780, stat="Ss+")

    def early_config(self, t: float | None = None) -> tuple[str, str]:
        """cloud-early-config start: returns (stdout, stderr) as the init script prints them."""
        t = self.now() if t is None else t
        for msg in ("Executing cloud-early-config", "Detected that we are running inside kvm "
                    "guest", "Found a non empty cmdline file. Will now exit the loop and proceed "
                    "with configuration.", "Patching  cloud service"):
            self._log(t, self._boot_line(msg, t))
        errors: list[str] = []
        required = self.sysv or self.fs.exists("/var/cache/cloud/patch.required")
        if required:
            self._log(t, self._boot_line("Patching CPVM/SSVM with cloud agent jars", t))
            errors = self.patch_systemvm(t)
            if not self.sysv:
                node = self.fs.lookup("/var/cache/cloud/patch.required")
                self.fs.unlink(node)
        kind = "console proxy" if self.spec.is_cpvm else "secondary storage"
        self._log(t + 1, self._boot_line(f"Setting up {kind} system vm", t + 1))
        if not self.spec.is_cpvm:
            self.fs.makedirs(f"/mnt/SecStorage/{NFS_MOUNT_ID}", t + 1)
        self._refresh(t + 1)
        out = "Executing cloud-early-config...done.\n" if self.sysv else ""
        return out, "".join(e + "\n" for e in errors)

    def patch_systemvm(self, t: float) -> list[str]:
        """patchsystemvm.sh: rm -rf, mkdir -p, unzip (keystore files kept on 4.11+)."""
        keep: dict[str, Node] = {}
        if not self.sysv:
            for name in ("cloud.jks", "cloud.crt", "cloud.key", "cloud.ca.crt"):
                with contextlib.suppress(FsError):
                    keep[name] = self.fs.lookup(f"{SYSTEMVM}/conf/{name}")
        errors = self.fs.remove_tree(SYSTEMVM)
        root = self.fs.makedirs(SYSTEMVM, t)
        for rel, (content, size, mode) in template.agent_files(self.spec).items():
            self._unzip_one(root, rel, content, size, mode, t)
        if keep:
            conf = self.fs.makedirs(f"{SYSTEMVM}/conf", t)
            for name, node in keep.items():
                node.deleted_path = None
                self.fs._attach(conf, name, node)
        elif not self.sysv:
            self._write_certs(t)
        return errors

    def _unzip_one(self, root: Dir, rel: str, content: str, size: int | None, mode: int,
                   t: float) -> None:
        parent: Node = root
        parts = rel.split("/")
        for part in parts[:-1]:
            assert isinstance(parent, Dir)
            child = parent.children.get(part)
            if child is None:
                if parent.immutable:
                    return
                child = Dir(mtime=t)
                self.fs._attach(parent, part, child)
            parent = child
        assert isinstance(parent, Dir)
        existing = parent.children.get(parts[-1])
        if parent.immutable or (existing is not None and existing.immutable):
            return  # unzip: cannot create ... Operation not permitted (logged, not shown)
        self.fs._attach(parent, parts[-1], File(content=content, fixed_size=size, mode=mode,
                                                mtime=t))

    def _write_certs(self, t: float, days: int = 365) -> None:
        t -= self.clock_offset  # issued by the management server's CA, at its time
        not_before = t - 60
        not_after = t + days * 86400
        if VmFault.CERT_EXPIRED in self.faults:
            not_before, not_after = t - 400 * 86400, t - 35 * 86400
        pem = ("-----BEGIN CERTIFICATE-----\nMIIDQjCCAiqgAwIBAgIIXq1vJw3l2ZkwDQYJKoZIhvcNAQELBQAw"
               "\n-----END CERTIFICATE-----\n")
        conf = self.fs.makedirs(f"{SYSTEMVM}/conf", t)
        for name, text in (("cloud.crt", pem), ("cloud.ca.crt", pem), ("cloud.key", "(key)\n"),
                           ("cloud.jks", "")):
            node = File(content=text, mtime=t, fixed_size=2_210 if name == "cloud.jks" else None,
                        mode=0o600 if name == "cloud.key" else 0o644)
            if name == "cloud.crt":
                node.meta = {"notBefore": not_before, "notAfter": not_after,
                             "subject": f"CN={self.spec.name}",
                             "issuer": "CN=ca.cloudstack.apache.org"}
            elif name == "cloud.ca.crt":
                node.meta = {"notBefore": t - 500 * 86400, "notAfter": t + 3000 * 86400,
                             "subject": "CN=ca.cloudstack.apache.org",
                             "issuer": "CN=ca.cloudstack.apache.org"}
            self.fs._attach(conf, name, node)

    def on_exec(self, ctx: Ctx, argv: list[str]) -> None:
        self.after_fs_change()
        self._refresh()

    def after_fs_change(self) -> None:
        if VmFault.DISK_FULL in self.faults and not self.fs.exists(BIG_LOG):
            self.faults.discard(VmFault.DISK_FULL)
        try:
            node = self.fs.lookup(BIG_LOG)
            if isinstance(node, File) and node.fixed_size and not node.read():
                node.fixed_size = None
        except FsError:
            pass
        self.fs.full = VmFault.DISK_FULL in self.faults

    def user_count(self) -> int:
        return self.user_sessions

    def hidden_pids(self) -> set[int]:
        return set()

    def backlog(self, proc: Proc) -> int:
        return {"java": 50, "apache2": 511}.get(proc.comm, 128)

    def write_denied(self, path: str) -> int | None:
        if path.startswith("/mnt/SecStorage/") and not self.nfs_mounted:
            return 2
        return None

    def session_procs(self, names: tuple[str, ...]) -> list[Proc]:
        base = self.next_pid + 700
        return [Proc(pid=base + i, ppid=base - 1 + i, args=[n], start=self.now(), tty="?")
                for i, n in enumerate(names)]
