"""Parsing a bash command line for the lab's shell: quoting, tokens, and-or lists, pipelines,
redirections, brace expansion (no eval, ever). The interpreter is shell.py.

Tokenising is done by :mod:`shlex` (POSIX mode, punctuation chars for `;`, `&&`, `||`, `|`,
redirections). Before that, characters inside quotes that would otherwise be special (braces,
globs, `$`, operators) are swapped for private-use sentinels, so expansions only touch what
bash would expand.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_SPECIAL = "{},*?[]$;&|<>"

PROTECT = {c: chr(0xE000 + i) for i, c in enumerate(_SPECIAL)}

_UNPROTECT = {v: k for k, v in PROTECT.items()}

_UNPROTECT_TABLE = str.maketrans(_UNPROTECT)
_PROTECT_ARG: dict[str, str | int | None] = dict(PROTECT)
PROTECT_TABLE = str.maketrans(_PROTECT_ARG)
"""Text made inert for expansions (a substitution's output inside double quotes)."""

_OPERATORS = {";", "&", "&&", "||", "|"}

_REDIRS = {">", ">>", "<", ">&"}

ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")

VAR = re.compile(r"\$(\?|[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_?][A-Za-z0-9_]*\})")


class ShellSyntaxError(Exception):
    """bash's `syntax error near unexpected token`."""

SUB_BASE = 0xE200

SUB_QUOTED = 0xE600

SUB_RE = re.compile("[\uE200-\uE9FF]")


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
            out.append(chr((SUB_QUOTED if state == '"' else SUB_BASE) + len(subs) - 1))
            i = end + 1
            continue
        if state == "'":
            if c == "'":
                state = ""
            out.append(PROTECT.get(c, c) if c != "'" else c)
        elif state == '"':
            if c == "\\" and i + 1 < len(line) and line[i + 1] in '"\\$`':
                nxt = line[i + 1]
                out.append("\\" + nxt if nxt != "$" else PROTECT["$"])
                i += 2
                continue
            if c == '"':
                state = ""
                out.append(c)
            else:
                out.append(c if c == "$" else PROTECT.get(c, c))
        else:
            if c == "\\" and i + 1 < len(line):
                nxt = line[i + 1]
                out.append(PROTECT[nxt] if nxt in PROTECT else "\\" + nxt)
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
