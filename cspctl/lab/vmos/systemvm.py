"""State model of a Debian CloudStack system VM (CPVM / SSVM), 4.8 sysvinit or 4.11+ systemd.

Boot runs cloud-early-config (whose patch step `rm -rf`s and unzips /usr/local/cloud/systemvm),
then the `cloud` service starts java with that directory as cwd. With VmFault.EARLY_CONFIG_RERUN,
cloud-early-config runs again afterwards: the directory is deleted and re-created under the
running java, whose cwd becomes `/usr/local/cloud/systemvm (deleted)`. Immutable flags live on
the (persistent) disk, so they survive reboots but not a re-created VM.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import posixpath
import re
from typing import Any

from ..versions import at_least
from . import services, template, tz
from .base import Proc, SimOS
from .fs import Dir, File, FsError, Node
from .registry import SYSTEMD as SYSTEMD_TRAIT
from .registry import SYSVINIT as SYSVINIT_TRAIT
from .registry import VM
from .shell import Ctx
from .spec import (
    DEFAULT_DRIFT,
    SYSTEMD,
    LabClock,
    VmFault,
    VmSpec,
)

SYSTEMVM = "/usr/local/cloud/systemvm"
CLOUD_LOG = "/var/log/cloud.log"
BIG_LOG = "/var/log/cloud.log.1"
NFS_MOUNT_ID = "5c3b6a7e-0d55-3c2a-9f1e-7e0a4b1c9d21"
DNS_TABLE = {
    "cloudstack.apache.org": "151.101.2.132", "apache.org": "151.101.2.132",
    "www.apache.org": "151.101.2.132", "download.cloudstack.org": "185.199.108.153",
    "google.com": "142.250.196.110", "www.google.com": "142.250.196.132",
}
BOOT_SPAN = 90.0
"""Minimum seconds between power-on and 'now' after boot() (scripts have run by then)."""


class SystemVmOS(SimOS):
    """One system VM: filesystem (persistent disk), processes, services, network view."""

    def __init__(self, spec: VmSpec, clock: LabClock) -> None:
        offset = spec.clock_offset
        if VmFault.CLOCK_DRIFT in spec.faults and not offset:
            offset = DEFAULT_DRIFT
        super().__init__(clock, hostname=spec.name, timezone=spec.timezone, clock_offset=offset)
        self.spec = spec
        self.faults: set[str] = set(spec.faults)
        self.running = False
        self.memory_mb = spec.memory_mb
        self.sysv = spec.era != SYSTEMD
        if not self.sysv:
            self.kernel = "4.19.0-8-amd64"
            self.kernel_version = "#1 SMP Debian 4.19.98-1 (2020-01-26)"
        self.log: list[tuple[float, str]] = []
        self._problem: tuple[str | None, float] = (None, 0.0)
        self.agent_id = spec.vm_id + 3
        self.user_sessions = 0
        self.boots = 0
        self.traits = frozenset({VM, SYSVINIT_TRAIT if self.sysv else SYSTEMD_TRAIT})
        self.scripts.update(services.scripts(self))
        self.scripts[f"{SYSTEMVM}/ssvm-check.sh"] = self._ssvm_check
        self._build_template()
        self.install_proc()

    # ------------------------------------------------------------------------------ template
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
            used_kb = self._base_used_kb()
            big = (s.disk_kb - used_kb) * 1024
            fs.write(BIG_LOG, "java.io.IOException: No space left on device\n" * 3, mtime=t,
                     size=big)

    def _base_used_kb(self) -> int:
        return 812_344

    # ----------------------------------------------------------------------------- lifecycle
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

    # ---------------------------------------------------------------------------- early-config
    def _boot_line(self, msg: str, t: float | None = None) -> str:
        when = dt.datetime.fromtimestamp(self.now() if t is None else t, self.tz)
        return when.strftime("%a %b %e %H:%M:%S %Z %Y") + " " + msg

    def _log(self, t: float, line: str) -> None:
        self.log.append((t, line))

    def _agent_log(self, t: float, level: str, cat: str, thread: str, msg: str) -> str:
        when = dt.datetime.fromtimestamp(t, dt.UTC)
        stamp = when.strftime("%Y-%m-%d %H:%M:%S") + f",{int(t * 1000) % 1000:03d}"
        return f"{stamp} {level:<5} [{cat}] ({thread}:null) {msg}"

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

    # ------------------------------------------------------------------------- cloud service
    @property
    def java_proc(self) -> Proc | None:
        return next((p for p in self.procs.values() if p.comm == "java"), None)

    @property
    def java_pid(self) -> int | None:
        p = self.java_proc
        return p.pid if p else None

    def cloud_pids(self) -> list[int]:
        """utils.sh get_pids: java processes whose pwdx mentions /usr/local/cloud."""
        return [p.pid for p in self.procs.values() if p.comm == "java"
                and "/usr/local/cloud" in self.fs.path_of(p.cwd or self.fs.root)]

    def cloud_start(self, t: float | None = None) -> bool:
        """Start the agent (run.sh/_run.sh/java) in the current systemvm dir; False if absent."""
        t = self.now() if t is None else t
        try:
            cwd = self.fs.lookup(SYSTEMVM)
        except FsError:
            return False
        if not isinstance(cwd, Dir) or not self.fs.exists(f"{SYSTEMVM}/_run.sh"):
            return False
        for p in list(self.procs.values()):
            if p.comm in ("run.sh", "_run.sh") and p.cwd is not None and p.cwd.deleted:
                self.kill(p.pid)  # the stale watchdog loses the flock race and exits
        s = self.spec
        base = self.next_pid
        parent = 1
        if self.sysv:
            self.fs.write(f"{SYSTEMVM}/user_request", "start\n", mtime=t)
            run = self.spawn(["/bin/bash", "./run.sh"], pid=base + 1, ppid=1, cwd=cwd, start=t,
                             comm="run.sh", exe="/bin/bash", vsz=17_936, rss=1_560)
            parent = run.pid
        under = self.spawn(["/bin/bash", "./_run.sh"] if self.sysv else
                           ["/bin/bash", f"{SYSTEMVM}/_run.sh"], pid=base + 11, ppid=parent,
                           cwd=cwd, start=t, comm="_run.sh", exe="/bin/bash", vsz=17_936, rss=1_500)
        mem = int(self.memory_mb * 0.8)
        pairs = " ".join(f"{k}={v}" for k, v in s.cmdline_pairs().items())
        args = ["java", "-Djavax.net.ssl.trustStore=./certs/realhostip.keystore",
                "-Djsse.enableSNIExtension=false", "-Dlog.home=/var/log/cloud/", f"-mx{mem}m",
                "-cp", "./:./conf:" + ":".join(
                    sorted(n for n in cwd.children if n.endswith(".jar"))),
                "com.cloud.agent.AgentShell", *pairs.split()]
        listens = []
        if s.is_cpvm:
            listens = [("*", 80, 60), ("*", 8001, 61)]
            if s.premium:
                listens.append(("*", 443, 62))
            if at_least(s.cloudstack_version, "4.15"):
                listens.append(("*", 8080, 63))
        self.spawn(args, pid=base + 55, ppid=under.pid, cwd=cwd, start=t + 1, comm="java",
                   exe=template.java_binary(s), vsz=2_380_000, rss=152_400, stat="Sl",
                   listens=listens, cpu_seconds=143.0)
        self.next_pid = base + 56
        for msg in ("Agent started", f"Implementation Version is {s.cloudstack_version}",
                    f"agent.properties found at {SYSTEMVM}/conf/agent.properties",
                    "Defaulting to using properties file for storage",
                    "Defaulting to the constant time backoff algorithm",
                    f"log4j configuration found at {SYSTEMVM}/conf/log4j-cloud.xml"):
            self._log(t + 3, self._agent_log(t + 3, "INFO", "cloud.agent.AgentShell", "main", msg))
        rtype = "ConsoleProxyResource" if s.is_cpvm else "NfsSecondaryStorageResource"
        self._log(t + 4, self._agent_log(
            t + 4, "INFO", "cloud.agent.Agent", "main",
            f"Agent [id = new : type = {rtype} : zone = {s.zone_id} : pod = {s.pod_id} : "
            f"workers = 5 : host = {s.mgmt_host} : port = {s.mgmt_port}"))
        self._problem = ("starting", t)
        self._refresh(t + 5)
        return True

    def cloud_stop(self) -> None:
        if self.sysv and self.fs.exists(SYSTEMVM):
            with contextlib.suppress(FsError):
                self.fs.write(f"{SYSTEMVM}/user_request", "stop\n", mtime=self.now(), check=True)
        for p in list(self.procs.values()):
            if p.comm in ("java", "run.sh", "_run.sh"):
                self.kill(p.pid)
        if self.sysv:
            self._log(self.now(), self._boot_line("User stops cloud.com service"))
        self._refresh()

    def signal(self, pid: int, sig: str) -> None:
        proc = self.procs.get(pid)
        if proc is None or pid == 1:
            return
        self.kill(pid)
        if proc.comm == "java":
            self._log(self.now(), self._agent_log(self.now(), "INFO", "cloud.agent.Agent",
                                                  "Thread-1", "Stopping the agent"))
            self._watchdog_restart()
        elif proc.comm == "sshd" and proc.pid == 412:
            pass
        self._refresh()

    def _watchdog_restart(self) -> None:
        """run.sh (4.8) / systemd Restart=on-failure bring java back when they can."""
        if self.sysv:
            watchdog = next((p for p in self.procs.values() if p.comm == "run.sh"), None)
            if watchdog is None or watchdog.cwd is None or watchdog.cwd.deleted:
                for p in list(self.procs.values()):
                    if p.comm == "_run.sh":
                        self.kill(p.pid)
                return
            try:
                request = self.fs.read(f"{SYSTEMVM}/user_request")
            except FsError:
                request = ""
            if "start" not in request:
                return
            for p in list(self.procs.values()):
                if p.comm in ("run.sh", "_run.sh"):
                    self.kill(p.pid)
        else:
            for p in list(self.procs.values()):
                if p.comm == "_run.sh":
                    self.kill(p.pid)
        self.cloud_start()

    def cloud_active(self) -> bool:
        return any(p.comm in ("java", "_run.sh") for p in self.procs.values())

    # ------------------------------------------------------------------------------- agent
    def agent_problem_now(self) -> str | None:
        s = self.spec
        if not self.running:
            return "the VM is not running"
        java = self.java_proc
        if java is None:
            return "the agent (java) is not running"
        if java.cwd is not None and java.cwd.deleted:
            return (f"java's working directory {SYSTEMVM} was deleted under the running agent "
                    "(cloud-early-config re-ran): cwd is '(deleted)'")
        if VmFault.MGMT_PORT_BLOCKED in self.faults:
            return f"cannot connect to management server {s.mgmt_host} port {s.mgmt_port}"
        if VmFault.DISK_FULL in self.faults:
            return "root filesystem is 100% full: No space left on device"
        if VmFault.AGENT_OLD in self.faults:
            return (f"agent version {s.cloudstack_version} is older than the management server, "
                    "which closes the connection after startup")
        if not self.sysv:
            crt = self._cert_meta()
            now = self.now()
            if crt is None or not (crt["notBefore"] <= now <= crt["notAfter"]):
                return (f"SSL Handshake failed while connecting to host: {s.mgmt_host} port: "
                        f"{s.mgmt_port} (agent certificate not valid at VM time)")
        if not s.is_cpvm and VmFault.SSVM_STORAGE in self.faults:
            return "secondary storage is not mounted (agent connected)"
        return None

    def _cert_meta(self) -> dict[str, Any] | None:
        try:
            node = self.fs.lookup(f"{SYSTEMVM}/conf/cloud.crt")
        except FsError:
            return None
        return node.meta if isinstance(node, File) and node.meta else None

    @property
    def agent_problem(self) -> str | None:
        """Why the agent is not (fully) working, in one line; None when all is well."""
        self._refresh()
        return self.agent_problem_now()

    @property
    def agent_connected(self) -> bool:
        problem = self.agent_problem
        return problem is None or problem.endswith("(agent connected)")

    def _refresh(self, t: float | None = None) -> None:
        """Log agent state changes (connect, lose connection) once, when they happen."""
        self.fs.full = VmFault.DISK_FULL in self.faults
        self.fs.other_mounts = [f"/mnt/SecStorage/{NFS_MOUNT_ID}"] if self.nfs_mounted else []
        problem = self.agent_problem_now()
        connected = problem is None or problem.endswith("(agent connected)")
        old, _since = self._problem
        old_connected = old is None or (old or "").endswith("(agent connected)")
        if problem == old:
            return
        t = self.now() if t is None else t
        s = self.spec
        if self.java_proc is not None:
            if connected and not old_connected:
                for cat, msg in (("utils.nio.NioClient", f"Connecting to {s.mgmt_host}:"
                                  f"{s.mgmt_port}"), ("utils.nio.NioClient", "SSL: Handshake done"),
                                 ("utils.nio.NioClient", f"Connected to {s.mgmt_host}:"
                                  f"{s.mgmt_port}"),
                                 ("cloud.agent.Agent", "Proccess agent startup answer, agent id = "
                                  f"{self.agent_id}"),
                                 ("cloud.agent.Agent", f"Set agent id {self.agent_id}"),
                                 ("cloud.agent.Agent", "Startup Response Received: agent id = "
                                  f"{self.agent_id}")):
                    thread = "Agent-Selector" if "nio" in cat else "Agent-Handler-1"
                    self._log(t, self._agent_log(t, "INFO", cat, thread, msg))
            elif not connected and old_connected and old != "starting":
                self._log(t, self._agent_log(t, "INFO", "cloud.agent.Agent", "Agent-Handler-2",
                                             "Lost connection to the server. Dealing with the "
                                             "remaining commands..."))
        self._problem = (problem, t)

    def _reconnect_lines(self) -> list[tuple[float, str]]:
        """Agent reconnect attempts every 5 s since the problem began (last 40 shown)."""
        problem, since = self._problem
        if problem is None or problem.endswith("(agent connected)") or self.java_proc is None:
            return []
        s = self.spec
        now = self.now()
        first = since + 5
        count = int((now - first) // 5) + 1 if now >= first else 0
        start = max(0, count - 40)
        lines = []
        for i in range(start, count):
            t = first + i * 5
            lines.append((t, self._agent_log(t, "INFO", "utils.nio.NioClient", "Agent-Selector",
                                         f"Connecting to {s.mgmt_host}:{s.mgmt_port}")))
            if "deleted" in problem:
                lines.append((t, self._agent_log(
                    t, "WARN", "cloud.agent.Agent", "Agent-Handler-3",
                    "Unable to load keystore ./certs/realhostip.keystore: java.io."
                    "FileNotFoundException: ./certs/realhostip.keystore (No such file or "
                    "directory)")))
            elif "older than the management server" in problem:
                lines.append((t, self._agent_log(
                    t, "INFO", "utils.nio.NioClient", "Agent-Selector",
                    f"Connected to {s.mgmt_host}:{s.mgmt_port}")))
                lines.append((t, self._agent_log(
                    t, "INFO", "cloud.agent.Agent", "Agent-Handler-1",
                    "Lost connection to the server. Dealing with the remaining commands...")))
            elif "SSL" in problem:
                lines.append((t, self._agent_log(
                    t, "ERROR", "utils.nio.NioConnection", "Agent-Selector",
                    f"SSL Handshake failed while connecting to host: {s.mgmt_host} port: "
                    f"{s.mgmt_port}")))
            else:
                lines.append((t, self._agent_log(
                    t, "WARN", "utils.nio.NioConnection", "Agent-Selector",
                    f"Unable to connect to remote: is there a server running on port "
                    f"{s.mgmt_port}")))
            lines.append((t, self._agent_log(t, "INFO", "cloud.agent.Agent", "Agent-Handler-3",
                                         "Reconnecting...")))
        return lines

    def log_entries(self) -> list[tuple[float, str]]:
        """Every /var/log/cloud.log line with its time, in time order."""
        return sorted(self.log + self._reconnect_lines(), key=lambda e: e[0])

    def _cloud_log_text(self) -> str:
        return "".join(ln + "\n" for _, ln in self.log_entries())

    # --------------------------------------------------------------------------- hooks
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

    def addresses(self) -> list[str]:
        s = self.spec
        return ["127.0.0.1", s.linklocal_ip, s.private_ip, s.public_ip]

    def user_count(self) -> int:
        return self.user_sessions

    def hidden_pids(self) -> set[int]:
        return set()

    def backlog(self, proc: Proc) -> int:
        return {"java": 50, "apache2": 511}.get(proc.comm, 128)

    def mounts(self) -> list[tuple[str, str, str, str]]:
        rows = [("rootfs", "/", "rootfs", "rw")] if self.sysv else []
        rows += [("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
                 ("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
                 ("udev", "/dev", "devtmpfs", "rw,relatime,size=10240k,nr_inodes=125873,mode=755"),
                 ("tmpfs", "/run", "tmpfs", "rw,nosuid,noexec,relatime,size=101588k,mode=755"),
                 ("/dev/vda1", "/", "ext4", "rw,relatime,errors=remount-ro,data=ordered")]
        if self.sysv:
            rows.append(("tmpfs", "/run/shm", "tmpfs", "rw,nosuid,nodev,noexec,relatime,"
                                                         "size=203160k"))
        else:
            rows.append(("tmpfs", "/dev/shm", "tmpfs", "rw,nosuid,nodev"))
        if self.nfs_mounted:
            server, export = self._nfs()
            rows.append((f"{server}:{export}", f"/mnt/SecStorage/{NFS_MOUNT_ID}", "nfs",
                         f"rw,relatime,vers=3,rsize=524288,wsize=524288,namlen=255,hard,proto="
                         f"tcp,timeo=600,retrans=2,sec=sys,mountaddr={server},mountvers=3,"
                         f"mountport=892,mountproto=udp,local_lock=none,addr={server}"))
        return rows

    @property
    def nfs_mounted(self) -> bool:
        return (not self.spec.is_cpvm and self.running
                and VmFault.SSVM_STORAGE not in self.faults)

    def _nfs(self) -> tuple[str, str]:
        m = re.match(r"nfs://([^/]+)(/.*)", self.spec.secondary_storage_url)
        return (m.group(1), m.group(2)) if m else ("10.1.1.5", "/export/secondary")

    def df_rows(self) -> list[tuple[str, str, int, int]]:
        s = self.spec
        used = self._base_used_kb()
        for _, node in self.fs.walk(self.fs.lookup("/var/log"), "/var/log"):
            if isinstance(node, File) and node.fixed_size and node.fixed_size > 1 << 20:
                used += node.fixed_size // 1024
        used = min(used, s.disk_kb)
        rows = [("/dev/vda1", "/", s.disk_kb, used),
                ("udev", "/dev", 10_240, 0), ("tmpfs", "/run", 101_588, 212)]
        if self.sysv:
            rows.append(("tmpfs", "/run/lock", 5_120, 0))
            rows.append(("tmpfs", "/run/shm", 203_160, 0))
        else:
            rows.append(("tmpfs", "/dev/shm", 507_940, 0))
        if self.nfs_mounted:
            server, export = self._nfs()
            rows.append((f"{server}:{export}", f"/mnt/SecStorage/{NFS_MOUNT_ID}", 515_928_064,
                         61_210_624))
        return rows

    def write_denied(self, path: str) -> int | None:
        if path.startswith("/mnt/SecStorage/") and not self.nfs_mounted:
            return 2
        return None

    def session_procs(self, names: tuple[str, ...]) -> list[Proc]:
        base = self.next_pid + 700
        return [Proc(pid=base + i, ppid=base - 1 + i, args=[n], start=self.now(), tty="?")
                for i, n in enumerate(names)]

    # ----------------------------------------------------------------------------- network
    def resolve(self, name: str, dns_only: bool = False) -> str | None:
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            return name
        if not dns_only:
            if name in ("localhost", "localhost.localdomain"):
                return "127.0.0.1"
            if name == self.spec.name:
                return self.spec.private_ip
        if name.endswith("realhostip.com"):
            return None
        return DNS_TABLE.get(name)

    def _known_up(self) -> set[str]:
        s = self.spec
        up = {s.mgmt_host, s.gateway, s.private_gateway, s.dns1, s.internal_dns1, "169.254.0.1",
              *DNS_TABLE.values()}
        if VmFault.SSVM_STORAGE not in self.faults:
            up.add(self._nfs()[0])
        return up

    def ping_ok(self, ip: str) -> bool:
        return self.running and (ip in self.addresses() or ip.startswith("127.")
                                 or ip in self._known_up())

    def tcp_connect(self, host: str, port: int) -> str:
        ip = self.resolve(host)
        if ip is None:
            return "resolve"
        s = self.spec
        if ip in self.addresses() or ip.startswith("127."):
            return "open" if any(p == port for _, p, _, _ in self.listening()) else "refused"
        if ip == s.mgmt_host:
            if port == s.mgmt_port:
                return "timeout" if VmFault.MGMT_PORT_BLOCKED in self.faults else "open"
            return "open" if port in (8080, 22, 443) else "refused"
        if ip == self._nfs()[0]:
            if VmFault.SSVM_STORAGE in self.faults:
                return "timeout"
            return "open" if port in (111, 2049, 892, 22) else "refused"
        if ip in (s.dns1, s.internal_dns1):
            return "open" if port == 53 else "refused"
        if ip in DNS_TABLE.values():
            return "open" if port in (80, 443) else "timeout"
        return "timeout"

    def connections(self) -> list[tuple[str, str, int, str, int, Proc | None, int]]:
        java = self.java_proc
        if java is None:
            return []
        s = self.spec
        if self.agent_connected:
            return [("ESTAB", s.private_ip, 41_234, s.mgmt_host, s.mgmt_port, java, 55)]
        if VmFault.MGMT_PORT_BLOCKED in self.faults:
            return [("SYN-SENT", s.private_ip, 41_236, s.mgmt_host, s.mgmt_port, java, 55)]
        return []

    def http_request(self, scheme: str, host: str, port: int, method: str, path: str
                     ) -> tuple[int, str, dict[str, str], str] | str:
        res = self.tcp_connect(host, port)
        if res != "open":
            return res
        ip = self.resolve(host) or host
        date = dt.datetime.fromtimestamp(self.now(), dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        if ip in self.addresses() or ip.startswith("127."):
            owner = next((p for a, pt, p, _ in self.listening() if pt == port), None)
            if owner is not None and owner.comm == "java":
                return self._console_http(owner, port, path, date, method)
            if owner is not None and owner.comm == "apache2":
                return self._apache_http(path, date, method)
            return 400, "Bad Request", {"Date": date, "Content-Length": "0"}, ""
        if ip == self.spec.mgmt_host and port == 8080:
            body = ('<html><head><meta http-equiv="refresh" content="0;url=/client/"></head>'
                    "</html>\n")
            return 200, "OK", {"Date": date, "Content-Type": "text/html",
                               "Content-Length": str(len(body))}, body if method != "HEAD" else ""
        return 404, "Not Found", {"Date": date, "Content-Length": "0"}, ""

    def _console_http(self, java: Proc, port: int, path: str, date: str, method: str
                      ) -> tuple[int, str, dict[str, str], str]:
        """ConsoleProxyResourceHandler: /resource/<folder>/<file> relative to java's cwd."""
        none = {"Date": date, "Content-length": "0"}
        path = path.split("?", 1)[0]
        if port == 80 or port == 443:
            if path.startswith("/resource/"):
                rel = path[len("/resource/"):]
                folder = rel.split("/", 1)[0]
                if ".." in rel.split("/") or folder not in ("applet", "logs", "images", "js",
                                                            "css", "html"):
                    return 403, "Forbidden", none, ""
                try:
                    node = self.fs._walk(java.cwd or self.fs.root, rel.split("/"), rel, True, 0)
                except FsError:
                    return 404, "Not Found", none, ""
                if not isinstance(node, File):
                    return 404, "Not Found", none, ""
                body = node.read()
                ext = posixpath.splitext(rel)[1]
                headers = {"Date": date, "Content-type": template.MIME.get(ext, "text/html"),
                           "Content-length": str(node.size),
                           "Cache-Control": "max-age=86400"}
                return 200, "OK", headers, body if method != "HEAD" else ""
            if path.startswith(("/ajax", "/getscreen", "/ajaximg")):
                return 200, "OK", {"Date": date, "Content-type": "text/html",
                                   "Content-length": "0"}, ""
        body = "<h1>404 Not Found</h1>No context found for request"
        return 404, "Not Found", {"Date": date, "Content-type": "text/html",
                                  "Content-length": str(len(body))}, body

    def _apache_http(self, path: str, date: str, method: str
                     ) -> tuple[int, str, dict[str, str], str]:
        server = "Apache/2.2.22 (Debian)" if self.sysv else "Apache/2.4.38 (Debian)"
        if path in ("/", "/index.html"):
            body = "<html><body><h1>It works!</h1></body></html>\n"
            return 200, "OK", {"Date": date, "Server": server, "Content-Length": str(len(body)),
                               "Content-Type": "text/html"}, body if method != "HEAD" else ""
        body = "<html><head><title>404 Not Found</title></head></html>\n"
        return 404, "Not Found", {"Date": date, "Server": server,
                                  "Content-Length": str(len(body)),
                                  "Content-Type": "text/html; charset=iso-8859-1"}, body

    def tls_certificate(self, port: int) -> dict[str, Any] | None:
        if port not in (443, 8443):
            return None
        s = self.spec
        return {"subject": s.console_cert_subject, "issuer": s.console_cert_issuer,
                "not_before": s.console_cert_not_before, "not_after": s.console_cert_not_after}

    def ip_addr_text(self) -> str:
        s = self.spec
        nics = [("eth0", s.linklocal_ip, 16, "169.254.255.255", "0e:00:a9:fe:01:17")]
        nics.append(("eth1", s.private_ip, _bits(s.netmask), _bcast(s.private_ip, s.netmask),
                     "1e:00:4a:00:00:37"))
        nics.append(("eth2", s.public_ip, _bits(s.netmask), _bcast(s.public_ip, s.netmask),
                     "1e:00:8c:00:00:14"))
        out = super().ip_addr_text()
        for i, (name, ip, bits, bcast, mac) in enumerate(nics, 2):
            out += (f"{i}: {name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast "
                    f"state UP group default qlen 1000\n    link/ether {mac} brd "
                    f"ff:ff:ff:ff:ff:ff\n    inet {ip}/{bits} brd {bcast} scope global {name}\n"
                    "       valid_lft forever preferred_lft forever\n")
        return out

    def routes(self) -> list[str]:
        s = self.spec
        return [f"default via {s.gateway} dev eth2",
                f"{_net(s.private_ip, s.netmask)}/{_bits(s.netmask)} dev eth1 proto kernel scope "
                f"link src {s.private_ip}",
                f"169.254.0.0/16 dev eth0 proto kernel scope link src {s.linklocal_ip}",
                f"{_net(s.public_ip, s.netmask)}/{_bits(s.netmask)} dev eth2 proto kernel scope "
                f"link src {s.public_ip}"]

    def route_table(self) -> list[tuple[str, str, str, str, str]]:
        s = self.spec
        return [("0.0.0.0", s.gateway, "0.0.0.0", "UG", "eth2"),
                (_net(s.private_ip, s.netmask), "0.0.0.0", s.netmask, "U", "eth1"),
                ("169.254.0.0", "0.0.0.0", "255.255.0.0", "U", "eth0"),
                (_net(s.public_ip, s.netmask), "0.0.0.0", s.netmask, "U", "eth2")]

    # ---------------------------------------------------------------------------- tools
    def _ssvm_check(self, ctx: Ctx, args: list[str]) -> int:
        """/usr/local/cloud/systemvm/ssvm-check.sh, sections as in docs/cloudstack.md §7.6."""
        sep = "================================================\n"
        out = ctx.out
        dns = self.nameserver() or ""
        out(sep + f"First DNS server is  {dns}\n")
        sub = ctx.shell.__class__(self, ctx.cwd)
        res = sub.run(f"ping -c 2 {dns}")
        out(res.stdout)
        if res.status == 0:
            out("Good: Can ping DNS server\n")
        else:
            out("WARNING: cannot ping DNS server\nroute follows\n")
            out(sub.run("route -n").stdout)
        out(sep)
        if self.resolve("cloudstack.apache.org", dns_only=True) and self.ping_ok(dns):
            out("Good: DNS resolves cloudstack.apache.org\n")
        else:
            out("ERROR: DNS not resolving cloudstack.apache.org\n"
                "resolv.conf follows\n" + self.fs.read("/etc/resolv.conf"))
            return 2
        out(sep)
        server, _export = self._nfs()
        if self.nfs_mounted:
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
        host = self.spec.mgmt_host
        out(f"Management server is {host}. Checking connectivity.\n")
        if self.tcp_connect(host, self.spec.mgmt_port) == "open":
            out(f"Good: Can connect to management server {host} port {self.spec.mgmt_port}\n")
        else:
            ctx.duration += 3
            out(f"ERROR: Cannot connect to {host} port {self.spec.mgmt_port}\n")
            return 4
        out(sep)
        if self.java_proc is None:
            out("ERROR: Java process not running.  Try restarting the SSVM.\n")
            return 3
        out("Good: Java process is running\n")
        out(sep + "Tests Complete. Look for ERROR or WARNING above.\n")
        return 0


def _bits(mask: str) -> int:
    return sum(bin(int(b)).count("1") for b in mask.split("."))


def _net(ip: str, mask: str) -> str:
    return ".".join(str(int(a) & int(b)) for a, b in zip(ip.split("."), mask.split("."),
                                                         strict=False))


def _bcast(ip: str, mask: str) -> str:
    return ".".join(str((int(a) & int(b)) | (255 - int(b)))
                    for a, b in zip(ip.split("."), mask.split("."), strict=False))
