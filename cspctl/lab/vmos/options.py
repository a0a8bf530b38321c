"""The one option parser of the lab's commands: GNU getopt, errors as GNU tools print them
(and, for the tools that spell long options with one dash, :func:`parse_single_dash`).

A command declares its options as getopt does (``short="n:fq"``, ``long=("lines=",)``) and
gets them back by name, without dashes; a bad option prints the tool's two usage lines to
stderr and the command exits with ``status`` (2 for ls and grep, 1 for most tools)::

    ls: invalid option -- 'y'
    Try 'ls --help' for more information.
"""

from __future__ import annotations

import getopt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .shell import Ctx


@dataclass
class Parsed:
    """Options by name (``"n"``, ``"lines"``), each with its values in order, and operands."""

    opts: dict[str, list[str]] = field(default_factory=dict)
    operands: list[str] = field(default_factory=list)

    def has(self, *names: str) -> bool:
        return any(n in self.opts for n in names)

    def last(self, *names: str) -> str | None:
        """The value given last to any of ``names`` (None when none was given)."""
        found: str | None = None
        for n in names:
            if n in self.opts:
                found = self.opts[n][-1]
        return found

    def __contains__(self, name: object) -> bool:
        return name in self.opts

    def __getitem__(self, name: str) -> list[str]:
        return self.opts[name]

    def get(self, name: str, default: list[str] | None = None) -> list[str]:
        return self.opts.get(name, default if default is not None else [])


def parse_options(ctx: Ctx, prog: str, args: Sequence[str], short: str,
                  long: Sequence[str] = (), *, posix: bool = False) -> Parsed | None:
    """Parse ``args`` (argv without the name); on a bad option print the usage error, None.

    ``posix``: options end at the first operand (``timeout 3 nc -z ...``).
    """
    try:
        if posix:
            pairs, rest = getopt.getopt(list(args), short, list(long))
        else:
            pairs, rest = getopt.gnu_getopt(list(args), short, list(long))
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
    parsed = Parsed(operands=rest)
    for key, val in pairs:
        parsed.opts.setdefault(key.lstrip("-"), []).append(val)
    return parsed


def parse_single_dash(ctx: Ctx, prog: str, args: Sequence[str], *,
                      flags: Iterable[str] = (), valued: Iterable[str] = (),
                      prefixes: Sequence[str] = (), unknown: str = "{prog}: unknown option "
                      "'{opt}'\n", missing: str = "{prog}: missing argument to '{opt}'\n"
                      ) -> Parsed | None:
    """The other dialect: long names after one dash (``openssl x509 -noout -in F``,
    ``java -version``, ``find / -maxdepth 2 -name X``), each a flag or taking the next word.

    Words with one of ``prefixes`` (``-D``, ``-X`` for java) are kept under that prefix;
    an unknown option or a missing value prints ``unknown``/``missing`` (formatted with
    ``prog`` and ``opt``) and gives None.
    """
    flag_set, valued_set = frozenset(flags), frozenset(valued)
    parsed = Parsed()
    words = list(args)
    while words:
        word = words.pop(0)
        if not word.startswith("-") or word == "-":
            parsed.operands.append(word)
            continue
        name = word[1:]
        prefix = next((p for p in prefixes if word.startswith(p)), None)
        if prefix is not None:
            parsed.opts.setdefault(prefix[1:], []).append(word[len(prefix):])
        elif name in flag_set:
            parsed.opts.setdefault(name, []).append("")
        elif name in valued_set:
            if not words:
                ctx.err(missing.format(prog=prog, opt=word))
                return None
            parsed.opts.setdefault(name, []).append(words.pop(0))
        else:
            ctx.err(unknown.format(prog=prog, opt=word))
            return None
    return parsed
