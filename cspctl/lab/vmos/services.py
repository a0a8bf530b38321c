"""Service control inside a system VM: /etc/init.d scripts (4.8), `service`, `systemctl` (4.11+)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..faults import StepFault, failing
from .options import parse_options
from .registry import SYSTEMD, VM, Handler, command
from .shell import Ctx

if TYPE_CHECKING:
    from .systemvm import SystemVmOS

SYSTEMVM = "/usr/local/cloud/systemvm"
UNIT_DESC = {
    "cloud": "CloudStack Agent service",
    "cloud-early-config": "CloudStack post-boot patching service using cmdline",
    "cloud-postinit": "CloudStack post-patching init script",
    "ssh": "OpenBSD Secure Shell server", "cron": "Regular background program processing daemon",
    "rsyslog": "System Logging Service", "apache2": "The Apache HTTP Server",
    "rpcbind": "RPC bind portmap service",
}


def _type(vm: SystemVmOS) -> str:
    return vm.spec.short_type


def scripts(vm: SystemVmOS) -> dict[str, Handler]:
    """Executable scripts by absolute path (their files are created too)."""
    table: dict[str, Handler] = {}
    if vm.sysv:
        table["/etc/init.d/cloud"] = lambda ctx, a: _initd_cloud(vm, ctx, a)
        table["/etc/init.d/cloud-early-config"] = lambda ctx, a: _initd_early(vm, ctx, a)
        table["/etc/init.d/postinit"] = lambda ctx, a: _initd_simple(ctx, a, "postinit", None)
    else:
        table["/opt/cloud/bin/setup/cloud-early-config"] = lambda ctx, a: _early_direct(vm, ctx)
    table["/etc/init.d/ssh"] = lambda ctx, a: _initd_daemon(vm, ctx, a, "ssh", "sshd")
    table["/etc/init.d/cron"] = lambda ctx, a: _initd_daemon(vm, ctx, a, "cron", "cron")
    table["/etc/init.d/rsyslog"] = lambda ctx, a: _initd_daemon(vm, ctx, a, "rsyslog", "rsyslogd")
    if not vm.spec.is_cpvm:
        table["/etc/init.d/apache2"] = lambda ctx, a: _initd_apache(vm, ctx, a)
    for path in table:
        if not vm.fs.exists(path):
            vm.fs.write(path, "#!/bin/sh\n", mode=0o755, mtime=vm.clock.now() - 40 * 86400)
    return table


def _vm(ctx: Ctx) -> SystemVmOS:
    from .systemvm import SystemVmOS

    assert isinstance(ctx.os, SystemVmOS)
    return ctx.os


@command("service", directory="/usr/sbin", needs=[VM])
def cmd_service(ctx: Ctx, args: list[str]) -> int:
    return _service(_vm(ctx), ctx, args)


@command("reboot", directory="/sbin", needs=[VM])
def cmd_reboot(ctx: Ctx, args: list[str]) -> int:
    vm = _vm(ctx)
    vm.shutdown()
    vm.boot()
    return 0


@command("systemctl", needs=[VM, SYSTEMD])
def cmd_systemctl(ctx: Ctx, args: list[str]) -> int:
    return _systemctl(_vm(ctx), ctx, args)


@command("journalctl", needs=[VM, SYSTEMD])
def cmd_journalctl(ctx: Ctx, args: list[str]) -> int:
    return journalctl(_vm(ctx), ctx, args)


# --- sysvinit ---------------------------------------------------------------------------------
def _initd_cloud(vm: SystemVmOS, ctx: Ctx, args: list[str]) -> int:
    action = args[1] if len(args) > 1 else ""
    if action == "status":
        pids = vm.cloud_pids()
        if not pids:
            ctx.out("CloudStack cloud service is not running\n")
            return 1
        ctx.out(f"CloudStack cloud service (type={_type(vm)}) is running: process id: "
                f"{' '.join(map(str, pids))}\n")
        return 0
    if action == "start":
        return _cloud_start(vm, ctx)
    if action == "stop":
        ctx.out(f"Stopping CloudStack cloud service (type={_type(vm)}) ")
        vm.cloud_stop()
        ctx.out("Success\n\n")
        return 0
    if action == "restart":
        ctx.out(f"Stopping CloudStack cloud service (type={_type(vm)}) ")
        vm.cloud_stop()
        ctx.out("Success\n\n")
        return _cloud_start(vm, ctx)
    ctx.out("Usage: /etc/init.d/cloud {start|stop|restart|status}\n")
    return 1


def _cloud_start(vm: SystemVmOS, ctx: Ctx) -> int:
    pids = vm.cloud_pids()
    if pids:
        ctx.out(f"CloudStack cloud sevice is already running, PID = {' '.join(map(str, pids))}\n")
        return 0
    ctx.out(f"Starting CloudStack cloud service (type={_type(vm)}) ")
    if failing(vm.lab_faults, StepFault.CLOUD_START):
        ctx.out("Failed\n\n")
        return 1
    ok = vm.fs.exists(f"{SYSTEMVM}/run.sh") and vm.cloud_start()
    ctx.out("Success\n\n" if ok else "Failed\n\n")
    return 0


def _initd_early(vm: SystemVmOS, ctx: Ctx, args: list[str]) -> int:
    action = args[1] if len(args) > 1 else ""
    if action == "start":
        if failing(vm.lab_faults, StepFault.EARLY_CONFIG):
            ctx.err("cloud-early-config: failed to patch the system VM\n")
            return 1
        out, err = vm.early_config()
        ctx.err(err)
        ctx.out(out)
        return 0
    if action == "stop":
        return 0
    ctx.out("Usage: /etc/init.d/cloud-early-config {start|stop}\n")
    return 1


def _early_direct(vm: SystemVmOS, ctx: Ctx) -> int:
    _, err = vm.early_config()
    ctx.err(err)
    return 0


def _initd_simple(ctx: Ctx, args: list[str], name: str, _proc: str | None) -> int:
    action = args[1] if len(args) > 1 else ""
    if action in ("start", "stop", "restart"):
        return 0
    ctx.out(f"Usage: /etc/init.d/{name} {{start|stop}}\n")
    return 1


def _daemon_pid(vm: SystemVmOS, comm: str) -> int | None:
    return next((p.pid for p in vm.procs.values() if p.comm == comm), None)


def _initd_daemon(vm: SystemVmOS, ctx: Ctx, args: list[str], name: str, comm: str) -> int:
    action = args[1] if len(args) > 1 else ""
    pid = _daemon_pid(vm, comm)
    label = {"ssh": "OpenBSD Secure Shell server", "cron": "periodic command scheduler",
             "rsyslog": "enhanced syslogd"}.get(name, name)
    if action == "status":
        if pid:
            ctx.out(f"[ ok ] {comm} is running.\n")
            return 0
        ctx.out(f"[FAIL] {comm} is not running ... failed!\n")
        return 3
    if action in ("start", "restart", "reload", "force-reload"):
        if pid is None:
            if comm == "sshd":
                vm.spawn(["/usr/sbin/sshd"], pid=412 if 412 not in vm.procs else None,
                         listens=[("0.0.0.0", 3922, 3)], stat="Ss")
            else:
                vm.spawn([f"/usr/sbin/{comm}"], stat="Ss")
        verb = "Restarting" if action == "restart" else "Starting"
        ctx.out(f"[ ok ] {verb} {label}: {comm}.\n")
        return 0
    if action == "stop":
        if pid:
            vm.kill(pid)
        ctx.out(f"[ ok ] Stopping {label}: {comm}.\n")
        return 0
    ctx.out(f"Usage: /etc/init.d/{name} {{start|stop|reload|force-reload|restart|status}}\n")
    return 1


def _initd_apache(vm: SystemVmOS, ctx: Ctx, args: list[str]) -> int:
    action = args[1] if len(args) > 1 else ""
    pid = _daemon_pid(vm, "apache2")
    if action == "status":
        if pid:
            ctx.out(f"Apache2 is running (pid {pid}).\n")
            return 0
        ctx.out("Apache2 is NOT running.\n")
        return 3
    if action in ("start", "restart"):
        if pid is None:
            vm.spawn(["/usr/sbin/apache2", "-k", "start"], listens=[("*", 80, 4), ("*", 443, 6)],
                     comm="apache2", stat="Ss")
        ctx.out("[ ok ] Starting web server: apache2.\n")
        return 0
    if action == "stop":
        for p in list(vm.procs.values()):
            if p.comm == "apache2":
                vm.kill(p.pid)
        ctx.out("[ ok ] Stopping web server: apache2 ... waiting .\n")
        return 0
    ctx.out("Usage: apache2 {start|stop|graceful-stop|restart|reload|force-reload|"
            "start-htcacheclean|stop-htcacheclean|status}.\n")
    return 1


def _service(vm: SystemVmOS, ctx: Ctx, args: list[str]) -> int:
    if len(args) < 2:
        ctx.err("Usage: service < option > | --status-all | [ service_name [ command | --full-"
                "restart ] ]\n")
        return 1
    name = args[1].removesuffix(".service")
    action = args[2] if len(args) > 2 else ""
    if not vm.sysv and name in _units(vm):
        return _systemctl(vm, ctx, ["systemctl", action or "status", name])
    handler = vm.scripts.get(f"/etc/init.d/{name}")
    if handler is None:
        ctx.err(f"{name}: unrecognized service\n")
        return 1
    return handler(ctx, [f"/etc/init.d/{name}", *args[2:]])


# --- systemd ----------------------------------------------------------------------------------
def _units(vm: SystemVmOS) -> list[str]:
    names = ["cloud", "cloud-early-config", "cloud-postinit", "ssh", "cron", "rsyslog"]
    if not vm.spec.is_cpvm:
        names += ["apache2", "rpcbind"]
    return names


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    parts = []
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min"), (1, "s")):
        n, s = divmod(s, size)
        if n:
            parts.append(f"{n} {unit}{'s' if n > 1 else ''}" if unit == "day" else f"{n}{unit}")
    return " ".join(parts[:2]) or "0s"


def _unit_state(vm: SystemVmOS, name: str) -> tuple[str, str, float, list[tuple[int, str]]]:
    """(active state, sub state, since, processes) of a unit."""
    procs = vm.procs.values()
    if name == "cloud":
        ps = sorted((p for p in procs if p.comm in ("_run.sh", "java")), key=lambda p: p.pid)
        if ps:
            return "active", "running", ps[0].start, [(p.pid, p.cmdline) for p in ps]
        return "inactive", "dead", vm.now(), []
    if name in ("cloud-early-config", "cloud-postinit"):
        if vm.running:
            return "active", "exited", vm.boot_time + 6, []
        return "inactive", "dead", vm.now(), []
    comm = {"ssh": "sshd", "cron": "cron", "rsyslog": "rsyslogd", "apache2": "apache2",
            "rpcbind": "rpcbind"}[name]
    ps = sorted((p for p in procs if p.comm == comm), key=lambda p: p.pid)
    if ps:
        return "active", "running", ps[0].start, [(p.pid, p.cmdline) for p in ps]
    return "inactive", "dead", vm.now(), []


def _systemctl(vm: SystemVmOS, ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "systemctl", args[1:], "p:n:t:aqlH:M:",
                      ("no-pager", "all", "quiet", "property=", "type=", "lines=", "full",
                       "now", "no-block", "plain", "value", "state="))
    if o is None:
        return 1
    rest = o.operands
    if not rest:
        ctx.out("  UNIT                     LOAD   ACTIVE SUB     DESCRIPTION\n")
        return 0
    verb, names = rest[0], [n.removesuffix(".service") for n in rest[1:]]
    if verb == "daemon-reload":
        return 0
    if not names:
        ctx.err("Too few arguments.\n" if verb != "status" else "")
        return 1
    status = 0
    for name in names:
        if name == "sshd":
            name = "ssh"
        if name not in _units(vm):
            if verb in ("is-active",):
                ctx.out("inactive\n")
                status = 3
                continue
            if verb == "is-enabled":
                ctx.err(f"Failed to get unit file state for {name}.service: No such file or "
                        "directory\n")
                status = 1
                continue
            ctx.err(f"Unit {name}.service could not be found.\n" if verb == "status" else
                    f"Failed to {verb} {name}.service: Unit {name}.service not found.\n")
            status = 4 if verb == "status" else 5
            continue
        if verb == "is-active":
            active = _unit_state(vm, name)[0]
            ctx.out(active + "\n")
            status = status or (0 if active == "active" else 3)
        elif verb == "is-enabled":
            ctx.out("enabled\n")
        elif verb == "status":
            status = status or _unit_status(vm, ctx, name)
        elif verb in ("start", "stop", "restart", "reload", "try-restart"):
            fault = {"cloud": StepFault.CLOUD_START,
                     "cloud-early-config": StepFault.EARLY_CONFIG}.get(name)
            if fault and verb != "stop" and failing(vm.lab_faults, fault):
                ctx.err(f"Job for {name}.service failed because the control process exited "
                        f"with error code.\nSee \"systemctl status {name}.service\" and "
                        "\"journalctl -xe\" for details.\n")
                status = status or 1
                continue
            _unit_action(vm, name, verb)
        else:
            ctx.err(f"Unknown operation {verb}.\n")
            return 1
    return status


def _unit_action(vm: SystemVmOS, name: str, verb: str) -> None:
    if name == "cloud":
        if verb in ("stop", "restart", "try-restart"):
            vm.cloud_stop()
        if verb in ("start", "restart", "try-restart") and not vm.cloud_active():
            vm.cloud_start()
    elif name == "cloud-early-config":
        if verb in ("start", "restart"):
            vm.early_config()
    elif name in ("ssh", "cron", "rsyslog", "apache2", "rpcbind"):
        comm = {"ssh": "sshd", "rsyslog": "rsyslogd"}.get(name, name)
        pids = [p.pid for p in vm.procs.values() if p.comm == comm]
        if verb in ("stop", "restart"):
            for pid in pids:
                vm.kill(pid)
        if verb in ("start", "restart") and (verb == "restart" or not pids):
            listens = {"sshd": [("0.0.0.0", 3922, 3)], "apache2": [("*", 80, 4), ("*", 443, 6)],
                       "rpcbind": [("0.0.0.0", 111, 8)]}.get(comm, [])
            vm.spawn([f"/usr/sbin/{comm}"] + (["-D"] if comm == "sshd" else []), comm=comm,
                     listens=listens, stat="Ss")


def _unit_status(vm: SystemVmOS, ctx: Ctx, name: str) -> int:
    active, sub, since, procs = _unit_state(vm, name)
    when = dt.datetime.fromtimestamp(since, vm.tz).strftime("%a %Y-%m-%d %H:%M:%S %Z")
    path = (f"/etc/systemd/system/{name}.service" if name.startswith("cloud")
            else f"/lib/systemd/system/{name}.service")
    dot = "●"
    lines = [f"{dot} {name}.service - {UNIT_DESC.get(name, name)}",
             f"     Loaded: loaded ({path}; enabled; vendor preset: enabled)"]
    if active == "active":
        lines.append(f"     Active: active ({sub}) since {when}; {_ago(vm.now() - since)} ago")
    else:
        lines.append(f"     Active: inactive (dead) since {when}; {_ago(vm.now() - since)} ago")
    if sub == "exited":
        cmd = "/opt/cloud/bin/setup/cloud-early-config" if name == "cloud-early-config" else \
            "/opt/cloud/bin/setup/postinit.sh"
        lines.append(f"    Process: 250 ExecStart={cmd} (code=exited, status=0/SUCCESS)")
        lines.append("   Main PID: 250 (code=exited, status=0/SUCCESS)")
    if procs:
        main = procs[0]
        comm = vm.procs[main[0]].comm
        lines.append(f"   Main PID: {main[0]} ({comm})")
        lines.append(f"     CGroup: /system.slice/{name}.service")
        for i, (pid, cmd) in enumerate(procs):
            branch = "└─" if i == len(procs) - 1 else "├─"
            words = cmd.split()
            shown = " ".join(words[:2]) + " ..." if len(words) > 3 else cmd
            lines.append(f"             {branch}{pid} {shown}")
    ctx.out("\n".join(lines) + "\n")
    return 0 if active == "active" else 3


def journalctl(vm: SystemVmOS, ctx: Ctx, args: list[str]) -> int:
    """`journalctl [-u UNIT] [-n N] [--no-pager]`: the agent's log lines for cloud.service."""
    o = parse_options(ctx, "journalctl", args[1:], "n:u:fxeqbro:",
                      ("no-pager", "lines=", "unit=", "follow", "since=", "until=", "boot",
                       "quiet", "reverse", "output="))
    if o is None:
        return 1
    count = o.last("n", "lines")
    n = int(count) if count is not None and count.isdigit() else 10 ** 9
    start = dt.datetime.fromtimestamp(vm.boot_time, vm.tz).strftime("%a %Y-%m-%d %H:%M:%S %Z")
    ctx.out(f"-- Logs begin at {start}. --\n")
    host = vm.spec.name
    lines = []
    for t, line in vm.log_entries():
        stamp = dt.datetime.fromtimestamp(t, vm.tz).strftime("%b %d %H:%M:%S")
        lines.append(f"{stamp} {host} _run.sh[2301]: {line}")
    ctx.out("".join(ln + "\n" for ln in lines[-n:]))
    return 0
