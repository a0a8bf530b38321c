"""procps-ng like commands: ps, pgrep, pkill, kill, and lsof (Debian 12 column layout)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .base import Proc
from .options import parse_options
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


_SIGNAL_WORD = re.compile(r"-(\d+|[A-Z][A-Z0-9+-]*)")
"""A signal given as an option word: `-9`, `-KILL`, `-SIGTERM`."""
BSD_LETTERS = "auxwefh"
"""`ps aux`, `ps ax`, `ps auxwf`: the BSD spelling (no dash) the parser takes first."""
SYSV_SHORT = "eAfFlwHjaxTdNcLyMo:p:C:u:U:g:G:t:q:"
SYSV_LONG = ("no-headers", "no-heading", "format=", "pid=", "sort=", "forest", "cols=",
             "width=")


@command("ps")
def cmd_ps(ctx: Ctx, args: list[str]) -> int:
    fmt: list[str] = []
    pids: list[int] = []
    names: list[str] = []
    bsd_aux = full = every = False
    headers = True
    words = args[1:]
    if words and not words[0].startswith("-") and set(words[0]) <= set(BSD_LETTERS):
        bsd = words.pop(0)  # `ps aux`: BSD options have no dash
        bsd_aux = "u" in bsd and ("a" in bsd or "x" in bsd)
        every = "a" in bsd or "x" in bsd
        headers = "h" not in bsd
    o = parse_options(ctx, "ps", words, SYSV_SHORT, SYSV_LONG)
    if o is None:
        return 1
    for value in o.get("o") + o.get("format"):
        fmt.extend(v for v in value.replace(" ", ",").split(",") if v)
    for value in o.get("p") + o.get("pid") + o.get("q"):
        pids.extend(int(x) for x in re.split(r"[, ]", value) if x.isdigit())
    for value in o.get("C"):
        names.extend(value.split(","))
    every = every or o.has("e", "A")
    full = o.has("f", "F")
    headers = headers and not o.has("no-headers", "no-heading")
    for operand in o.operands:
        if not operand.isdigit():
            ctx.err("error: garbage option\n\nUsage:\n ps [options]\n")
            return 1
        pids.append(int(operand))
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
    signal = "TERM"
    words = list(args[1:])
    if prog == "pkill" and words and _SIGNAL_WORD.fullmatch(words[0]):
        signal = words.pop(0)[1:]  # `pkill -9 java`, `pkill -KILL java`
    o = parse_options(ctx, prog, words, "flaxnocvu:U:P:g:G:d:t:s:",
                      ("full", "list-name", "list-full", "exact", "newest", "oldest", "count",
                       "inverse", "signal="))
    if o is None:
        return None
    signal = o.last("signal") or signal
    flags = {name: True for name in o.opts if len(name) == 1}
    pattern = o.operands[0] if o.operands else None
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
    words = list(args[1:])
    signal = "TERM"
    if words and _SIGNAL_WORD.fullmatch(words[0]):
        signal = words.pop(0)[1:]  # `kill -9 PID`, `kill -KILL PID`
    o = parse_options(ctx, "kill", words, "s:n:lL")
    if o is None:
        return 2
    if o.has("l", "L"):
        ctx.out(" 1) SIGHUP\t 2) SIGINT\t 3) SIGQUIT\t 4) SIGILL\t 5) SIGTRAP\n"
                " 6) SIGABRT\t 7) SIGBUS\t 8) SIGFPE\t 9) SIGKILL\t10) SIGUSR1\n"
                "11) SIGSEGV\t12) SIGUSR2\t13) SIGPIPE\t14) SIGALRM\t15) SIGTERM\n")
        return 0
    signal = o.last("s", "n") or signal
    targets = o.operands
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
    o = parse_options(ctx, "lsof", args[1:], "p:nPlVwi:u:c:", posix=False)
    if o is None:
        return 1
    pids = [int(x) for value in o.get("p") for x in value.split(",") if x.isdigit()]
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
