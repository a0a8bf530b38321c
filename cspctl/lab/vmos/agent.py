"""The agent side of a system VM: the `cloud` service (run.sh, _run.sh, java), whether the agent
is connected and why not, and what it writes to /var/log/cloud.log (reconnect attempts
included). `SystemVmOS` (systemvm.py) builds on it."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Any

from cspctl.versions import at_least

from . import template
from .base import Proc, SimOS
from .fs import Dir, File, FsError
from .registry import SYSTEMD as SYSTEMD_TRAIT
from .registry import SYSVINIT as SYSVINIT_TRAIT
from .registry import VM
from .spec import DEFAULT_DRIFT, SYSTEMD, LabClock, VmFault, VmSpec

SYSTEMVM = "/usr/local/cloud/systemvm"
NFS_MOUNT_ID = "5c3b6a7e-0d55-3c2a-9f1e-7e0a4b1c9d21"


class AgentVm(SimOS):
    """A system VM's machine state plus its agent: service, connection, log."""

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

    def _boot_line(self, msg: str, t: float | None = None) -> str:
        when = dt.datetime.fromtimestamp(self.now() if t is None else t, self.tz)
        return when.strftime("%a %b %e %H:%M:%S %Z %Y") + " " + msg

    def _log(self, t: float, line: str) -> None:
        self.log.append((t, line))

    def _agent_log(self, t: float, level: str, cat: str, thread: str, msg: str) -> str:
        when = dt.datetime.fromtimestamp(t, dt.UTC)
        stamp = when.strftime("%Y-%m-%d %H:%M:%S") + f",{int(t * 1000) % 1000:03d}"
        return f"{stamp} {level:<5} [{cat}] ({thread}:null) {msg}"

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
            crt = self.cert_meta()
            now = self.now()
            if crt is None or not (crt["notBefore"] <= now <= crt["notAfter"]):
                return (f"SSL Handshake failed while connecting to host: {s.mgmt_host} port: "
                        f"{s.mgmt_port} (agent certificate not valid at VM time)")
        if not s.is_cpvm and VmFault.SSVM_STORAGE in self.faults:
            return "secondary storage is not mounted (agent connected)"
        return None

    def cert_meta(self) -> dict[str, Any] | None:
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

    @property
    def nfs_mounted(self) -> bool:
        return (not self.spec.is_cpvm and self.running
                and VmFault.SSVM_STORAGE not in self.faults)

    def _nfs(self) -> tuple[str, str]:
        m = re.match(r"nfs://([^/]+)(/.*)", self.spec.secondary_storage_url)
        return (m.group(1), m.group(2)) if m else ("10.1.1.5", "/export/secondary")
