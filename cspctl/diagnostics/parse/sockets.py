"""TCP sockets from ``ss`` and ``netstat`` (every layout real userlands print)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
