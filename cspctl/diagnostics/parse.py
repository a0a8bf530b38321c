"""Parsers for the plain Linux output the checks read (formats: docs/cloudstack.md §7 and §9).

Remote commands stay what an operator would type; all interpretation happens here, where it
can be unit-tested on real-format samples.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime


def parse_cmdline(text: str) -> dict[str, str]:
    """``/var/cache/cloud/cmdline``: one line of ``key=value`` pairs (bare words -> "")."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    result: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if key:
            result[key] = value if sep else ""
    return result


def cmdline_hosts(cmdline: dict[str, str]) -> list[str]:
    """Management server addresses from ``host=`` (4.11+ may be a comma list)."""
    return [h.strip() for h in cmdline.get("host", "").split(",") if h.strip()]


def parse_pids(text: str) -> list[int]:
    """``pgrep`` output: one pid per line."""
    return [int(w) for w in text.split() if w.isdigit()]


_PORT_RE = re.compile(r"[:\]](\d+)$")
_ADDR_PORT_RE = re.compile(r"^[^\s()\"]*[:\]](?:\d+|\*)$")
_TCP_STATES = frozenset({
    "LISTEN", "ESTAB", "ESTABLISHED", "SYN-SENT", "SYN_SENT", "SYN-RECV", "SYN_RECV",
    "FIN-WAIT-1", "FIN_WAIT1", "FIN-WAIT-2", "FIN_WAIT2", "TIME-WAIT", "TIME_WAIT", "CLOSE",
    "CLOSE-WAIT", "CLOSE_WAIT", "LAST-ACK", "LAST_ACK", "CLOSING", "UNCONN",
})
_HEADER_NAMES = (
    (re.compile(r"Local\s+Address(?::Port)?"), "Local"),
    (re.compile(r"(?:Peer|Foreign)\s+Address(?::Port)?"), "Peer"),
    (re.compile(r"PID/Program\s+name"), "Program"),
)


@dataclass(frozen=True)
class Socket:
    """One TCP socket row of ``ss -tn[l]`` or ``netstat -tn[l]``."""

    state: str
    local: str
    peer: str

    @property
    def local_port(self) -> int | None:
        return _port(self.local)

    @property
    def peer_port(self) -> int | None:
        return _port(self.peer)

    @property
    def peer_host(self) -> str:
        return _host(self.peer)


def _port(address: str) -> int | None:
    match = _PORT_RE.search(address)
    return int(match.group(1)) if match else None


def _host(address: str) -> str:
    host = re.sub(r":(?:\d+|\*)$", "", address)
    return host.strip("[]")


def _socket_columns(header: str) -> list[str]:
    """Header words with the multi-word names joined (``Local Address:Port`` -> ``Local``)."""
    for pattern, name in _HEADER_NAMES:
        header = pattern.sub(name, header)
    return header.replace("PortProcess", " Process").split()


def parse_sockets(text: str) -> list[Socket]:
    """TCP sockets from ``ss``/``netstat`` output, columns found by the header line.

    Tolerates every layout seen on real userlands: iproute2 with or without a ``Netid``
    column (``ss -ln``), no header (``ss -H``), net-tools ``netstat`` with its banner line,
    IPv6 ``[::]:80``/``:::80`` and Debian 7's ``*:80``.
    """
    sockets: list[Socket] = []
    cols_of: dict[str, int] | None = None
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if "State" in line and ("Local" in line or "Recv-Q" in line):
            cols_of = {name: i for i, name in enumerate(_socket_columns(line))}
            continue
        if cols_of is not None and {"Local", "Peer"} <= cols_of.keys() \
                and len(words) > max(cols_of["Local"], cols_of["Peer"]):
            local, peer = words[cols_of["Local"]], words[cols_of["Peer"]]
            state_i = cols_of.get("State")
            state = words[state_i] if state_i is not None and state_i < len(words) else ""
            if words[0].lower().startswith(("udp", "raw", "u_", "nl", "p_")):
                continue
            if _ADDR_PORT_RE.match(local) and _ADDR_PORT_RE.match(peer):
                sockets.append(Socket(state.upper(), local, peer))
                continue
        # no (usable) header: the first two address:port words and the state word
        addrs = [w for w in words if _ADDR_PORT_RE.match(w)]
        if len(addrs) >= 2 and not words[0].lower().startswith(("udp", "raw", "u_", "nl")):
            state = next((w for w in words if w.upper() in _TCP_STATES), "")
            sockets.append(Socket(state.upper(), addrs[0], addrs[1]))
    return sockets


def parse_listening_ports(text: str) -> set[int]:
    """TCP ports in LISTEN state from ``ss -ltn[p]`` or ``netstat -ltn[p]``."""
    return {s.local_port for s in parse_sockets(text)
            if s.state == "LISTEN" and s.local_port is not None}


def established_to(text: str, port: int) -> list[Socket]:
    """Established connections whose peer port is ``port`` (``ss -tn``, ``netstat -tn``)."""
    return [s for s in parse_sockets(text)
            if s.state in ("ESTAB", "ESTABLISHED") and s.peer_port == port]


@dataclass(frozen=True)
class Cwd:
    """A process's working directory as the kernel reports it."""

    path: str
    deleted: bool


def parse_cwd(text: str) -> Cwd | None:
    """The cwd from ``ls -l /proc/PID/cwd``, ``readlink /proc/PID/cwd`` or ``pwdx PID``."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "").rstrip()
    if not line:
        return None
    if " -> " in line:
        target = line.split(" -> ", 1)[1]
    elif re.match(r"^\d+: ", line):
        target = line.split(": ", 1)[1]
    else:
        target = line
    deleted = target.endswith(" (deleted)")
    if deleted:
        target = target[: -len(" (deleted)")]
    return Cwd(target.strip(), deleted)


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


def parse_epoch(text: str) -> int | None:
    """``date -u +%s``."""
    word = text.strip().split()[0] if text.strip() else ""
    return int(word) if word.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class TimeZone:
    """``date '+%z %Z'``: the UTC offset (what matters) and the name (what people read)."""

    offset: str
    """``+0900``; two machines agree on local time exactly when these are equal."""
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({self.offset})" if self.name and self.name != self.offset \
            else self.offset


def parse_tz_offset(text: str) -> TimeZone | None:
    """``date '+%z %Z'`` -> TimeZone; abbreviations differ for one offset (GMT vs UTC)."""
    match = re.search(r"([+-]\d{2}:?\d{2})(?:\s+(\S+))?", text)
    if not match:
        return None
    offset = match.group(1).replace(":", "")
    return TimeZone(offset, match.group(2) or offset)


@dataclass(frozen=True)
class ServiceState:
    running: bool
    pid: int | None


def parse_service_status(text: str, exit_status: int | None) -> ServiceState:
    """``service cloud status`` (sysvinit text) or ``systemctl is-active cloud``."""
    low = text.lower()
    pid_match = re.search(r"(?:process id|pid)\s*[:=]?\s*(\d+)", low)
    pid = int(pid_match.group(1)) if pid_match else None
    if "not running" in low or "inactive" in low or "failed" in low or "dead" in low:
        return ServiceState(False, pid)
    if "is running" in low or low.strip() == "active" or "active (running)" in low:
        return ServiceState(True, pid)
    return ServiceState(exit_status == 0, pid)


def parse_http_code(text: str) -> int | None:
    """``curl -s -o /dev/null -w '%{http_code}' URL`` (000 when nothing answered)."""
    match = re.search(r"\b(\d{3})\b", text)
    if not match:
        return None
    code = int(match.group(1))
    return code or None


def parse_wget_status(text: str) -> int | None:
    """``wget -q -S -O /dev/null URL``: the last ``HTTP/1.x NNN`` line."""
    codes = re.findall(r"HTTP/\d(?:\.\d)?\s+(\d{3})", text)
    return int(codes[-1]) if codes else None


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


def parse_openssl_enddate(text: str) -> datetime | None:
    """``openssl x509 -noout -enddate``: ``notAfter=May 12 05:33:07 2027 GMT``."""
    match = re.search(r"notAfter=(.+)", text)
    if not match:
        return None
    value = " ".join(match.group(1).split())
    for fmt in ("%b %d %H:%M:%S %Y %Z", "%b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def parse_release(text: str) -> str | None:
    """``/etc/cloudstack-release``: ``Cloudstack Release 4.8.0 Mon Feb ...`` -> ``4.8.0``."""
    match = re.search(r"(\d+\.\d+(?:\.\d+)*)", text)
    return match.group(1) if match else None


def parse_version(value: str | None) -> tuple[int, ...]:
    """``4.11.3.0-SNAPSHOT`` -> ``(4, 11, 3, 0)``; empty tuple when unparseable."""
    if not value:
        return ()
    match = re.match(r"\s*(\d+(?:\.\d+)*)", value)
    if not match:
        return ()
    return tuple(int(p) for p in match.group(1).split("."))


def same_release(a: str | None, b: str | None, parts: int = 3) -> bool | None:
    """Compare two versions on their first ``parts`` components (None if one is unknown)."""
    va, vb = parse_version(a), parse_version(b)
    if not va or not vb:
        return None
    pad_a = (va + (0,) * parts)[:parts]
    pad_b = (vb + (0,) * parts)[:parts]
    return pad_a == pad_b


def parse_nslookup(text: str) -> list[str]:
    """Addresses answered by ``nslookup NAME`` (the server's own address is left out)."""
    addresses: list[str] = []
    after_name = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Name:"):
            after_name = True
        elif after_name and stripped.startswith("Address"):
            addresses.append(stripped.split(":", 1)[1].strip().split()[0])
    return addresses


def parse_getent_hosts(text: str) -> list[str]:
    """``getent hosts NAME``: ``151.101.2.132   cloudstack.apache.org`` lines."""
    return [line.split()[0] for line in text.splitlines()
            if len(line.split()) >= 2 and re.fullmatch(r"[0-9a-fA-F:.]+", line.split()[0])]


def parse_nameservers(text: str) -> list[str]:
    """``cat /etc/resolv.conf``."""
    return [
        line.split()[1]
        for line in text.splitlines()
        if line.strip().startswith("nameserver") and len(line.split()) > 1
    ]


@dataclass(frozen=True)
class TlsInfo:
    """What ``curl -skv`` tells about the server certificate."""

    subject: str | None
    expires: datetime | None
    verify_result: str | None


def parse_curl_tls(text: str) -> TlsInfo | None:
    """``curl -skv -o /dev/null https://…`` stderr: subject, expire date, verify result."""
    subject = expires = verify = None
    for line in text.splitlines():
        body = line.lstrip("*").strip()
        if body.startswith("subject:"):
            subject = body.split(":", 1)[1].strip()
        elif body.startswith("expire date:"):
            value = " ".join(body.split(":", 1)[1].split())
            for fmt in ("%b %d %H:%M:%S %Y %Z", "%b %d %H:%M:%S %Y"):
                try:
                    expires = datetime.strptime(value, fmt).replace(tzinfo=UTC)
                    break
                except ValueError:
                    continue
        elif body.startswith("SSL certificate verify result:"):
            verify = body.split(":", 1)[1].strip()
    if subject is None and expires is None:
        return None
    return TlsInfo(subject, expires, verify)


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


def parse_ps_lstart(text: str, pid: int) -> datetime | None:
    """``ps -o pid,lstart,args -p PID``: the start time (VM local time, naive).

    The PID column is found by the header (procps right-aligns it; busybox has no lstart);
    ``lstart`` is always five words (``Wed Dec  2 04:53:46 2026``).
    """
    pid_i = 0
    for line in text.splitlines():
        cols = line.split()
        if "PID" in cols:
            pid_i = cols.index("PID")
            continue
        if len(cols) >= pid_i + 6 and cols[pid_i] == str(pid):
            try:
                return datetime.strptime(" ".join(cols[pid_i + 1:pid_i + 6]),
                                         "%a %b %d %H:%M:%S %Y")
            except ValueError:
                return None
    return None


def parse_systemctl_show(text: str) -> list[str]:
    """``systemctl show -p Id -p ActiveState -p InactiveExitTimestamp -p ActiveEnterTimestamp
    UNIT…`` (blank-line separated blocks) -> ``"cloud-early-config active 12 s"`` per unit.

    The duration is ActiveEnter - InactiveExit (how long the unit took to start); units that
    never ran show only their state.
    """
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit = props.get("Id", "").removesuffix(".service")
        if not unit:
            continue
        took = ""
        start, ready = (_systemd_time(props.get(k, "")) for k in
                        ("InactiveExitTimestamp", "ActiveEnterTimestamp"))
        if start and ready:
            took = f" {int((ready - start).total_seconds())} s"
        out.append(f"{unit} {props.get('ActiveState', '?')}{took}")
    return out


def _systemd_time(value: str) -> datetime | None:
    """``Mon 2026-11-30 05:21:08 UTC`` (the zone word is dropped: both ends share it)."""
    words = value.split()
    if len(words) < 3:
        return None
    try:
        return datetime.strptime(f"{words[1]} {words[2]}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def parse_domstate(text: str, name: str | None = None) -> str | None:
    """``virsh domstate NAME`` (``running``, ``shut off``) or the row of ``virsh list --all``."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if name is not None:
        for line in lines:
            cols = line.split(None, 2)
            if len(cols) == 3 and cols[1] == name:
                return cols[2].strip()
    if lines and not lines[0].startswith(("Id", "error", "-")) and len(lines) == 1:
        return lines[0]
    return None


def parse_log_date_lines(text: str) -> list[datetime]:
    """Times of ``date``-stamped lines (``Tue Nov 24 04:16:07 UTC 2026 …``), naive local."""
    times = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 6:
            try:
                times.append(datetime.strptime(" ".join([*cols[:4], cols[5]]),
                                               "%a %b %d %H:%M:%S %Y"))
            except ValueError:
                continue
    return times


def mentions(text: str, name: str) -> bool:
    """Does free text name this VM as a whole word (``v-2-VM`` but not ``v-22-VM``)?"""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None
