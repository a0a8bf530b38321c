"""A bash-like command line interpreter for the simulated machines (no eval, ever).

Parsing is shparse.py's; this module runs the result: variables, substitutions, globs
against the simulated filesystem, pipelines, redirections and the command table. Supported:
`;`, `&&`, `||`, `|`, `&` (as `;`), `> >> < 2> 2>&1`, `$?`, `$VAR`, `${VAR}`, `$(...)`,
brace expansion (`{a,b}`, `{1..3}`) and globs.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from typing import TYPE_CHECKING

from .fs import Dir, FsError
from .shparse import (
    ASSIGN,
    PROTECT_TABLE,
    SUB_BASE,
    SUB_QUOTED,
    SUB_RE,
    VAR,
    Pipeline,
    ShellSyntaxError,
    SimpleCommand,
    expand_braces,
    parse,
    unprotect,
)
from .spec import ExecResult

if TYPE_CHECKING:
    from .base import SimOS


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
        self._subs: list[str] = []
        """The `$(...)` bodies of the line being run (placeholders point into it)."""
        self._sub_errors: list[str] = []
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
        self._subs = []
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
        target: dict[int, int | tuple[str, str, bool] | None] = {1: 1, 2: 2}
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
        while words and ASSIGN.match(words[0]):
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
        return VAR.sub(sub, word)

    def _substitute(self, m: re.Match[str]) -> str:
        code = ord(m.group(0))
        idx = code - (SUB_QUOTED if code >= SUB_QUOTED else SUB_BASE)
        subs = self._subs
        if idx >= len(subs):
            return ""
        sub = Shell(self.os, self.cwd)
        sub.env = dict(self.env)
        sub.last_status = self.last_status
        chunks, status, _ = sub.run_chunks(subs[idx])
        self.last_status = status
        self._sub_errors.extend(t for s, t in chunks if s == 2)
        text = "".join(t for s, t in chunks if s == 1).rstrip("\n")
        return text.translate(PROTECT_TABLE) if code >= SUB_QUOTED else text

    def expand_words(self, words: list[str]) -> list[str]:
        out: list[str] = []
        self._sub_errors = []
        for word in words:
            word = self.expand_vars(word)
            if SUB_RE.search(word):
                split = any(SUB_BASE <= ord(c) < SUB_QUOTED for c in word)
                word = SUB_RE.sub(self._substitute, word)
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
