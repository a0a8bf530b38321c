"""What every simulated Linux machine shares: clock, filesystem, processes, command dispatch."""

from __future__ import annotations

import datetime as dt
import functools
import posixpath
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..faults import Faults
from .fs import Dir, File, Filesystem, FsError, Node, Symlink, VirtualDir
from .registry import CommandSpec, Handler, commands_for
from .shell import Ctx, Shell
from .spec import ExecResult, LabClock


@dataclass(eq=False)
class Proc:
    """One process as ps and /proc show it."""

    pid: int
    ppid: int
    args: list[str]
    start: float
    cwd: Node | None = None
    user: str = "root"
    tty: str = "?"
    stat: str = "S"
    vsz: int = 0
    rss: int = 0
    comm: str = ""
    exe: str = ""
    cpu_seconds: float = 0.0
    listens: list[tuple[str, int, int]] = field(default_factory=list)
    """(bind address, port, fd) of listening TCP sockets."""

    def __post_init__(self) -> None:
        if not self.comm:
            first = self.args[0]
            if first.startswith("["):
                self.comm = first.strip("[]")
            elif first in ("bash", "/bin/bash", "/bin/sh") and len(self.args) > 1:
                self.comm = posixpath.basename(self.args[1])[:15]
            else:
                self.comm = posixpath.basename(first.split()[0])[:15]
        if not self.exe and not self.args[0].startswith("["):
            self.exe = self.args[0] if self.args[0].startswith("/") else "/usr/bin/" + self.args[0]

    @property
    def cmdline(self) -> str:
        return " ".join(self.args)


class SimOS:
    """Base of SystemVmOS and HostOS: a clock, a filesystem, processes and commands."""

    traits: frozenset[str] = frozenset()
    """What the machine is (`registry.VM`, `registry.SYSTEMD`...): which commands it has."""

    def __init__(self, clock: LabClock, *, hostname: str, timezone: str,
                 clock_offset: float = 0.0) -> None:
        self.clock = clock
        self.hostname = hostname
        self.timezone = timezone
        self.clock_offset = clock_offset
        self.fs = Filesystem()
        self.procs: dict[int, Proc] = {}
        self.proc_inode_time: dict[int, float] = {}
        self.boot_time = 0.0
        self.next_pid = 300
        self.scripts: dict[str, Handler] = {}
        """Executable scripts by absolute path (/etc/init.d/cloud, ssvm-check.sh...)."""
        self.kernel = "3.2.0-4-amd64"
        self.kernel_version = "#1 SMP Debian 3.2.96-2"
        self.arch = "x86_64"
        self.memory_mb = 1024
        self.load = (0.0, 0.01, 0.05)
        self.running = True
        """Powered on (a host always is; a system VM between boot() and shutdown())."""
        self.lab_faults: Faults | None = None
        """The lab's Faults (set by the world): named repair steps that must fail."""

    # --- time -------------------------------------------------------------------------------
    def now(self) -> float:
        """This machine's clock: lab time plus its own offset."""
        return self.clock.now() + self.clock_offset

    @property
    def tz(self) -> dt.tzinfo:
        name = self.timezone
        try:
            return zoneinfo.ZoneInfo("UTC" if name in ("UTC", "Etc/UTC") else name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return dt.UTC

    def localtime(self, t: float | None = None) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now() if t is None else t, self.tz)

    # --- processes --------------------------------------------------------------------------
    def spawn(self, args: list[str], *, ppid: int = 1, cwd: Node | None = None,
              pid: int | None = None, start: float | None = None, **kw: object) -> Proc:
        if pid is None:
            pid = self.next_pid
        self.next_pid = max(self.next_pid, pid + 1)
        proc = Proc(pid=pid, ppid=ppid, args=args, cwd=cwd or self.fs.root,
                    start=self.now() if start is None else start, **kw)  # type: ignore[arg-type]
        self.procs[pid] = proc
        return proc

    def kill(self, pid: int) -> None:
        self.procs.pop(pid, None)
        self.proc_inode_time.pop(pid, None)

    def listening(self) -> list[tuple[str, int, Proc, int]]:
        """(address, port, process, fd) of every listening socket, sorted by port."""
        rows = [(addr, port, p, fd) for p in self.procs.values() for addr, port, fd in p.listens]
        return sorted(rows, key=lambda r: (r[0] not in ("0.0.0.0",), r[1]))

    def on_exec(self, ctx: Ctx, argv: list[str]) -> None:
        """Hook after every command (SystemVmOS uses it to react to state changes)."""

    # --- /proc ------------------------------------------------------------------------------
    def install_proc(self) -> None:
        self.fs.root.children["proc"] = VirtualDir(self._proc_entries)
        self.fs.root.children["proc"].parent = self.fs.root
        self.fs.root.children["proc"].name = "proc"

    def _proc_entries(self) -> dict[str, Node]:
        kids: dict[str, Node] = {}
        t = self.boot_time
        for pid in sorted(self.procs):
            kids[str(pid)] = VirtualDir(functools.partial(self._pid_entries, pid),
                                        mtime=self._inode(pid))
        for name, producer in self.proc_files().items():
            kids[name] = File(content=producer, mode=0o444, mtime=t, fixed_size=0)
        kids["self"] = Symlink(target=str(max(self.procs, default=1)), mtime=t, virtual=True)
        return kids

    def _inode(self, pid: int) -> float:
        return self.proc_inode_time.setdefault(pid, self.now())

    def _pid_entries(self, pid: int) -> dict[str, Node]:
        proc = self.procs.get(pid)
        if proc is None:
            return {}
        t = self._inode(pid)
        ro = 0o444
        cwd = proc.cwd or self.fs.root
        kids: dict[str, Node] = {
            "attr": VirtualDir(dict, mode=0o555, mtime=t), "autogroup": File(mode=0o644, mtime=t),
            "auxv": File(mode=0o400, mtime=t), "cgroup": File(mode=ro, mtime=t),
            "cmdline": File(content="\0".join(proc.args) + "\0", mode=ro, mtime=t, fixed_size=0),
            "comm": File(content=proc.comm + "\n", mode=0o644, mtime=t, fixed_size=0),
            "cwd": Symlink(target=self.fs.path_of(cwd), target_node=cwd, mtime=t, virtual=True),
            "environ": File(mode=0o400, mtime=t),
            "exe": Symlink(target=proc.exe, mtime=t, virtual=True),
            "fd": VirtualDir(dict, mode=0o500, mtime=t), "limits": File(mode=ro, mtime=t),
            "maps": File(mode=ro, mtime=t), "mounts": File(content=self.proc_mounts, mode=ro,
                                                         mtime=t, fixed_size=0),
            "net": VirtualDir(dict, mode=0o555, mtime=t),
            "root": Symlink(target="/", mtime=t, virtual=True),
            "stat": File(mode=ro, mtime=t), "status": File(mode=ro, mtime=t),
        }
        for node in kids.values():
            if isinstance(node, File) and node.fixed_size is None:
                node.fixed_size = 0
        return kids

    def proc_files(self) -> dict[str, Callable[[], str]]:
        up = lambda: f"{max(0.0, self.now() - self.boot_time):.2f} {self.idle():.2f}\n"  # noqa: E731
        load = lambda: "{:.2f} {:.2f} {:.2f} 1/{} {}\n".format(  # noqa: E731
            *self.load, len(self.procs), self.next_pid - 1)
        return {"mounts": self.proc_mounts, "uptime": up, "loadavg": load,
                "meminfo": self.meminfo, "version": lambda: self.proc_version() + "\n",
                "cmdline": lambda: f"BOOT_IMAGE=/boot/vmlinuz-{self.kernel} root=/dev/vda1 ro\n"}

    def idle(self) -> float:
        return max(0.0, self.now() - self.boot_time) * 0.97

    def proc_version(self) -> str:
        return (f"Linux version {self.kernel} (debian-kernel@lists.debian.org) "
                f"(gcc version 4.6.3 (Debian 4.6.3-14) ) {self.kernel_version}")

    def proc_mounts(self) -> str:
        return "".join(f"{m[0]} {m[1]} {m[2]} {m[3]} 0 0\n" for m in self.mounts())

    def mounts(self) -> list[tuple[str, str, str, str]]:
        """(device, mount point, type, options)."""
        return [("/dev/vda1", "/", "ext4", "rw,relatime,errors=remount-ro")]

    def df_rows(self) -> list[tuple[str, str, int, int]]:
        """(filesystem, mount point, size KiB, used KiB) for df."""
        return [("/dev/vda1", "/", 2_064_208, 812_344)]

    def memory(self) -> dict[str, int]:
        """KiB figures for free and /proc/meminfo."""
        total = self.memory_mb * 1024
        used = int(total * 0.38)
        buff = int(total * 0.21)
        return {"total": total, "used": used, "free": total - used - buff, "shared": 5_120,
                "buff": buff, "available": total - used, "swap": 0}

    def meminfo(self) -> str:
        m = self.memory()
        return (f"MemTotal:       {m['total']:>8} kB\nMemFree:        {m['free']:>8} kB\n"
                f"MemAvailable:   {m['available']:>8} kB\nBuffers:        {m['buff'] // 4:>8} kB\n"
                f"Cached:         {m['buff'] * 3 // 4:>8} kB\nSwapTotal:      {0:>8} kB\n"
                f"SwapFree:       {0:>8} kB\n")

    # --- commands ---------------------------------------------------------------------------
    def new_shell(self) -> Shell:
        return Shell(self)

    def execute(self, cmdline: str) -> ExecResult:
        """Run one command line as `ssh root@vm CMD` would (fresh shell in /root)."""
        return self.new_shell().run(cmdline)

    def dispatch(self, ctx: Ctx, argv: list[str]) -> int:
        name = argv[0]
        if "/" in name:
            path = ctx.abspath(name)
            handler = self.scripts.get(path)
            try:
                node = self.fs.lookup(path)
            except FsError as exc:
                ctx.err(f"bash: {name}: {exc.strerror}\n")
                return 127
            if isinstance(node, Dir):
                ctx.err(f"bash: {name}: Is a directory\n")
                return 126
            if handler is None:
                base = posixpath.basename(path)
                spec = self.commands.get(base)
                handler = spec.handler if spec is not None and spec.path == path else None
            if handler is None:
                if not node.mode & 0o100:
                    ctx.err(f"bash: {name}: Permission denied\n")
                    return 126
                return 0
        else:
            found = self.commands.get(name)
            if found is None:
                ctx.err(f"bash: {name}: command not found\n")
                return 127
            handler = found.handler
        try:
            status = handler(ctx, argv)
        except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError):
            # a real tool would reject the odd argument; the lab must never crash on input
            ctx.err(f"{posixpath.basename(name)}: invalid argument -- '{' '.join(argv[1:])}'\n"
                    f"Try '{posixpath.basename(name)} --help' for more information.\n")
            status = 1
        self.on_exec(ctx, argv)
        return status

    @property
    def commands(self) -> dict[str, CommandSpec]:
        """The commands this machine has (from the one registry, by its traits)."""
        return commands_for(self.traits)

    def which(self, name: str) -> str | None:
        spec = self.commands.get(name)
        return spec.path if spec is not None else None

    # --- hooks the commands use (machines override) ------------------------------------------
    def addresses(self) -> list[str]:
        return ["127.0.0.1"]

    def write_denied(self, path: str) -> int | None:
        """An errno that forbids creating `path` (beyond immutable/full checks), or None."""
        return None

    def after_fs_change(self) -> None:
        """Called after commands that remove files."""

    def user_count(self) -> int:
        return 0

    def session_procs(self, names: tuple[str, ...]) -> list[Proc]:
        """What a bare `ps` shows for the calling session."""
        base = self.next_pid + 100
        return [Proc(pid=base + i, ppid=base - 1 + i, args=[n], start=self.now(), tty="?")
                for i, n in enumerate(names)]

    def hidden_pids(self) -> set[int]:
        return set()

    def signal(self, pid: int, sig: str) -> None:
        if pid != 1:
            self.kill(pid)

    def backlog(self, proc: Proc) -> int:
        return 128

    def connections(self) -> list[tuple[str, str, int, str, int, Proc | None, int]]:
        """Non-listening TCP sockets: (state, local, lport, peer, pport, process, fd)."""
        return []

    def resolve(self, name: str, dns_only: bool = False) -> str | None:
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            return name
        if not dns_only and name in ("localhost", self.hostname):
            return "127.0.0.1"
        return None

    def nameserver(self) -> str | None:
        try:
            text = self.fs.read("/etc/resolv.conf")
        except FsError:
            return None
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
        return None

    def tcp_connect(self, host: str, port: int) -> str:
        """'open' | 'refused' | 'timeout' | 'resolve'."""
        ip = self.resolve(host)
        if ip is None:
            return "resolve"
        if ip in self.addresses() or ip.startswith("127."):
            return "open" if any(p == port for _, p, _, _ in self.listening()) else "refused"
        return "timeout"

    def ping_ok(self, ip: str) -> bool:
        return ip in self.addresses() or ip.startswith("127.")

    def http_request(self, scheme: str, host: str, port: int, method: str, path: str
                     ) -> tuple[int, str, dict[str, str], str] | str:
        res = self.tcp_connect(host, port)
        if res != "open":
            return res
        return 404, "Not Found", {"Content-Length": "0"}, ""

    def tls_certificate(self, port: int) -> dict[str, Any] | None:
        """The certificate a local TLS port presents (subject, issuer, not_before, not_after)."""
        return None

    def ip_addr_text(self) -> str:
        return ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group "
                "default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
                "    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft "
                "forever\n")

    def routes(self) -> list[str]:
        return []

    def route_table(self) -> list[tuple[str, str, str, str, str]]:
        return []

    def uname_fields(self) -> dict[str, str]:
        return {"s": "Linux", "n": self.hostname, "r": self.kernel, "v": self.kernel_version,
                "m": self.arch, "o": "GNU/Linux"}
