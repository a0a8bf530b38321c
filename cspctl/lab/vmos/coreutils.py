"""GNU coreutils-like commands over the simulated filesystem (output as on Debian)."""

from __future__ import annotations

import datetime as dt
import getopt
import math
import posixpath
import re

from ..faults import failing
from .fs import Dir, File, FsError, Node, Symlink, VirtualDir, mode_string, strerror
from .shell import Command, Ctx

COMMANDS: dict[str, Command] = {}


def command(*names: str):
    def deco(fn: Command) -> Command:
        for name in names:
            COMMANDS[name] = fn
        return fn
    return deco


class OptError(Exception):
    pass


def opts(ctx: Ctx, prog: str, args: list[str], short: str, long: list[str] | None = None,
         ) -> tuple[dict[str, list[str]], list[str]] | None:
    """getopt with GNU permutation; prints the tool's usage error and returns None on error."""
    try:
        parsed, rest = getopt.gnu_getopt(args, short, long or [])
    except getopt.GetoptError as exc:
        opt = exc.opt
        if exc.msg.startswith("option --"):
            ctx.err(f"{prog}: unrecognized option '--{opt}'\n")
        elif "requires argument" in exc.msg:
            ctx.err(f"{prog}: option requires an argument -- '{opt}'\n")
        else:
            ctx.err(f"{prog}: invalid option -- '{opt}'\n")
        ctx.err(f"Try '{prog} --help' for more information.\n")
        return None
    out: dict[str, list[str]] = {}
    for key, val in parsed:
        out.setdefault(key.lstrip("-"), []).append(val)
    return out, rest


def fmt_ls_time(ctx: Ctx, t: float) -> str:
    """`%b %e %H:%M`, or `%b %e  %Y` when older than six months or in the future."""
    when = ctx.os.localtime(t)
    now = ctx.os.now()
    if now - t > 182.5 * 86400 or t - now > 3600:
        return when.strftime("%b %e  %Y")
    return when.strftime("%b %e %H:%M")


# --- simple ones ------------------------------------------------------------------------------
@command("true")
def cmd_true(ctx: Ctx, args: list[str]) -> int:
    return 0


@command("false")
def cmd_false(ctx: Ctx, args: list[str]) -> int:
    return 1


@command("echo")
def cmd_echo(ctx: Ctx, args: list[str]) -> int:
    words = args[1:]
    newline, escapes = True, False
    while words and re.fullmatch(r"-[neE]+", words[0]):
        newline = newline and "n" not in words[0]
        escapes = "e" in words[0]
        words = words[1:]
    text = " ".join(words)
    if escapes:
        text = text.encode().decode("unicode_escape")
    ctx.out(text + ("\n" if newline else ""))
    return 0


@command("printf")
def cmd_printf(ctx: Ctx, args: list[str]) -> int:
    if len(args) < 2:
        ctx.err("printf: usage: printf [-v var] format [arguments]\n")
        return 2
    fmt = args[1].encode().decode("unicode_escape")
    vals = tuple(args[2:])
    try:
        ctx.out(fmt % vals if "%" in fmt else fmt)
    except (TypeError, ValueError):
        ctx.out(fmt)
    return 0


@command("sleep")
def cmd_sleep(ctx: Ctx, args: list[str]) -> int:
    if len(args) < 2:
        ctx.err("sleep: missing operand\nTry 'sleep --help' for more information.\n")
        return 1
    try:
        ctx.duration += sum(float(a.rstrip("s")) for a in args[1:])
    except ValueError:
        ctx.err(f"sleep: invalid time interval '{args[1]}'\n"
                "Try 'sleep --help' for more information.\n")
        return 1
    return 0


@command("pwd")
def cmd_pwd(ctx: Ctx, args: list[str]) -> int:
    ctx.out(ctx.cwd + "\n")
    return 0


@command("cd")
def cmd_cd(ctx: Ctx, args: list[str]) -> int:
    target = args[1] if len(args) > 1 else ctx.shell.env["HOME"]
    path = ctx.abspath(target)
    try:
        node = ctx.os.fs.lookup(path)
    except FsError as exc:
        ctx.err(f"bash: cd: {target}: {exc.strerror}\n")
        return 1
    if not isinstance(node, Dir):
        ctx.err(f"bash: cd: {target}: Not a directory\n")
        return 1
    ctx.shell.cwd = path
    return 0


@command("exit", "logout")
def cmd_exit(ctx: Ctx, args: list[str]) -> int:
    code = int(args[1]) if len(args) > 1 and args[1].lstrip("-").isdigit() else \
        ctx.shell.last_status
    ctx.shell.exit_requested = code & 0xFF
    return code & 0xFF


@command("whoami")
def cmd_whoami(ctx: Ctx, args: list[str]) -> int:
    ctx.out("root\n")
    return 0


@command("id")
def cmd_id(ctx: Ctx, args: list[str]) -> int:
    ctx.out("uid=0(root) gid=0(root) groups=0(root)\n")
    return 0


@command("env", "printenv")
def cmd_env(ctx: Ctx, args: list[str]) -> int:
    if len(args) > 1 and args[0] == "env":
        return ctx.run(args[1:])
    env = dict(ctx.shell.env, PWD=ctx.cwd)
    if len(args) > 1:
        vals = [env[a] for a in args[1:] if a in env]
        ctx.out("".join(v + "\n" for v in vals))
        return 0 if len(vals) == len(args) - 1 else 1
    ctx.out("".join(f"{k}={v}\n" for k, v in env.items()))
    return 0


@command("hostname")
def cmd_hostname(ctx: Ctx, args: list[str]) -> int:
    if "-i" in args or "-I" in args:
        ctx.out(" ".join(ctx.os.addresses()) + (" \n" if "-I" in args else "\n"))
        return 0
    ctx.out(ctx.os.hostname.split(".")[0] + "\n" if "-s" in args else ctx.os.hostname + "\n")
    return 0


@command("uname")
def cmd_uname(ctx: Ctx, args: list[str]) -> int:
    parsed = opts(ctx, "uname", args[1:], "asnrvmpio", ["all"])
    if parsed is None:
        return 1
    o, _ = parsed
    f = ctx.os.uname_fields()
    if "a" in o or "all" in o:
        ctx.out(f"{f['s']} {f['n']} {f['r']} {f['v']} {f['m']} {f['o']}\n")
        return 0
    order = [k for k in "snrvmpio" if k in o] or ["s"]
    vals = {"p": "unknown", "i": "unknown", **f}
    ctx.out(" ".join(vals[k] for k in order) + "\n")
    return 0


@command("which")
def cmd_which(ctx: Ctx, args: list[str]) -> int:
    status = 0
    for name in args[1:]:
        path = ctx.os.which(name)
        if path:
            ctx.out(path + "\n")
        else:
            status = 1
    return status


@command("sudo")
def cmd_sudo(ctx: Ctx, args: list[str]) -> int:
    rest = args[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    return ctx.run(rest) if rest else 1


@command("bash", "sh")
def cmd_bash(ctx: Ctx, args: list[str]) -> int:
    if len(args) >= 3 and args[1] == "-c":
        from .shell import Shell

        sub = Shell(ctx.os, ctx.cwd)
        sub.env = dict(ctx.shell.env)
        chunks, status, duration = sub.run_chunks(args[2])
        ctx.chunks.extend(chunks)
        ctx.duration += duration
        return status
    if len(args) >= 2:
        path = ctx.abspath(args[1])
        handler = ctx.os.scripts.get(path)
        if handler is not None:
            return handler(ctx, [args[1], *args[2:]])
        ctx.err(f"bash: {args[1]}: No such file or directory\n")
        return 127
    return 0


@command("timeout")
def cmd_timeout(ctx: Ctx, args: list[str]) -> int:
    rest = args[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in ("-s", "-k", "--signal", "--kill-after") else rest[1:]
    if len(rest) < 2:
        ctx.err("timeout: missing operand\nTry 'timeout --help' for more information.\n")
        return 125
    try:
        limit = float(rest[0].rstrip("smhd"))
    except ValueError:
        ctx.err(f"timeout: invalid time interval '{rest[0]}'\n"
                "Try 'timeout --help' for more information.\n")
        return 125
    before = ctx.duration
    status = ctx.run(rest[1:])
    if limit and ctx.duration - before > limit:
        ctx.duration = before + limit
        return 124
    return status


# --- files ------------------------------------------------------------------------------------
def _read_operand(ctx: Ctx, prog: str, path: str) -> str | None:
    if path == "-":
        return ctx.stdin
    try:
        return ctx.os.fs.read(path, ctx.cwd)
    except FsError as exc:
        ctx.err(f"{prog}: {path}: {exc.strerror}\n")
        return None


@command("cat")
def cmd_cat(ctx: Ctx, args: list[str]) -> int:
    files = [a for a in args[1:] if not (a.startswith("-") and a != "-")]
    if not files:
        ctx.out(ctx.stdin)
        return 0
    status = 0
    for path in files:
        text = _read_operand(ctx, "cat", path)
        if text is None:
            status = 1
        else:
            ctx.out(text)
    return status


def _lines_input(ctx: Ctx, prog: str, files: list[str]) -> tuple[list[tuple[str, str]], int]:
    if not files:
        return [("-", ctx.stdin)], 0
    out, status = [], 0
    for path in files:
        text = _read_operand(ctx, prog, path)
        if text is None:
            status = 1
        else:
            out.append((path, text))
    return out, status


def _count_arg(args: list[str]) -> tuple[int | None, list[str]]:
    """Handle -n N, -nN, -N and --lines=N for head/tail."""
    n: int | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-n", "--lines") and i + 1 < len(args):
            n = int(args[i + 1].lstrip("+"))
            i += 2
            continue
        if a.startswith("-n") and a[2:].lstrip("+").isdigit():
            n = int(a[2:].lstrip("+"))
        elif a.startswith("--lines="):
            n = int(a.split("=", 1)[1])
        elif re.fullmatch(r"-\d+", a):
            n = int(a[1:])
        elif a in ("-f", "-F", "-q"):
            pass
        else:
            rest.append(a)
        i += 1
    return n, rest


def _head_tail(ctx: Ctx, args: list[str], tail: bool) -> int:
    prog = "tail" if tail else "head"
    try:
        n, files = _count_arg(args[1:])
    except ValueError:
        ctx.err(f"{prog}: invalid number of lines\n")
        return 1
    n = 10 if n is None else n
    inputs, status = _lines_input(ctx, prog, files)
    for idx, (name, text) in enumerate(inputs):
        if len(inputs) > 1:
            ctx.out(("\n" if idx else "") + f"==> {name} <==\n")
        lines = text.splitlines(keepends=True)
        part = (lines[-n:] if n else []) if tail else lines[:n]
        ctx.out("".join(part))
    return status


@command("head")
def cmd_head(ctx: Ctx, args: list[str]) -> int:
    return _head_tail(ctx, args, tail=False)


@command("tail")
def cmd_tail(ctx: Ctx, args: list[str]) -> int:
    return _head_tail(ctx, args, tail=True)


@command("wc")
def cmd_wc(ctx: Ctx, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args[1:] if a.startswith("-") and len(a) > 1)
    files = [a for a in args[1:] if not a.startswith("-") or a == "-"]
    inputs, status = _lines_input(ctx, "wc", files)
    keys = [k for k in "lwc" if k in flags] or ["l", "w", "c"]
    rows = []
    for name, text in inputs:
        counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(text.encode())}
        rows.append(([counts[k] for k in keys], name if files else ""))
    if len(rows) > 1:
        rows.append(([sum(r[0][i] for r in rows) for i in range(len(keys))], "total"))
    if not rows:
        return status
    width = 1 if (len(keys) == 1 and len(rows) == 1) else max(
        len(str(v)) for r in rows for v in r[0])
    if not files and len(keys) > 1:
        width = 7
    for vals, name in rows:
        line = " ".join(f"{v:>{width}}" for v in vals)
        ctx.out(line + (f" {name}" if name else "") + "\n")
    return status


@command("grep", "egrep", "fgrep")
def cmd_grep(ctx: Ctx, args: list[str]) -> int:
    parsed = opts(ctx, "grep", args[1:], "icvnlqsEFwhHe:orA:B:C:m:",
                  ["ignore-case", "count", "invert-match", "quiet", "silent", "color=", "colour="])
    if parsed is None:
        return 2
    o, rest = parsed
    patterns = o.get("e", [])
    if not patterns:
        if not rest:
            ctx.err("Usage: grep [OPTION]... PATTERNS [FILE]...\n"
                    "Try 'grep --help' for more information.\n")
            return 2
        patterns, rest = [rest[0]], rest[1:]
    fixed = "F" in o or args[0] == "fgrep"
    extended = "E" in o or args[0] == "egrep"
    flags = re.IGNORECASE if ("i" in o or "ignore-case" in o) else 0
    regexes = []
    for p in patterns:
        src = re.escape(p) if fixed else (p if extended else _bre_to_re(p))
        if "w" in o:
            src = rf"\b(?:{src})\b"
        try:
            regexes.append(re.compile(src, flags))
        except re.error:
            ctx.err("grep: Unmatched ( or \\(\n")
            return 2
    invert = "v" in o or "invert-match" in o
    quiet = "q" in o or "quiet" in o or "silent" in o
    max_count = int(o["m"][0]) if "m" in o else None
    inputs, status = _lines_input(ctx, "grep", rest)
    show_name = ("H" in o or len(rest) > 1) and "h" not in o
    matched_any = False
    for name, text in inputs:
        count = 0
        for lineno, line in enumerate(text.splitlines(), 1):
            hit = any(r.search(line) for r in regexes)
            if hit == invert:
                continue
            count += 1
            matched_any = True
            if quiet or "c" in o or "count" in o or "l" in o:
                if max_count and count >= max_count:
                    break
                continue
            prefix = (f"{name}:" if show_name else "") + (f"{lineno}:" if "n" in o else "")
            if "o" in o and not invert:
                for r in regexes:
                    for m in r.finditer(line):
                        ctx.out(prefix + m.group(0) + "\n")
            else:
                ctx.out(prefix + line + "\n")
            if max_count and count >= max_count:
                break
        if "l" in o and count:
            ctx.out(name + "\n")
        elif ("c" in o or "count" in o) and not quiet:
            ctx.out((f"{name}:" if show_name else "") + f"{count}\n")
    if status and "s" not in o:
        return 2
    return 0 if matched_any else 1


def _bre_to_re(p: str) -> str:
    """Basic regular expression -> Python: `\\|`, `\\(`, `\\)`, `\\+`, `\\?` are the operators."""
    out, i = [], 0
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            nxt = p[i + 1]
            out.append(nxt if nxt in "|()+?{}" else "\\" + nxt)
            i += 2
            continue
        out.append("\\" + c if c in "|()+?{}" else c)
        i += 1
    return "".join(out)


@command("sort")
def cmd_sort(ctx: Ctx, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args[1:] if a.startswith("-"))
    inputs, status = _lines_input(ctx, "sort", [a for a in args[1:] if not a.startswith("-")])
    lines = [ln for _, t in inputs for ln in t.splitlines()]
    if "n" in flags:
        def key(s: str) -> float:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)", s)
            return float(m.group(1)) if m else 0.0
        lines.sort(key=key, reverse="r" in flags)
    else:
        lines.sort(reverse="r" in flags)
    if "u" in flags:
        lines = list(dict.fromkeys(lines))
    ctx.out("".join(ln + "\n" for ln in lines))
    return status


@command("uniq")
def cmd_uniq(ctx: Ctx, args: list[str]) -> int:
    out: list[str] = []
    for ln in ctx.stdin.splitlines():
        if not out or out[-1] != ln:
            out.append(ln)
    ctx.out("".join(ln + "\n" for ln in out))
    return 0


@command("tee")
def cmd_tee(ctx: Ctx, args: list[str]) -> int:
    append = "-a" in args
    for path in [a for a in args[1:] if not a.startswith("-")]:
        try:
            ctx.os.fs.write(path, ctx.stdin, mtime=ctx.os.now(), append=append, cwd=ctx.cwd,
                            check=True)
        except FsError as exc:
            ctx.err(f"tee: {path}: {exc.strerror}\n")
    ctx.out(ctx.stdin)
    return 0


@command("awk")
def cmd_awk(ctx: Ctx, args: list[str]) -> int:
    """Only `awk [-F SEP] '{print $N[, $M]}' [FILE]`."""
    rest, sep = args[1:], None
    if rest and rest[0].startswith("-F"):
        sep = rest[0][2:] or (rest[1] if len(rest) > 1 else None)
        rest = rest[1:] if rest[0][2:] else rest[2:]
    if not rest:
        ctx.err("usage: awk [-F fs][-v var=value][prog | -f progfile][file ...]\n")
        return 2
    m = re.fullmatch(r"\s*\{\s*print\s*([^}]*)\}\s*", rest[0])
    if not m:
        ctx.err("awk: the lab's awk only knows '{print $N}'\n")
        return 2
    fields = [f.strip() for f in m.group(1).split(",") if f.strip()] or ["$0"]
    inputs, status = _lines_input(ctx, "awk", rest[1:])
    for _, text in inputs:
        for line in text.splitlines():
            parts = line.split(sep) if sep else line.split()
            vals = []
            for f in fields:
                if f == "$0":
                    vals.append(line)
                elif f == "$NF":
                    vals.append(parts[-1] if parts else "")
                elif re.fullmatch(r"\$\d+", f):
                    i = int(f[1:])
                    vals.append(parts[i - 1] if 0 < i <= len(parts) else "")
                else:
                    vals.append(f.strip('"'))
            ctx.out(" ".join(vals) + "\n")
    return status


@command("readlink")
def cmd_readlink(ctx: Ctx, args: list[str]) -> int:
    canon = any(a in ("-f", "-e", "-m") for a in args[1:])
    status = 0
    for path in [a for a in args[1:] if not a.startswith("-")]:
        try:
            node = ctx.os.fs.lookup(path, ctx.cwd, follow=canon)
        except FsError:
            status = 1
            continue
        if isinstance(node, Symlink):
            ctx.out(node.target + "\n")
        elif canon:
            ctx.out(ctx.os.fs.path_of(node) + "\n")
        else:
            status = 1
    return status


@command("stat")
def cmd_stat(ctx: Ctx, args: list[str]) -> int:
    status = 0
    for path in [a for a in args[1:] if not a.startswith("-")]:
        try:
            node = ctx.os.fs.lookup(path, ctx.cwd, follow=False)
        except FsError as exc:
            ctx.err(f"stat: cannot statx '{path}': {exc.strerror}\n")
            status = 1
            continue
        kind = {"d": "directory", "l": "symbolic link"}.get(node.kind, "regular file")
        when = ctx.os.localtime(node.mtime).strftime("%Y-%m-%d %H:%M:%S.000000000 %z")
        name = f"{path} -> {node.target}" if isinstance(node, Symlink) else path
        ctx.out(f"  File: {name}\n  Size: {node.size:<15}Blocks: {_blocks(node) * 2:<10} "
                f"IO Block: 4096   {kind}\nAccess: ({node.mode:04o}/{mode_string(node)})  "
                f"Uid: (    0/    root)   Gid: (    0/    root)\n"
                f"Modify: {when}\nChange: {when}\n")
    return status


def _blocks(node: Node) -> int:
    """Allocated 1K blocks as ls -s / total count them."""
    if isinstance(node, VirtualDir) or node.kind == "l" or (node.size == 0 and node.kind != "d"):
        return 0
    if isinstance(node, Dir):
        return 0 if node.deleted else 4
    return math.ceil(node.size / 4096) * 4


def human(n_bytes: float) -> str:
    """ls -h / df -h / du -h style sizes (ceiling, one decimal below 10)."""
    units = "BKMGTP"
    if n_bytes < 1024:
        return f"{int(n_bytes)}"
    v, i = float(n_bytes), 0
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    if v < 10:
        v = math.ceil(v * 10) / 10
        if v >= 10:
            return f"{int(v)}{units[i]}"
        return f"{v:.1f}{units[i]}"
    v = math.ceil(v)
    if v >= 1024 and i < len(units) - 1:
        return f"1.0{units[i + 1]}"
    return f"{int(v)}{units[i]}"


@command("ls", "dir")
def cmd_ls(ctx: Ctx, args: list[str]) -> int:
    parsed = opts(ctx, "ls", args[1:], "lhdaA1tRFiLHSrsn",
                  ["color=", "colour=", "all", "directory", "human-readable", "full-time"])
    if parsed is None:
        return 2
    o, operands = parsed
    long = "l" in o or "n" in o
    fs = ctx.os.fs
    show_all = "a" in o or "all" in o
    almost = "A" in o
    status = 0
    files: list[tuple[str, Node]] = []
    dirs: list[tuple[str, Dir]] = []
    for path in operands or ["."]:
        follow_arg = not (long or "d" in o or "directory" in o) or path.endswith("/") \
            or "L" in o or "H" in o
        try:
            node = fs.lookup(path, ctx.cwd, follow=follow_arg)
        except FsError as exc:
            ctx.err(f"ls: cannot access '{path}': {exc.strerror}\n")
            status = 2
            continue
        if isinstance(node, Dir) and not ("d" in o or "directory" in o):
            dirs.append((path, node))
        else:
            files.append((path, node))
    human_sizes = "h" in o or "human-readable" in o
    blocks = "s" in o
    if files:
        _ls_print(ctx, files, long, human_sizes, blocks, total=False)
    for idx, (path, node) in enumerate(dirs):
        if len(dirs) + len(files) > 1 or "R" in o:
            ctx.out(("\n" if idx or files else "") + f"{path}:\n")
        entries = sorted(node.entries().items(), key=lambda kv: kv[0])
        rows: list[tuple[str, Node]] = []
        if show_all:
            rows += [(".", node), ("..", node.parent or node)]
        rows += [(n, c) for n, c in entries if show_all or almost or not n.startswith(".")]
        if "t" in o:
            rows.sort(key=lambda r: -r[1].mtime)
        if "S" in o:
            rows.sort(key=lambda r: -r[1].size)
        if "r" in o:
            rows.reverse()
        _ls_print(ctx, rows, long, human_sizes, blocks, total=long or blocks)
    return status


def _ls_print(ctx: Ctx, rows: list[tuple[str, Node]], long: bool, human_sizes: bool,
              blocks: bool, total: bool) -> None:
    if total:
        tot = sum(_blocks(n) for _, n in rows)
        ctx.out(f"total {human(tot * 1024) if human_sizes and tot else tot}\n")
    if not long:
        names = [(f"{_blocks(node)} " if blocks else "") + name for name, node in rows]
        width = ctx.shell.term_cols if ctx.tty else None
        if width and names:
            ctx.out(_columns(names, width))
            return
        ctx.out("".join(n + "\n" for n in names))
        return
    sizes = [human(n.size) if human_sizes else str(n.size) for _, n in rows]
    w_link = max((len(str(n.nlink)) for _, n in rows), default=1)
    w_own = max((len(n.owner) for _, n in rows), default=4)
    w_grp = max((len(n.group) for _, n in rows), default=4)
    w_size = max((len(s) for s in sizes), default=1)
    for (name, node), size in zip(rows, sizes, strict=True):
        line = (f"{mode_string(node)} {node.nlink:>{w_link}} {node.owner:<{w_own}} "
                f"{node.group:<{w_grp}} {size:>{w_size}} {fmt_ls_time(ctx, node.mtime)} {name}")
        if isinstance(node, Symlink):
            line += f" -> {node.target}"
        ctx.out(line + "\n")


def _columns(names: list[str], width: int) -> str:
    """GNU ls terminal layout: as many columns as fit, filled top to bottom, 2-space gaps."""
    n = len(names)
    best = [names]
    for cols in range(n, 0, -1):
        rows = math.ceil(n / cols)
        grid = [names[c * rows:(c + 1) * rows] for c in range(cols)]
        grid = [g for g in grid if g]
        widths = [max(len(x) for x in g) for g in grid]
        if sum(widths) + 2 * (len(grid) - 1) <= width or cols == 1:
            best = grid
            break
    widths = [max(len(x) for x in g) for g in best]
    lines = []
    for r in range(len(best[0])):
        cells = [(g[r], w) for g, w in zip(best, widths, strict=True) if r < len(g)]
        line = "".join(name.ljust(w + 2) for name, w in cells[:-1]) + cells[-1][0]
        lines.append(line)
    return "".join(ln + "\n" for ln in lines)


@command("lsattr")
def cmd_lsattr(ctx: Ctx, args: list[str]) -> int:
    parsed = opts(ctx, "lsattr", args[1:], "dRaVv")
    if parsed is None:
        return 1
    o, operands = parsed
    fs, status = ctx.os.fs, 0
    for path in operands or ["."]:
        try:
            node = fs.lookup(path, ctx.cwd)
        except FsError as exc:
            ctx.err(f"lsattr: {exc.strerror} while trying to stat {path}\n")
            status = 1
            continue
        if isinstance(node, Dir) and "d" not in o:
            for name, child in sorted(node.entries().items()):
                if name.startswith(".") and "a" not in o:
                    continue
                ctx.out(f"{_attr_field(child)} {path.rstrip('/')}/{name}\n")
        else:
            ctx.out(f"{_attr_field(node)} {path}\n")
    return status


def _attr_field(node: Node) -> str:
    """e2fsprogs 1.47 flag field: 22 columns, `i` at index 4, `e` (extents) at index 14."""
    flags = ["-"] * 22
    if node.immutable:
        flags[4] = "i"
    if not isinstance(node, VirtualDir):
        flags[14] = "e"
    return "".join(flags)


@command("chattr")
def cmd_chattr(ctx: Ctx, args: list[str]) -> int:
    recursive = False
    mode: str | None = None
    operands: list[str] = []
    for a in args[1:]:
        if a == "-R":
            recursive = True
        elif a in ("-f", "-V"):
            continue
        elif mode is None and a[:1] in "+-=" and len(a) > 1 and a[1:].isalpha():
            mode = a
        else:
            operands.append(a)
    if mode is None or not operands:
        ctx.err("Usage: chattr [-pRVf] [-+=aAcCdDeijPsStTuFx] [-v version] files...\n")
        return 1
    status = 0
    for path in operands:
        if failing(ctx.os.lab_faults, "chattr"):
            ctx.err(f"chattr: Operation not permitted while setting flags on {path}\n")
            return 1
        try:
            node = ctx.os.fs.lookup(path, ctx.cwd)
        except FsError as exc:
            ctx.err(f"chattr: {exc.strerror} while trying to stat {path}\n")
            status = 1
            continue
        targets = [node]
        if recursive and isinstance(node, Dir):
            targets += [n for _, n in ctx.os.fs.walk(node, path)]
        for t in targets:
            if "i" in mode[1:]:
                t.immutable = mode[0] != "-"
    return status


@command("touch")
def cmd_touch(ctx: Ctx, args: list[str]) -> int:
    status = 0
    for path in [a for a in args[1:] if not a.startswith("-")]:
        fs = ctx.os.fs
        try:
            node = fs.lookup(path, ctx.cwd)
            if node.immutable:
                raise FsError(1, path)
            node.mtime = ctx.os.now()
            continue
        except FsError as exc:
            if exc.code == 1:
                ctx.err(f"touch: cannot touch '{path}': Operation not permitted\n")
                status = 1
                continue
        err = ctx.os.write_denied(ctx.abspath(path))
        try:
            if err:
                raise FsError(err, path)
            fs.write(path, "", mtime=ctx.os.now(), cwd=ctx.cwd, check=True)
        except FsError as exc:
            ctx.err(f"touch: cannot touch '{path}': {exc.strerror}\n")
            status = 1
    return status


@command("mkdir")
def cmd_mkdir(ctx: Ctx, args: list[str]) -> int:
    parents = any(a.startswith("-") and "p" in a for a in args[1:])
    status = 0
    for path in [a for a in args[1:] if not a.startswith("-")]:
        fs = ctx.os.fs
        full = ctx.abspath(path)
        if fs.exists(full):
            if not parents:
                ctx.err(f"mkdir: cannot create directory '{path}': File exists\n")
                status = 1
            continue
        parent_path = posixpath.dirname(full)
        try:
            parent = fs.lookup(parent_path) if not parents else fs.makedirs(parent_path,
                                                                              ctx.os.now())
        except FsError:
            ctx.err(f"mkdir: cannot create directory '{path}': No such file or directory\n")
            status = 1
            continue
        if parent.immutable:
            ctx.err(f"mkdir: cannot create directory '{path}': Operation not permitted\n")
            status = 1
            continue
        if fs.full and not fs.on_other_mount(full):
            ctx.err(f"mkdir: cannot create directory '{path}': No space left on device\n")
            status = 1
            continue
        fs.makedirs(full, ctx.os.now())
    return status


@command("rm")
def cmd_rm(ctx: Ctx, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args[1:] if a.startswith("-") and not a.startswith("--"))
    recursive = "r" in flags or "R" in flags or "--recursive" in args
    force = "f" in flags or "--force" in args
    status = 0
    for path in [a for a in args[1:] if not a.startswith("-")]:
        fs = ctx.os.fs
        try:
            node = fs.lookup(path, ctx.cwd, follow=False)
        except FsError as exc:
            if not force:
                ctx.err(f"rm: cannot remove '{path}': {exc.strerror}\n")
                status = 1
            continue
        if isinstance(node, Dir) and not recursive:
            ctx.err(f"rm: cannot remove '{path}': Is a directory\n")
            status = 1
            continue
        errors = fs.remove_tree(path, ctx.cwd)
        for line in errors:
            ctx.err(line + "\n")
        if errors:
            status = 1
    ctx.os.after_fs_change()
    return status


@command("cp")
def cmd_cp(ctx: Ctx, args: list[str]) -> int:
    operands = [a for a in args[1:] if not a.startswith("-")]
    if len(operands) < 2:
        ctx.err("cp: missing destination file operand after "
                f"'{operands[0] if operands else ''}'\nTry 'cp --help' for more information.\n")
        return 1
    *sources, dest = operands
    fs = ctx.os.fs
    status = 0
    dest_is_dir = fs.exists(dest, ctx.cwd) and isinstance(fs.lookup(dest, ctx.cwd), Dir)
    for src in sources:
        try:
            node = fs.lookup(src, ctx.cwd)
        except FsError as exc:
            ctx.err(f"cp: cannot stat '{src}': {exc.strerror}\n")
            status = 1
            continue
        if isinstance(node, Dir):
            ctx.err(f"cp: -r not specified; omitting directory '{src}'\n")
            status = 1
            continue
        target = posixpath.join(dest, posixpath.basename(src)) if dest_is_dir else dest
        try:
            assert isinstance(node, File)
            fs.write(target, node.read(), mtime=ctx.os.now(), mode=node.mode, cwd=ctx.cwd,
                     check=True, size=node.fixed_size)
        except FsError as exc:
            ctx.err(f"cp: cannot create regular file '{target}': {exc.strerror}\n")
            status = 1
    return status


@command("du")
def cmd_du(ctx: Ctx, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args[1:] if a.startswith("-"))
    status = 0
    for path in [a for a in args[1:] if not a.startswith("-")] or ["."]:
        try:
            node = ctx.os.fs.lookup(path, ctx.cwd)
        except FsError as exc:
            ctx.err(f"du: cannot access '{path}': {exc.strerror}\n")
            status = 1
            continue
        total = _blocks(node)
        if isinstance(node, Dir) and not isinstance(node, VirtualDir):
            total += sum(_blocks(n) for _, n in ctx.os.fs.walk(node, path))
        size = human(total * 1024) if "h" in flags else str(total)
        ctx.out(f"{size}\t{path}\n")
    return status


# --- time -------------------------------------------------------------------------------------
def strftime(when: dt.datetime, fmt: str) -> str:
    fmt = fmt.replace("%s", str(int(when.timestamp())))
    fmt = fmt.replace("%N", f"{when.microsecond * 1000:09d}")
    return when.strftime(fmt)


@command("date")
def cmd_date(ctx: Ctx, args: list[str]) -> int:
    utc = False
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    for a in args[1:]:
        if a in ("-u", "--utc", "--universal"):
            utc = True
        elif a.startswith("+"):
            fmt = a[1:]
        elif a in ("-R", "--rfc-email"):
            fmt = "%a, %d %b %Y %H:%M:%S %z"
        elif a.startswith("-I") or a.startswith("--iso-8601"):
            fmt = "%Y-%m-%dT%H:%M:%S%:z" if "seconds" in a else "%Y-%m-%d"
        else:
            ctx.err(f"date: invalid date '{a}'\n")
            return 1
    when = dt.datetime.fromtimestamp(ctx.os.now(), dt.UTC if utc else ctx.os.tz)
    text = strftime(when, fmt.replace("%:z", _colon_z(when)))
    if utc:
        text = text.replace("+0000", "+0000")
    ctx.out(text + "\n")
    return 0


def _colon_z(when: dt.datetime) -> str:
    z = when.strftime("%z")
    return z[:3] + ":" + z[3:] if z else ""


@command("uptime")
def cmd_uptime(ctx: Ctx, args: list[str]) -> int:
    up = max(0, int(ctx.os.now() - ctx.os.boot_time))
    if "-p" in args:
        d, h, m = up // 86400, up % 86400 // 3600, up % 3600 // 60
        parts = [f"{d} day{'s' if d != 1 else ''}"] if d else []
        parts += [f"{h} hour{'s' if h != 1 else ''}"] if h else []
        parts += [f"{m} minute{'s' if m != 1 else ''}"] if m or not parts else []
        ctx.out("up " + ", ".join(parts) + "\n")
        return 0
    if "-s" in args:
        ctx.out(ctx.os.localtime(ctx.os.boot_time).strftime("%Y-%m-%d %H:%M:%S") + "\n")
        return 0
    ctx.out(uptime_line(ctx) + "\n")
    return 0


def uptime_line(ctx: Ctx) -> str:
    up = max(0, int(ctx.os.now() - ctx.os.boot_time))
    days, hours, mins = up // 86400, up % 86400 // 3600, up % 3600 // 60
    text = ""
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours:2d}:{mins:02d}" if hours else f"{mins} min"
    users = ctx.os.user_count()
    load = ", ".join(f"{v:.2f}" for v in ctx.os.load)
    now = ctx.os.localtime().strftime("%H:%M:%S")
    return (f" {now} up {text},  {users} user{'s' if users != 1 else ''},  "
            f"load average: {load}")


@command("free")
def cmd_free(ctx: Ctx, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args[1:] if a.startswith("-") and not a.startswith("--"))
    m = ctx.os.memory()
    if "h" in flags:
        conv = _free_human
    elif "g" in flags:
        conv = lambda k: str(k // (1024 * 1024))  # noqa: E731
    elif "m" in flags:
        conv = lambda k: str(k // 1024)  # noqa: E731
    else:
        conv = str
    ctx.out(f"{'total':>19}{'used':>12}{'free':>12}{'shared':>12}{'buff/cache':>12}"
            f"{'available':>12}\n")
    vals = [m["total"], m["used"], m["free"], m["shared"], m["buff"], m["available"]]
    ctx.out(f"{'Mem:':<7}" + "".join(f"{conv(v):>12}" for v in vals) + "\n")
    ctx.out(f"{'Swap:':<7}" + "".join(f"{conv(v):>12}" for v in (m['swap'], 0, m['swap']))
            + "\n")
    return 0


def _free_human(kib: int) -> str:
    if kib == 0:
        return "0B"
    v, units = float(kib), ["Ki", "Mi", "Gi", "Ti"]
    i = 0
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    return f"{v:.1f}{units[i]}" if v < 10 else f"{round(v)}{units[i]}"


@command("df")
def cmd_df(ctx: Ctx, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args[1:] if a.startswith("-") and not a.startswith("--"))
    operands = [a for a in args[1:] if not a.startswith("-")]
    rows = ctx.os.df_rows()
    status = 0
    if operands:
        picked = []
        for path in operands:
            full = ctx.abspath(path)
            if not ctx.os.fs.exists(full):
                ctx.err(f"df: {path}: No such file or directory\n")
                status = 1
                continue
            best = max((r for r in rows if full == r[1] or full.startswith(r[1].rstrip("/") + "/")),
                       key=lambda r: len(r[1]), default=rows[0])
            picked.append(best)
        rows = picked
    human_sizes = "h" in flags
    posix = "P" in flags
    size_hdr = "Size" if human_sizes else ("1024-blocks" if posix else "1K-blocks")
    head = ["Filesystem", size_hdr, "Used", "Avail" if human_sizes else "Available",
            "Capacity" if posix else "Use%", "Mounted on"]
    table = []
    for fs_name, mnt, size, used in rows:
        avail = max(0, size - used) if used < size else 0
        pct = "-" if size == 0 else f"{math.ceil(used * 100 / size) if used else 0}%"
        if human_sizes:
            cells = [human(size * 1024), human(used * 1024) if used else "0",
                     human(avail * 1024) if avail else "0"]
        else:
            cells = [str(size), str(used), str(avail)]
        table.append([fs_name, *cells, pct, mnt])
    widths = [max(14, len(head[0]), *(len(r[0]) for r in table))]
    for col in range(1, 5):
        widths.append(max(4 if col == 4 else 5, len(head[col]), *(len(r[col]) for r in table)))
    for row in [head, *table]:
        cells = [row[0].ljust(widths[0])] + [row[c].rjust(widths[c]) for c in range(1, 5)]
        ctx.out(" ".join([*cells, row[5]]) + "\n")
    return status


@command("mount")
def cmd_mount(ctx: Ctx, args: list[str]) -> int:
    if len(args) > 1 and not args[1].startswith("-"):
        ctx.err(f"mount: {args[-1]}: mount failed: Connection timed out.\n")
        return 32
    for dev, mnt, typ, options in ctx.os.mounts():
        ctx.out(f"{dev} on {mnt} type {typ} ({options})\n")
    return 0


@command("umount")
def cmd_umount(ctx: Ctx, args: list[str]) -> int:
    ctx.err(f"umount: {args[-1]}: target is busy.\n")
    return 32


def errno_text(code: int) -> str:
    return strerror(code)


def _tr_set(spec: str) -> str:
    spec = spec.replace("\\n", "\n").replace("\\t", "\t").replace("\\0", "\0").replace(
        "\\000", "\0")
    classes = {"[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[:lower:]": "abcdefghijklmnopqrstuvwxyz",
               "[:space:]": " \t\n\r\f\v", "[:digit:]": "0123456789"}
    for name, chars in classes.items():
        spec = spec.replace(name, chars)
    return re.sub(r"(.)-(.)", lambda m: "".join(chr(c) for c in range(ord(m.group(1)),
                                                                         ord(m.group(2)) + 1)),
                  spec)


@command("tr")
def cmd_tr(ctx: Ctx, args: list[str]) -> int:
    rest = args[1:]
    delete = squeeze = False
    while rest and rest[0].startswith("-") and len(rest[0]) > 1:
        delete = delete or "d" in rest[0]
        squeeze = squeeze or "s" in rest[0]
        rest = rest[1:]
    if not rest:
        ctx.err("tr: missing operand\nTry 'tr --help' for more information.\n")
        return 1
    src = _tr_set(rest[0])
    text = ctx.stdin
    if delete:
        text = "".join(c for c in text if c not in src)
    elif len(rest) > 1:
        dst = _tr_set(rest[1])
        dst = dst + dst[-1:] * (len(src) - len(dst))
        text = text.translate(str.maketrans(src, dst[:len(src)]))
        src = dst
    if squeeze:
        text = re.sub("([" + re.escape(src) + "])\\1+", r"\1", text)
    ctx.out(text)
    return 0


@command("cut")
def cmd_cut(ctx: Ctx, args: list[str]) -> int:
    delim, fields, files = "\t", "", []
    chars = False
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a in ("-c", "-b") and rest:
            fields, chars = rest.pop(0), True
        elif a.startswith(("-c", "-b")) and len(a) > 2:
            fields, chars = a[2:], True
        elif a == "-d" and rest:
            delim = rest.pop(0)
        elif a.startswith("-d"):
            delim = a[2:]
        elif a == "-f" and rest:
            fields = rest.pop(0)
        elif a.startswith("-f"):
            fields = a[2:]
        else:
            files.append(a)
    if not fields:
        ctx.err("cut: you must specify a list of bytes, characters, or fields\n")
        return 1
    wanted: set[int] = set()
    open_end: int | None = None
    for part in fields.split(","):
        if part.endswith("-"):
            open_end = int(part[:-1])
        elif "-" in part:
            a, b = part.split("-")
            wanted.update(range(int(a), int(b) + 1))
        else:
            wanted.add(int(part))
    inputs, status = _lines_input(ctx, "cut", files)
    for _, text in inputs:
        for line in text.splitlines():
            cols = list(line) if chars else line.split(delim)
            if chars:
                ctx.out("".join(c for i, c in enumerate(cols, 1) if i in wanted or (
                    open_end is not None and i >= open_end)) + "\n")
                continue
            if len(cols) == 1:
                ctx.out(line + "\n")
                continue
            keep = [c for i, c in enumerate(cols, 1)
                    if i in wanted or (open_end is not None and i >= open_end)]
            ctx.out(delim.join(keep) + "\n")
    return status


@command("xargs")
def cmd_xargs(ctx: Ctx, args: list[str]) -> int:
    rest = args[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in ("-n", "-I", "-d") else rest[1:]
    words = ctx.stdin.split()
    if not words and rest:
        return 0
    return ctx.run((rest or ["echo"]) + words, stdin="")


@command("find")
def cmd_find(ctx: Ctx, args: list[str]) -> int:
    import fnmatch

    roots: list[str] = []
    rest = list(args[1:])
    while rest and not rest[0].startswith("-"):
        roots.append(rest.pop(0))
    name = kind = None
    maxdepth = 1 << 30
    while rest:
        a = rest.pop(0)
        val = rest.pop(0) if rest and a in ("-name", "-type", "-maxdepth", "-iname") else ""
        if a in ("-name", "-iname"):
            name = val
        elif a == "-type":
            kind = val
        elif a == "-maxdepth":
            maxdepth = int(val)
    status = 0
    for root in roots or ["."]:
        try:
            top = ctx.os.fs.lookup(root, ctx.cwd)
        except FsError as exc:
            ctx.err(f"find: '{root}': {exc.strerror}\n")
            status = 1
            continue
        items = [(root, top)]
        if isinstance(top, Dir):
            items += [(p, n) for p, n in ctx.os.fs.walk(top, root)
                      if p[len(root):].count("/") <= maxdepth]
        for path, node in items:
            if name and not fnmatch.fnmatchcase(posixpath.basename(path), name):
                continue
            if kind and node.kind.replace("-", "f") != kind:
                continue
            ctx.out(path + "\n")
    return status
