"""procps-ng like commands: ps, pgrep, pkill, kill, and lsof (Debian 12 column layout)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .base import Proc
from .registry import command
from .shell import Ctx


def _start_col(ctx: Ctx, p: Proc) -> str:
    now = ctx.os.now()
    when = ctx.os.localtime(p.start)
    if now - p.start < 86400:
        return when.strftime("%H:%M")
    if ctx.os.localtime(now).year == when.year:
        return when.strftime("%b%d")
    return when.strftime("%Y")


def _cputime(p: Proc, long: bool) -> str:
    s = int(p.cpu_seconds)
    if long:
        d, rem = divmod(s, 86400)
        h, rem = divmod(rem, 3600)
        m, sec = divmod(rem, 60)
        return (f"{d}-" if d else "") + f"{h:02d}:{m:02d}:{sec:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _etime(seconds: float) -> str:
    s = max(0, int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d}-{h:02d}:{m:02d}:{sec:02d}"
    if h:
        return f"{h:02d}:{m:02d}:{sec:02d}"
    return f"{m:02d}:{sec:02d}"


def _mem_pct(ctx: Ctx, p: Proc) -> str:
    total = ctx.os.memory()["total"] or 1
    return f"{p.rss * 100 / total:.1f}"


# name -> (header, width, right-aligned, value)
def _field(ctx: Ctx, name: str, p: Proc) -> str:
    now = ctx.os.now()
    values: dict[str, Callable[[], str]] = {
        "pid": lambda: str(p.pid), "ppid": lambda: str(p.ppid), "user": lambda: p.user,
        "uid": lambda: "0", "lstart": lambda: ctx.os.localtime(p.start).strftime(
            "%a %b %e %H:%M:%S %Y"),
        "start": lambda: _start_col(ctx, p), "stime": lambda: _start_col(ctx, p),
        "etime": lambda: _etime(now - p.start), "etimes": lambda: str(int(now - p.start)),
        "args": lambda: p.cmdline, "cmd": lambda: p.cmdline, "command": lambda: p.cmdline,
        "comm": lambda: p.comm, "ucomm": lambda: p.comm, "stat": lambda: p.stat,
        "pcpu": lambda: "0.0", "%cpu": lambda: "0.0", "pmem": lambda: _mem_pct(ctx, p),
        "%mem": lambda: _mem_pct(ctx, p), "rss": lambda: str(p.rss), "vsz": lambda: str(p.vsz),
        "tty": lambda: p.tty, "tt": lambda: p.tty, "time": lambda: _cputime(p, True),
        "cputime": lambda: _cputime(p, True), "nlwp": lambda: "1", "pgid": lambda: str(p.pid),
    }
    return values[name]()


_FIELDS = {  # header, width, right-aligned
    "pid": ("PID", 7, True), "ppid": ("PPID", 7, True), "user": ("USER", 8, False),
    "uid": ("UID", 5, True), "lstart": ("STARTED", 24, True), "start": ("STARTED", 8, True),
    "stime": ("STIME", 5, False), "etime": ("ELAPSED", 11, True),
    "etimes": ("ELAPSED", 7, True), "args": ("COMMAND", 27, False),
    "cmd": ("CMD", 27, False), "command": ("COMMAND", 27, False), "comm": ("COMMAND", 15, False),
    "ucomm": ("COMMAND", 15, False), "stat": ("STAT", 4, False), "pcpu": ("%CPU", 4, True),
    "%cpu": ("%CPU", 4, True), "pmem": ("%MEM", 4, True), "%mem": ("%MEM", 4, True),
    "rss": ("RSS", 5, True), "vsz": ("VSZ", 6, True), "tty": ("TT", 8, False),
    "tt": ("TT", 8, False), "time": ("TIME", 8, True), "cputime": ("TIME", 8, True),
    "nlwp": ("NLWP", 4, True), "pgid": ("PGID", 7, True),
}


def _render(ctx: Ctx, cols: list[tuple[str, str]], procs: list[Proc], headers: bool) -> None:
    lines: list[str] = []
    if headers and any(h for _, h in cols):
        cells = []
        for i, (name, head) in enumerate(cols):
            _, width, right = _FIELDS[name]
            last = i == len(cols) - 1
            cells.append(head if last and not right else (head.rjust(width) if right
                                                         else head.ljust(width)))
        lines.append(" ".join(cells).rstrip() if not _FIELDS[cols[-1][0]][2] else " ".join(cells))
    for p in procs:
        cells = []
        for i, (name, _) in enumerate(cols):
            _, width, right = _FIELDS[name]
            val = _field(ctx, name, p)
            last = i == len(cols) - 1
            cells.append(val if last and not right else (val.rjust(width) if right
                                                        else val.ljust(width)))
        lines.append(" ".join(cells))
    ctx.out("".join(ln + "\n" for ln in lines))


def _aux(ctx: Ctx, procs: list[Proc]) -> None:
    ctx.out("USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n")
    for p in procs:
        ctx.out(f"{p.user:<8} {p.pid:>7} {'0.0':>4} {_mem_pct(ctx, p):>4} {p.vsz:>6} "
                f"{p.rss:>5} {p.tty:<8} {p.stat:<4} {_start_col(ctx, p):>5} "
                f"{_cputime(p, False):>6} {p.cmdline}\n")


def _ef(ctx: Ctx, procs: list[Proc]) -> None:
    ctx.out("UID          PID    PPID  C STIME TTY          TIME CMD\n")
    for p in procs:
        ctx.out(f"{p.user:<8} {p.pid:>7} {p.ppid:>7} {0:>2} {_start_col(ctx, p):<5} "
                f"{p.tty:<8} {_cputime(p, True):>8} {p.cmdline}\n")


@command("ps")
def cmd_ps(ctx: Ctx, args: list[str]) -> int:
    fmt: list[str] = []
    pids: list[int] = []
    names: list[str] = []
    bsd_aux = full = every = False
    headers = True
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a in ("--no-headers", "--no-heading", "h"):
            headers = False
        elif a.startswith("-o") or a in ("o", "--format") or a.startswith("--format="):
            val = a[2:] if a.startswith("-o") and len(a) > 2 else (
                a.split("=", 1)[1] if a.startswith("--format=") else (rest.pop(0) if rest
                                                                       else ""))
            fmt.extend(v for v in val.replace(" ", ",").split(",") if v)
        elif a in ("-p", "p", "--pid", "-q"):
            pids.extend(int(x) for x in re.split(r"[, ]", rest.pop(0) if rest else "") if x)
        elif a.startswith("-p") and a[2:].isdigit():
            pids.append(int(a[2:]))
        elif a == "-C":
            names.extend((rest.pop(0) if rest else "").split(","))
        elif a in ("-u", "-U", "--sort", "-g", "-G", "-t"):
            if rest:
                rest.pop(0)
        elif a.startswith("--sort") or a in ("-w", "-ww", "w", "ww", "-H", "--forest", "f"):
            continue
        elif a.isdigit():
            pids.append(int(a))
        elif a.startswith("-") and not a.startswith("--") and ("o" in a or "p" in a):
            letters = a[1:]
            for i, c in enumerate(letters):
                if c in "op":
                    val = letters[i + 1:] or (rest.pop(0) if rest else "")
                    if c == "o":
                        fmt.extend(v for v in val.replace(" ", ",").split(",") if v)
                    else:
                        pids.extend(int(x) for x in re.split(r"[, ]", val) if x.isdigit())
                    break
                every = every or c in "eA"
                full = full or c in "fF"
        elif a.startswith("-"):
            letters = a[1:]
            bad = [c for c in letters if c not in "eAfFlwHjaxTdNcLyM"]
            if bad:
                ctx.err("error: unsupported SysV option\n\nUsage:\n ps [options]\n\n"
                        " Try 'ps --help <simple|list|output|threads|misc|all>'\n"
                        "  or 'ps --help <s|l|o|t|m|a>'\n for additional help text.\n\n"
                        "For more details see ps(1).\n")
                return 1
            every = every or "e" in letters or "A" in letters
            full = full or "f" in letters or "F" in letters
            if "a" in letters and "u" in a and "x" in letters:
                bsd_aux = True
        else:
            if set(a) <= set("auxwef"):
                bsd_aux = bsd_aux or ("u" in a and ("a" in a or "x" in a))
                every = every or "a" in a or "x" in a
            else:
                ctx.err("error: garbage option\n\nUsage:\n ps [options]\n")
                return 1
    procs = sorted(ctx.os.procs.values(), key=lambda p: p.pid)
    if pids:
        procs = [p for p in procs if p.pid in pids]
    if names:
        procs = [p for p in procs if p.comm in names]
    if not (every or bsd_aux or pids or names):
        procs = ctx.os.session_procs(("bash", "ps"))
    status = 0 if procs or not (pids or names) else 1
    if fmt:
        cols = []
        for f in fmt:
            name, _, head = f.partition("=")
            name = name.lower()
            if name not in _FIELDS:
                ctx.err(f"error: unknown user-defined format specifier \"{name}\"\n\n"
                        "Usage:\n ps [options]\n")
                return 1
            cols.append((name, head if "=" in f else _FIELDS[name][0]))
        _render(ctx, cols, procs, headers)
    elif bsd_aux:
        _aux(ctx, procs)
    elif full:
        _ef(ctx, procs)
    else:
        cols = [("pid", "PID"), ("tty", "TTY"), ("time", "TIME"), ("cmd", "CMD")]
        ctx.out("    PID TTY          TIME CMD\n" if headers else "")
        for p in procs:
            ctx.out(f"{p.pid:>7} {p.tty:<8} {_cputime(p, True):>8} {p.comm}\n")
        del cols
    return status


def _match(ctx: Ctx, prog: str, args: list[str]) -> tuple[list[Proc], dict[str, bool], str] \
        | None:
    flags: dict[str, bool] = {}
    pattern: str | None = None
    signal = "TERM"
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a.startswith("-") and len(a) > 1 and pattern is None:
            if a[1:].isdigit() or a[1:].isupper():
                signal = a[1:]
                continue
            if a in ("-u", "-U", "-P", "-g", "-d", "-t", "--signal"):
                val = rest.pop(0) if rest else ""
                if a == "--signal":
                    signal = val
                continue
            for c in a[1:]:
                if c not in "flaxnocv":
                    ctx.err(f"{prog}: invalid option -- '{c}'\n\nUsage:\n {prog} [options] "
                            "<pattern>\n\n")
                    return None
                flags[c] = True
        elif pattern is None:
            pattern = a
    if pattern is None:
        ctx.err(f"{prog}: no matching criteria specified\nTry `{prog} --help' for more "
                "information.\n")
        return None
    try:
        rx = re.compile(pattern)
    except re.error:
        ctx.err(f"{prog}: cannot compile regular expression '{pattern}'\n")
        return None
    found = []
    for p in sorted(ctx.os.procs.values(), key=lambda p: p.pid):
        if p.pid in ctx.os.hidden_pids():
            continue
        text = p.cmdline if flags.get("f") else p.comm
        hit = bool(rx.fullmatch(text) if flags.get("x") else rx.search(text))
        if hit != bool(flags.get("v")):
            found.append(p)
    if flags.get("n") and found:
        found = [max(found, key=lambda p: p.start)]
    if flags.get("o") and found:
        found = [min(found, key=lambda p: p.start)]
    return found, flags, signal


@command("pgrep", directory="/usr/bin")
def cmd_pgrep(ctx: Ctx, args: list[str]) -> int:
    res = _match(ctx, "pgrep", args)
    if res is None:
        return 2
    found, flags, _ = res
    if flags.get("c"):
        ctx.out(f"{len(found)}\n")
        return 0 if found else 1
    for p in found:
        if flags.get("a"):
            ctx.out(f"{p.pid} {p.cmdline}\n")
        elif flags.get("l"):
            ctx.out(f"{p.pid} {p.comm}\n")
        else:
            ctx.out(f"{p.pid}\n")
    return 0 if found else 1


@command("pkill", directory="/usr/bin")
def cmd_pkill(ctx: Ctx, args: list[str]) -> int:
    res = _match(ctx, "pkill", args)
    if res is None:
        return 2
    found, _, signal = res
    for p in found:
        ctx.os.signal(p.pid, signal)
    return 0 if found else 1


@command("kill")
def cmd_kill(ctx: Ctx, args: list[str]) -> int:
    signal = "TERM"
    targets: list[str] = []
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a == "-s" and rest:
            signal = rest.pop(0)
        elif a == "-l":
            ctx.out(" 1) SIGHUP\t 2) SIGINT\t 3) SIGQUIT\t 4) SIGILL\t 5) SIGTRAP\n"
                    " 6) SIGABRT\t 7) SIGBUS\t 8) SIGFPE\t 9) SIGKILL\t10) SIGUSR1\n"
                    "11) SIGSEGV\t12) SIGUSR2\t13) SIGPIPE\t14) SIGALRM\t15) SIGTERM\n")
            return 0
        elif a.startswith("-") and len(a) > 1 and not targets:
            signal = a[1:]
        else:
            targets.append(a)
    if not targets:
        ctx.err("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or "
                "kill -l [sigspec]\n")
        return 2
    status = 0
    for t in targets:
        if not t.lstrip("-").isdigit():
            ctx.err(f"bash: kill: {t}: arguments must be process or job IDs\n")
            status = 1
            continue
        pid = int(t)
        if pid not in ctx.os.procs:
            ctx.err(f"bash: kill: ({pid}) - No such process\n")
            status = 1
            continue
        if signal.upper().removeprefix("SIG") in ("0",):
            continue
        ctx.os.signal(pid, signal)
    return status


@command("lsof", directory="/usr/bin")
def cmd_lsof(ctx: Ctx, args: list[str]) -> int:
    """cwd/rtd/txt of every process (and -p PID); enough for `lsof -p PID | grep cwd`."""
    pids: list[int] = []
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a == "-p" and rest:
            pids.extend(int(x) for x in rest.pop(0).split(",") if x.isdigit())
        elif a.startswith("-p") and a[2:].isdigit():
            pids.append(int(a[2:]))
    rows: list[tuple[str, ...]] = []
    for p in sorted(ctx.os.procs.values(), key=lambda p: p.pid):
        if (pids and p.pid not in pids) or p.args[0].startswith("["):
            continue
        cwd = p.cwd or ctx.os.fs.root
        cwd_path = ctx.os.fs.path_of(cwd)
        node = str(ctx.os.fs.inode(cwd))
        rows.append((p.comm[:9], str(p.pid), p.user, "cwd", "DIR", "254,1",
                     str(cwd.size), node, cwd_path))
        rows.append((p.comm[:9], str(p.pid), p.user, "rtd", "DIR", "254,1", "4096", "2", "/"))
        rows.append((p.comm[:9], str(p.pid), p.user, "txt", "REG", "254,1", "1234567",
                     str(3_000 + p.pid % 1000), p.exe or p.args[0]))
    if not rows:
        return 1
    head = ("COMMAND", "PID", "USER", "FD", "TYPE", "DEVICE", "SIZE/OFF", "NODE", "NAME")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    right = {1, 5, 6, 7}
    for r in [head, *rows]:
        cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i])
                 for i in range(len(head) - 1)]
        ctx.out(" ".join(cells) + " " + r[-1] + "\n")
    return 0
