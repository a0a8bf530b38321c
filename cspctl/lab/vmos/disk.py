"""Disk use: df (the machine's mounts and their use) and du (over the simulated filesystem)."""

from __future__ import annotations

import math

from .files import _blocks, human
from .fs import Dir, FsError, VirtualDir
from .options import parse_options
from .registry import command
from .shell import Ctx


@command("du", directory="/usr/bin")
def cmd_du(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "du", args[1:], "hsackx", ("human-readable", "summarize"))
    if o is None:
        return 1
    status = 0
    for path in o.operands or ["."]:
        try:
            node = ctx.os.fs.lookup(path, ctx.cwd)
        except FsError as exc:
            ctx.err(f"du: cannot access '{path}': {exc.strerror}\n")
            status = 1
            continue
        total = _blocks(node)
        if isinstance(node, Dir) and not isinstance(node, VirtualDir):
            total += sum(_blocks(n) for _, n in ctx.os.fs.walk(node, path))
        size = human(total * 1024) if o.has("h", "human-readable") else str(total)
        ctx.out(f"{size}\t{path}\n")
    return status


@command("df")
def cmd_df(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "df", args[1:], "hPTklia", ("human-readable", "portability", "local",
                                                          "all", "inodes", "print-type"))
    if o is None:
        return 1
    operands = o.operands
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
    human_sizes = o.has("h", "human-readable")
    posix = o.has("P", "portability")
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
