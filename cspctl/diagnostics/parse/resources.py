"""Disks, memory and files: ``df``, ``free``, mounts, ``ls -l`` sizes, ``lsattr`` flags."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DfRow:
    filesystem: str
    size_kb: int
    used_kb: int
    available_kb: int
    percent: int
    mount: str


_DF_SIZE = {"1024-blocks": 1, "1k-blocks": 1, "512-blocks": 0.5, "4096-blocks": 4}


def parse_df(text: str) -> list[DfRow]:
    """``df -P`` / ``df -k`` / busybox ``df``, columns found by the header; wrapped lines joined.

    The size unit comes from the header (``1024-blocks``, ``1K-blocks``, ``512-blocks`` under
    POSIXLY_CORRECT); ``Use%``/``Capacity`` are both understood; mount points keep spaces.
    """
    rows: list[DfRow] = []
    lines = text.splitlines()
    header = next((ln for ln in lines if ln.startswith("Filesystem")), None)
    factor = 1.0
    if header is not None:
        unit = header.split()[1].lower() if len(header.split()) > 1 else ""
        factor = _DF_SIZE.get(unit, 1.0)
        lines = lines[lines.index(header) + 1:]
    pending: list[str] = []
    for line in lines:
        cols = pending + line.split()
        if len(cols) < 6:
            pending = cols
            continue
        pending = []
        # the percent column is the first NN% (or "-") after three numbers
        pct_i = next((i for i in range(4, len(cols) - 1)
                      if re.fullmatch(r"\d+%|-", cols[i])), None)
        if pct_i is None:
            continue
        try:
            size, used, avail = (int(int(c) * factor) for c in cols[pct_i - 3:pct_i])
        except ValueError:
            continue
        pct = int(cols[pct_i].rstrip("%")) if cols[pct_i] != "-" else 0
        fs = " ".join(cols[:pct_i - 3])
        rows.append(DfRow(fs, size, used, avail, pct, " ".join(cols[pct_i + 1:])))
    return rows


@dataclass(frozen=True)
class Memory:
    total_mb: int
    used_mb: int
    free_mb: int
    available_mb: int
    swap_total_mb: int
    swap_used_mb: int


def parse_free(text: str) -> Memory | None:
    """``free -m`` in both layouts (procps 3.3.10+ with ``available``, older with buffers)."""
    header: list[str] = []
    mem: list[str] = []
    swap: list[str] = []
    buffers_free: int | None = None
    for line in text.splitlines():
        cols = line.split()
        if not cols:
            continue
        if cols[0] == "total":
            header = cols
        elif cols[0] == "Mem:":
            mem = [c for c in cols[1:] if c.isdigit()]
        elif cols[0] == "Swap:":
            swap = [c for c in cols[1:] if c.isdigit()]
        elif cols[0] == "-/+" and len(cols) >= 4:
            buffers_free = int(cols[-1])
    if not mem:
        return None
    values = dict(zip(header, (int(v) for v in mem), strict=False))
    total = values.get("total", int(mem[0]))
    used = values.get("used", int(mem[1]) if len(mem) > 1 else 0)
    free = values.get("free", int(mem[2]) if len(mem) > 2 else 0)
    available = values.get("available")
    if available is None:
        available = buffers_free if buffers_free is not None else free
    swap_values = dict(zip(header, (int(v) for v in swap), strict=False))
    swap_total = swap_values.get("total", int(swap[0]) if swap else 0)
    swap_used = swap_values.get("used", int(swap[1]) if len(swap) > 1 else 0)
    return Memory(total, used, free, available, swap_total, swap_used)


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str
    options: str

    @property
    def read_only(self) -> bool:
        return "ro" in self.options.split(",")


def parse_mounts(text: str) -> list[Mount]:
    """``cat /proc/mounts`` or ``mount`` (``DEV on MNT type FS (OPTS)``)."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[1] == "on" and cols[3] == "type":
            mounts.append(Mount(cols[0], cols[2], cols[4], cols[5].strip("()")))
        elif len(cols) >= 4 and cols[1].startswith("/"):
            mounts.append(Mount(cols[0], cols[1], cols[2], cols[3]))
    return mounts


_LS_LONG = re.compile(
    r"^[-dlcbps][-rwxsStTl.+@]{9}[.+@]?\s+\d+\s+\S+\s+\S+\s+(\d+),?\s+(?:\d+\s+)?"
    r"(?:\S+\s+\S+\s+\S+|\d{4}-\d\d-\d\d \S+(?: [+-]\d{4})?)\s+(.+)$")


def parse_ls_sizes(text: str) -> dict[str, int]:
    """``ls -l FILE…``: path -> size in bytes (GNU, busybox and ``--time-style`` dates)."""
    sizes: dict[str, int] = {}
    for line in text.splitlines():
        match = _LS_LONG.match(line)
        if match:
            name = match.group(2).split(" -> ", 1)[0]
            sizes[name] = int(match.group(1))
    return sizes


def parse_lsattr(text: str) -> dict[str, str]:
    """``lsattr -d PATH…``: path -> flag field (``----i---------e-------``)."""
    flags: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[-a-zA-Z]{4,}", parts[0]):
            flags[parts[1].strip()] = parts[0]
    return flags


def immutable(flag_field: str) -> bool:
    """Is the ``i`` (immutable) attribute set in an lsattr flag field?"""
    return "i" in flag_field
