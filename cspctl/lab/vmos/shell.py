"""A bash-like command line interpreter for the simulated machines (no eval, ever).

Tokenising is done by :mod:`shlex` (POSIX mode, punctuation chars for `;`, `&&`, `||`, `|`,
redirections). Before that, characters inside quotes that would otherwise be special (braces,
globs, `$`, operators) are swapped for private-use sentinels, so expansions only touch what
bash would expand. Supported: `;`, `&&`, `||`, `|`, `&` (as `;`), `> >> < 2> 2>&1`, `$?`,
`$VAR`, `${VAR}`, brace expansion (`{a,b}`, `{1..3}`), globs against the simulated filesystem.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fs import Dir, FsError
from .spec import ExecResult

if TYPE_CHECKING:
    from .base import SimOS

_SPECIAL = "{},*?[]$;&|<>"
_PROTECT = {c: chr(0xE000 + i) for i, c in enumerate(_SPECIAL)}
_UNPROTECT = {v: k for k, v in _PROTECT.items()}
_UNPROTECT_TABLE = str.maketrans(_UNPROTECT)
_OPERATORS = {";", "&", "&&", "||", "|"}
_REDIRS = {">", ">>", "<", ">&"}
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_VAR = re.compile(r"\$(\?|[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_?][A-Za-z0-9_]*\})")


class ShellSyntaxError(Exception):
    """bash's `syntax error near unexpected token`."""


_SUB_BASE = 0xE200
_SUB_QUOTED = 0xE600
_SUB_RE = re.compile("[\uE200-\uE9FF]")


def _find_close(line: str, i: int, close: str) -> int:
    """Index of the `)` or backtick closing a substitution that starts at `i`."""
    depth, quote = 0, ""
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"" and close == ")":
            quote = c
        elif close == "`" and c == "`":
            return i
        elif close == ")" and c == "(":
            depth += 1
        elif close == ")" and c == ")":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise ShellSyntaxError(f"unexpected EOF while looking for matching `{close}'")


def protect_quoted(line: str, subs: list[str] | None = None) -> str:
    """Keep quotes for shlex but neutralise special characters inside them.

    `$(...)` and backquotes are cut out into `subs` and replaced by placeholders.
    """
    out: list[str] = []
    i, state = 0, ""
    while i < len(line):
        c = line[i]
        if subs is not None and state != "'" and (c == "`" or line.startswith("$(", i)):
            start = i + (1 if c == "`" else 2)
            end = _find_close(line, start, "`" if c == "`" else ")")
            subs.append(line[start:end])
            out.append(chr((_SUB_QUOTED if state == '"' else _SUB_BASE) + len(subs) - 1))
            i = end + 1
            continue
        if state == "'":
            if c == "'":
                state = ""
            out.append(_PROTECT.get(c, c) if c != "'" else c)
        elif state == '"':
            if c == "\\" and i + 1 < len(line) and line[i + 1] in '"\\$`':
                nxt = line[i + 1]
                out.append("\\" + nxt if nxt != "$" else _PROTECT["$"])
                i += 2
                continue
            if c == '"':
                state = ""
                out.append(c)
            else:
                out.append(c if c == "$" else _PROTECT.get(c, c))
        else:
            if c == "\\" and i + 1 < len(line):
                nxt = line[i + 1]
                out.append(_PROTECT[nxt] if nxt in _PROTECT else "\\" + nxt)
                i += 2
                continue
            if c in "'\"":
                state = c
            out.append(c)
        i += 1
    if state:
        raise ShellSyntaxError(f"unexpected EOF while looking for matching `{state}'")
    return "".join(out)


def tokenize(line: str, subs: list[str] | None = None) -> list[str]:
    """Split a command line into words and operator tokens (substitutions go to `subs`)."""
    lex = shlex.shlex(protect_quoted(line, subs), posix=True, punctuation_chars=";&|<>")
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        return list(lex)
    except ValueError as exc:
        raise ShellSyntaxError(str(exc)) from exc


def unprotect(word: str) -> str:
    return word.translate(_UNPROTECT_TABLE)


def _is_op(tok: str) -> bool:
    return bool(tok) and all(c in ";&|<>" for c in tok)


@dataclass
class SimpleCommand:
    words: list[str]
    redirs: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[SimpleCommand]


def parse(line: str, subs: list[str] | None = None) -> list[tuple[str | None, Pipeline]]:
    """Parse into an and-or list: [(op_before, pipeline), ...]."""
    tokens = tokenize(line, subs)
    items: list[tuple[str | None, Pipeline]] = []
    cur = SimpleCommand([])
    pipe: list[SimpleCommand] = []
    op_before: str | None = None
    i = 0

    def finish_command(tok: str) -> None:
        if not cur.words and not cur.redirs:
            raise ShellSyntaxError(f"syntax error near unexpected token `{tok}'")
        pipe.append(cur)

    while i < len(tokens):
        tok = tokens[i]
        if _is_op(tok) and tok in _REDIRS:
            fd = 0 if tok == "<" else 1
            if cur.words and cur.words[-1] in ("1", "2") and tok != "<":
                fd = int(cur.words.pop())
            if i + 1 >= len(tokens) or _is_op(tokens[i + 1]):
                nxt = tokens[i + 1] if i + 1 < len(tokens) else "newline"
                raise ShellSyntaxError(f"syntax error near unexpected token `{nxt}'")
            cur.redirs.append((fd, tok, tokens[i + 1]))
            i += 2
            continue
        if _is_op(tok):
            if tok not in _OPERATORS:
                raise ShellSyntaxError(f"syntax error near unexpected token `{tok}'")
            finish_command(tok)
            cur = SimpleCommand([])
            if tok != "|":
                items.append((op_before, Pipeline(pipe)))
                pipe = []
                op_before = ";" if tok == "&" else tok
            i += 1
            continue
        cur.words.append(tok)
        i += 1
    if cur.words or cur.redirs:
        pipe.append(cur)
    elif pipe or op_before in ("&&", "||"):
        raise ShellSyntaxError("syntax error: unexpected end of file")
    if pipe:
        items.append((op_before, Pipeline(pipe)))
    return items


def expand_braces(word: str) -> list[str]:
    """bash brace expansion for `pre{a,b}post` and `{1..3}` (nested handled recursively)."""
    depth, start = 0, -1
    for i, c in enumerate(word):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = word[start + 1:i]
                alts = _split_top(inner)
                if alts is None:
                    m = re.fullmatch(r"(-?\d+)\.\.(-?\d+)", inner)
                    if not m:
                        rest = expand_braces(word[i + 1:])
                        return [word[:i + 1] + r for r in rest]
                    a, b = int(m.group(1)), int(m.group(2))
                    if abs(b - a) > 10_000:
                        rest = expand_braces(word[i + 1:])
                        return [word[:i + 1] + r for r in rest]
                    step = 1 if b >= a else -1
                    alts = [str(n) for n in range(a, b + step, step)]
                pre, post = word[:start], word[i + 1:]
                out: list[str] = []
                for alt in alts:
                    out.extend(expand_braces(pre + alt + post))
                return out
    return [word]


def _split_top(inner: str) -> list[str] | None:
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c == "{"
        depth -= c == "}"
        cur += c
    parts.append(cur)
    return parts if len(parts) > 1 else None


class Ctx:
    """What a command sees: arguments' shell, stdin text, and its output chunks."""

    def __init__(self, shell: Shell, stdin: str = "") -> None:
        self.shell = shell
        self.os = shell.os
        self.stdin = stdin
        self.chunks: list[tuple[int, str]] = []
        self.duration = 0.0
        self.tty = False
        """stdout goes to the session's terminal (PTY shell, not piped or redirected)."""

    @property
    def cwd(self) -> str:
        return self.shell.cwd

    def out(self, text: str) -> None:
        if text:
            self.chunks.append((1, text))

    def err(self, text: str) -> None:
        if text:
            self.chunks.append((2, text))

    def abspath(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path)) if path else self.cwd

    def run(self, argv: list[str], stdin: str | None = None) -> int:
        """Run another command (for `timeout`, `sudo`, ...) sharing this context's output."""
        return self.shell.run_argv(self, argv, self.stdin if stdin is None else stdin)


class Shell:
    """One bash session: cwd, variables and the last status persist across lines."""

    def __init__(self, os: SimOS, cwd: str = "/root") -> None:
        self.os = os
        self.cwd = cwd
        self.last_status = 0
        self.env = {"HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/bash",
                    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "LANG": "C", "TERM": "xterm"}
        self.exit_requested: int | None = None
        self.term_cols: int | None = None
        """Terminal width when the session has a PTY (None for exec)."""
        self.nested: tuple[str, str, SimOS] | None = None
        """(name, address, machine) an interactive `ssh` asked to log into (PTY sessions)."""

    def run(self, line: str) -> ExecResult:
        chunks, status, duration = self.run_chunks(line)
        out = "".join(t for s, t in chunks if s == 1)
        err = "".join(t for s, t in chunks if s == 2)
        return ExecResult(out, err, status, duration)

    def run_chunks(self, line: str) -> tuple[list[tuple[int, str]], int, float]:
        """Run a command line; return ordered output chunks (1=stdout, 2=stderr)."""
        top = Ctx(self)
        self._subs: list[str] = []
        try:
            items = parse(line, self._subs)
        except ShellSyntaxError as exc:
            top.err(f"bash: {exc}\n")
            self.last_status = 2
            return top.chunks, 2, 0.0
        status = self.last_status if not items else 0
        for op, pipeline in items:
            if self.exit_requested is not None:
                break
            if (op == "&&" and status != 0) or (op == "||" and status == 0):
                continue
            status = self._run_pipeline(top, pipeline)
            self.last_status = status
        return top.chunks, status, top.duration

    def _run_pipeline(self, top: Ctx, pipeline: Pipeline) -> int:
        stdin = ""
        status = 0
        n = len(pipeline.commands)
        for idx, cmd in enumerate(pipeline.commands):
            ctx = Ctx(self, stdin)
            ctx.tty = (self.term_cols is not None and idx == n - 1
                       and not any(fd == 1 for fd, op, _ in cmd.redirs if op != "<"))
            status = self._run_simple(ctx, cmd)
            top.duration += ctx.duration
            piped: list[str] = []
            for stream, text in self._route(ctx, cmd):
                if stream == 1 and idx < n - 1:
                    piped.append(text)
                else:
                    top.chunks.append((stream, text))
            stdin = "".join(piped)
        return status

    def _route(self, ctx: Ctx, cmd: SimpleCommand) -> list[tuple[int, str]]:
        """Apply redirections to a command's output chunks."""
        target: dict[int, object] = {1: 1, 2: 2}
        for fd, op, word in cmd.redirs:
            word = unprotect(self.expand_vars(word))
            if op == "<":
                continue
            if op == ">&":
                target[fd] = target.get(int(word), int(word)) if word.isdigit() else ("f", word,
                                                                                    False)
                continue
            if word == "/dev/null":
                target[fd] = None
            else:
                target[fd] = ("f", word, op == ">>")
        routed: list[tuple[int, str]] = []
        files: dict[tuple[str, bool], list[str]] = {}
        for stream, text in ctx.chunks:
            dest = target.get(stream, stream)
            if dest is None:
                continue
            if isinstance(dest, tuple):
                files.setdefault((dest[1], dest[2]), []).append(text)
            else:
                routed.append((int(dest), text))
        for _fd, op, word in cmd.redirs:
            if op in (">", ">>") and word != "/dev/null" and not (files.get((word, op == ">>"))):
                files.setdefault((unprotect(word), op == ">>"), [])
        for (path, append), texts in files.items():
            try:
                self.os.fs.write(path, "".join(texts), mtime=self.os.now(), append=append,
                                 cwd=self.cwd, check=True)
            except FsError as exc:
                routed.append((2, f"bash: {path}: {exc.strerror}\n"))
        return routed

    def _run_simple(self, ctx: Ctx, cmd: SimpleCommand) -> int:
        for fd, op, word in cmd.redirs:
            if op == "<" and fd == 0:
                path = unprotect(self.expand_vars(word))
                try:
                    ctx.stdin = self.os.fs.read(path, self.cwd)
                except FsError as exc:
                    ctx.err(f"bash: {path}: {exc.strerror}\n")
                    return 1
        words = list(cmd.words)
        assigns: dict[str, str] = {}
        while words and _ASSIGN.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            assigns[name] = unprotect(self.expand_vars(value))
        if assigns and not words:
            self.env.update(assigns)
            return 0
        argv = self.expand_words(words)
        for text in self._sub_errors:
            ctx.err(text)
        if not argv:
            return self.last_status if cmd.words else 0
        return self.run_argv(ctx, argv, ctx.stdin)

    def run_argv(self, ctx: Ctx, argv: list[str], stdin: str) -> int:
        saved, ctx.stdin = ctx.stdin, stdin
        try:
            return self.os.dispatch(ctx, argv)
        finally:
            ctx.stdin = saved

    # --- expansions -------------------------------------------------------------------------
    def expand_vars(self, word: str) -> str:
        def sub(m: re.Match[str]) -> str:
            name = m.group(1).strip("{}")
            if name == "?":
                return str(self.last_status)
            if name == "PWD":
                return self.cwd
            return self.env.get(name, "")
        return _VAR.sub(sub, word)

    def _substitute(self, m: re.Match[str]) -> str:
        code = ord(m.group(0))
        idx = code - (_SUB_QUOTED if code >= _SUB_QUOTED else _SUB_BASE)
        subs = getattr(self, "_subs", [])
        if idx >= len(subs):
            return ""
        sub = Shell(self.os, self.cwd)
        sub.env = dict(self.env)
        sub.last_status = self.last_status
        chunks, status, _ = sub.run_chunks(subs[idx])
        self.last_status = status
        self._sub_errors.extend(t for s, t in chunks if s == 2)
        text = "".join(t for s, t in chunks if s == 1).rstrip("\n")
        return text.translate(str.maketrans(_PROTECT)) if code >= _SUB_QUOTED else text

    def expand_words(self, words: list[str]) -> list[str]:
        out: list[str] = []
        self._sub_errors: list[str] = []
        for word in words:
            word = self.expand_vars(word)
            if _SUB_RE.search(word):
                split = any(_SUB_BASE <= ord(c) < _SUB_QUOTED for c in word)
                word = _SUB_RE.sub(self._substitute, word)
                if split:
                    out.extend(unprotect(w) for w in word.split())
                    continue
            for piece in expand_braces(word):
                if piece.startswith("~") and (len(piece) == 1 or piece[1] == "/"):
                    piece = self.env["HOME"] + piece[1:]
                out.extend(self._glob(piece))
        return out

    def _glob(self, word: str) -> list[str]:
        if not any(c in word for c in "*?["):
            return [unprotect(word)]
        absolute = word.startswith("/")
        parts = [p for p in word.split("/") if p]
        paths = ["/" if absolute else ""]
        for part in parts:
            nxt: list[str] = []
            for base in paths:
                if any(c in part for c in "*?["):
                    try:
                        node = self.os.fs.lookup(base or ".", self.cwd)
                    except FsError:
                        continue
                    if not isinstance(node, Dir):
                        continue
                    pat = unprotect(part)
                    for name in sorted(node.entries()):
                        if name.startswith(".") and not pat.startswith("."):
                            continue
                        if fnmatch.fnmatchcase(name, pat):
                            nxt.append(posixpath.join(base, name) if base else name)
                else:
                    nxt.append(posixpath.join(base, unprotect(part)) if base else unprotect(part))
            paths = nxt
        matches = [p for p in paths if self.os.fs.exists(p, self.cwd)]
        return matches or [unprotect(word)]
