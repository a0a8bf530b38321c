"""Shell basics and text tools for probes and an operator's pipelines: echo, cat, grep, head,
tail, cd, pwd, exit, true/false, sleep, timeout, bash -c (output as on Debian)."""

from __future__ import annotations

import re

from .fs import Dir, FsError
from .options import parse_options
from .registry import command
from .shell import Ctx


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


@command("exit")
def cmd_exit(ctx: Ctx, args: list[str]) -> int:
    code = int(args[1]) if len(args) > 1 and args[1].lstrip("-").isdigit() else \
        ctx.shell.last_status
    ctx.shell.exit_requested = code & 0xFF
    return code & 0xFF


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


@command("timeout", directory="/usr/bin")
def cmd_timeout(ctx: Ctx, args: list[str]) -> int:
    parsed = parse_options(ctx, "timeout", args[1:], "s:k:v",
                           ("signal=", "kill-after=", "preserve-status", "foreground",
                            "verbose"), posix=True)
    if parsed is None:
        return 125
    rest = parsed.operands
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
    parsed = parse_options(ctx, "cat", args[1:], "AbeEnstTuv",
                           ("show-all", "number", "squeeze-blank"))
    if parsed is None:
        return 1
    files = parsed.operands
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


_NUMERIC_COUNT = re.compile(r"-(\d+)")


def _head_tail(ctx: Ctx, args: list[str], tail: bool) -> int:
    prog = "tail" if tail else "head"
    # `head -20` is the old spelling of `head -n 20`
    words = [f"-n{m.group(1)}" if (m := _NUMERIC_COUNT.fullmatch(a)) else a for a in args[1:]]
    parsed = parse_options(ctx, prog, words, "n:fFqv",
                           ("lines=", "follow", "quiet", "silent", "verbose"))
    if parsed is None:
        return 1
    count = parsed.last("n", "lines")
    try:
        n = 10 if count is None else int(count.lstrip("+"))
    except ValueError:
        ctx.err(f"{prog}: invalid number of lines: '{count}'\n")
        return 1
    inputs, status = _lines_input(ctx, prog, parsed.operands)
    for idx, (name, text) in enumerate(inputs):
        if len(inputs) > 1:
            ctx.out(("\n" if idx else "") + f"==> {name} <==\n")
        lines = text.splitlines(keepends=True)
        part = (lines[-n:] if n else []) if tail else lines[:n]
        ctx.out("".join(part))
    return status


@command("head", directory="/usr/bin")
def cmd_head(ctx: Ctx, args: list[str]) -> int:
    return _head_tail(ctx, args, tail=False)


@command("tail", directory="/usr/bin")
def cmd_tail(ctx: Ctx, args: list[str]) -> int:
    return _head_tail(ctx, args, tail=True)


@command("grep")
def cmd_grep(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "grep", args[1:], "icvnlqsEFwhHe:orA:B:C:m:",
                      ("ignore-case", "count", "invert-match", "quiet", "silent", "color=",
                       "colour="))
    if o is None:
        return 2
    rest = o.operands
    patterns = o.get("e")
    if not patterns:
        if not rest:
            ctx.err("Usage: grep [OPTION]... PATTERNS [FILE]...\n"
                    "Try 'grep --help' for more information.\n")
            return 2
        patterns, rest = [rest[0]], rest[1:]
    fixed = "F" in o
    extended = "E" in o
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
