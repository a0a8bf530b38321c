"""File tools over the simulated filesystem: ls, find, touch, rm, readlink, lsattr and chattr
(output as GNU coreutils / e2fsprogs on Debian; du and df: disk.py)."""

from __future__ import annotations

import fnmatch
import math
import posixpath

from ..faults import StepFault, failing
from .fs import Dir, FsError, Node, Symlink, VirtualDir, mode_string
from .options import parse_options, parse_single_dash
from .registry import command
from .shell import Ctx


def fmt_ls_time(ctx: Ctx, t: float) -> str:
    """`%b %e %H:%M`, or `%b %e  %Y` when older than six months or in the future."""
    when = ctx.os.localtime(t)
    now = ctx.os.now()
    if now - t > 182.5 * 86400 or t - now > 3600:
        return when.strftime("%b %e  %Y")
    return when.strftime("%b %e %H:%M")


@command("readlink")
def cmd_readlink(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "readlink", args[1:], "femnqsvz",
                      ("canonicalize", "canonicalize-existing", "canonicalize-missing"))
    if o is None:
        return 1
    canon = o.has("f", "e", "m", "canonicalize", "canonicalize-existing",
                  "canonicalize-missing")
    status = 0
    for path in o.operands:
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


@command("ls")
def cmd_ls(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "ls", args[1:], "lhdaA1tRFiLHSrsn",
                      ("color=", "colour=", "all", "directory", "human-readable", "full-time"))
    if o is None:
        return 2
    operands = o.operands
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


@command("lsattr", directory="/sbin")
def cmd_lsattr(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "lsattr", args[1:], "dRaVv")
    if o is None:
        return 1
    operands = o.operands
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


@command("chattr", directory="/sbin")
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
        if failing(ctx.os.lab_faults, StepFault.CHATTR):
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
    o = parse_options(ctx, "touch", args[1:], "acmd:r:t:", ("no-create", "date=", "reference="))
    if o is None:
        return 1
    status = 0
    for path in o.operands:
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


@command("rm")
def cmd_rm(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "rm", args[1:], "rRfiIdv", ("recursive", "force", "verbose", "dir"))
    if o is None:
        return 1
    recursive = o.has("r", "R", "recursive")
    force = o.has("f", "force")
    status = 0
    for path in o.operands:
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


@command("find")
def cmd_find(ctx: Ctx, args: list[str]) -> int:
    """find's arguments are roots, then an expression of single-dash predicates; the lab
    applies -name/-iname, -type and -maxdepth (other predicates are accepted and ignored)."""
    words = list(args[1:])
    roots: list[str] = []
    while words and not words[0].startswith("-"):
        roots.append(words.pop(0))
    o = parse_single_dash(ctx, "find", words,
                          flags=("print", "xdev", "follow", "depth", "prune", "quit"),
                          valued=("name", "iname", "type", "maxdepth", "mindepth", "path",
                                  "ipath", "newer", "mtime", "mmin", "size", "user", "perm"),
                          unknown="{prog}: unknown predicate `{opt}'\n",
                          missing="{prog}: missing argument to `{opt}'\n")
    if o is None:
        return 1
    name = o.last("name") or o.last("iname")
    kind = o.last("type")
    maxdepth = int(o.last("maxdepth") or 1 << 30)
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
