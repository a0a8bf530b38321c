"""Network tools: ss, netstat, nc, socat, ping, nslookup, ip, route (curl, wget: webclients.py).

They ask the machine (`ctx.os`) about reachability (`tcp_connect`, `ping_ok`, `resolve`,
`http_request`); the answers depend on the machine's state and faults.
"""

from __future__ import annotations

import re

from .options import parse_options
from .registry import command
from .shell import Ctx

SERVICES = {22: "ssh", 80: "http", 443: "https", 111: "sunrpc", 8080: "http-alt",
            2049: "nfs", 53: "domain"}


def _port_name(port: int, numeric: bool) -> str:
    return str(port) if numeric else SERVICES.get(port, str(port))


def _ss_addr(addr: str) -> tuple[str, str]:
    """Local bind address -> (shown local address, shown peer address)."""
    if addr == "*":
        return "*", "*"
    if ":" in addr:
        return f"[{addr}]", "[::]"
    return addr, "0.0.0.0"


@command("ss", directory="/sbin")
def cmd_ss(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "ss", args[1:], "ntlapuxeH46",
                      ("numeric", "tcp", "listening", "all", "processes", "udp", "no-header"))
    if o is None:
        return 1
    numeric = o.has("n", "numeric")
    procs = o.has("p", "processes")
    listening = o.has("l", "listening")
    show_all = o.has("a", "all")
    head = "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess"
    rows: list[tuple[str, int, int, str, str, str, str, str]] = []
    if listening or show_all:
        for addr, port, proc, fd in ctx.os.listening():
            local, peer = _ss_addr(addr)
            users = f'users:(("{proc.comm}",pid={proc.pid},fd={fd}))'
            rows.append(("LISTEN", 0, ctx.os.backlog(proc), local, _port_name(port, numeric),
                         peer, "*", users))
    if not listening or show_all:
        for state, local, lport_n, peer, pport_n, owner, fd in ctx.os.connections():
            users = f'users:(("{owner.comm}",pid={owner.pid},fd={fd}))' if owner else ""
            rows.append((state, 0, 0 if state != "SYN-SENT" else 1, local,
                         _port_name(lport_n, numeric), peer, _port_name(pport_n, numeric), users))
    w_local = max([13, *(len(r[3]) for r in rows)])
    w_lport = max([4, *(len(r[4]) for r in rows)])
    w_peer = max([12, *(len(r[5]) for r in rows)])
    w_pport = max([4, *(len(r[6]) for r in rows)])
    w_state = max([6, *(len(r[0]) for r in rows)])
    head = (f"{'State':<{w_state}} Recv-Q Send-Q {'Local Address':>{w_local}}:"
            f"{'Port':<{w_lport}}  {'Peer Address':>{w_peer}}:{'Port':<{w_pport}}Process")
    out = [head]
    for state, rq, sq, local, lport, peer, pport, users in rows:
        line = (f"{state:<{w_state}} {rq:<6} {sq:<6} {local:>{w_local}}:{lport:<{w_lport}}  "
                f"{peer:>{w_peer}}:{pport:<{w_pport}}")
        out.append(line + (" " + users if procs and users else ""))
    ctx.out("".join(ln + "\n" for ln in out))
    return 0


def _netstat_addr(addr: str, port: int, numeric: bool) -> tuple[str, str, str]:
    p = _port_name(port, numeric)
    if addr == "*" or ":" in addr:
        return "tcp6", f":::{p}" if addr in ("*", "::") else f"{addr}:{p}", ":::*"
    return "tcp", f"{addr}:{p}", "0.0.0.0:*"


@command("netstat")
def cmd_netstat(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "netstat", args[1:], "ntlapuxe",
                      ("numeric", "tcp", "listening", "all", "programs", "udp"))
    if o is None:
        return 1
    flags = "".join(k for k in o.opts if len(k) == 1)
    flags += "l" if o.has("listening") else ""
    flags += "a" if o.has("all") else ""
    numeric = o.has("n", "numeric")
    procs = o.has("p", "programs")
    if "l" in flags:
        ctx.out("Active Internet connections (only servers)\n")
    elif "a" in flags:
        ctx.out("Active Internet connections (servers and established)\n")
    else:
        ctx.out("Active Internet connections (w/o servers)\n")
    head = ("Proto Recv-Q Send-Q Local Address           Foreign Address         State      ")
    ctx.out(head + (" PID/Program name" if procs else "") + "\n")
    rows = []
    if "l" in flags or "a" in flags:
        for addr, port, proc, _fd in ctx.os.listening():
            proto, local, foreign = _netstat_addr(addr, port, numeric)
            rows.append((proto, local, foreign, "LISTEN", f"{proc.pid}/{proc.comm}"))
    if "l" not in flags:
        for state, local, lport, peer, pport, owner, _fd in ctx.os.connections():
            name = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT"}.get(state, state)
            rows.append(("tcp", f"{local}:{_port_name(lport, numeric)}",
                         f"{peer}:{_port_name(pport, numeric)}", name,
                         f"{owner.pid}/{owner.comm}" if owner else "-"))
    for proto, local, foreign, state, prog in rows:
        line = f"{proto:<5} {0:>6} {0:>6} {local:<23} {foreign:<23} {state:<11}"
        ctx.out(line + (f" {prog}" if procs else "") + "\n")
    return 0




# --- raw TCP ----------------------------------------------------------------------------------
@command("nc", directory="/usr/bin")
def cmd_nc(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "nc", args[1:], "46CDdFhklNnrStUuvZzI:i:M:m:O:P:p:q:s:T:V:W:w:X:x:")
    if o is None:
        return 1
    verbose = o.has("v")
    limit = o.last("w")
    wait = float(limit) if limit is not None else None
    operands = o.operands
    if len(operands) < 2:
        ctx.err("usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n"
                "\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n"
                "\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n"
                "\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n"
                "\t  [destination] [port]\n")
        return 1
    host, port_s = operands[0], operands[1]
    if not port_s.isdigit():
        ctx.err(f"nc: port number invalid: {port_s}\n")
        return 1
    port = int(port_s)
    res = ctx.os.tcp_connect(host, port)
    if res == "open":
        if verbose:
            ctx.err(f"Connection to {host} {port} port [tcp/{SERVICES.get(port, '*')}] "
                    "succeeded!\n")
        return 0
    if res == "resolve":
        ctx.err(f"nc: getaddrinfo for host \"{host}\" port {port}: Name or service not known\n")
        return 1
    if res == "refused":
        if verbose:
            ctx.err(f"nc: connect to {host} port {port} (tcp) failed: Connection refused\n")
        return 1
    ctx.duration += wait if wait is not None else 130.0
    if verbose:
        if wait is not None:
            ctx.err(f"nc: connect to {host} port {port} (tcp) timed out: Operation now in "
                    "progress\n")
        else:
            ctx.err(f"nc: connect to {host} port {port} (tcp) failed: Connection timed out\n")
    return 1


@command("socat", directory="/usr/bin")
def cmd_socat(ctx: Ctx, args: list[str]) -> int:
    target = next((a for a in args[1:] if a.upper().startswith(("TCP:", "TCP4:"))), None)
    if target is None:
        ctx.err("socat: the lab's socat only connects to TCP:host:port\n")
        return 1
    parts = target.split(",")[0].split(":")
    host, port = parts[1], int(parts[2]) if len(parts) > 2 else 0
    timeout = 130.0
    m = re.search(r"connect-timeout=(\d+(?:\.\d+)?)", target)
    if m:
        timeout = float(m.group(1))
    res = ctx.os.tcp_connect(host, port)
    if res == "open":
        return 0
    stamp = ctx.os.localtime().strftime("%Y/%m/%d %H:%M:%S")
    why = {"refused": "Connection refused", "resolve": "Name or service not known"}.get(
        res, "Connection timed out")
    if res == "timeout":
        ctx.duration += timeout
    ctx.err(f"{stamp} socat[{ctx.os.next_pid}] E connect(5, AF=2 {host}:{port}, 16): {why}\n")
    return 1


@command("ping")
def cmd_ping(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "ping", args[1:], "46nqvc:W:w:i:s:I:t:")
    if o is None:
        return 2
    count = int(o.last("c") or 4)
    limit = o.last("W", "w")
    wait = float(limit) if limit is not None else None
    ops = o.operands
    if not ops:
        ctx.err("ping: usage error: Destination address required\n")
        return 1
    host = ops[0]
    ip = ctx.os.resolve(host)
    if ip is None:
        ctx.err(f"ping: {host}: Name or service not known\n")
        return 2
    ctx.out(f"PING {host} ({ip}) 56(84) bytes of data.\n")
    ok = ctx.os.ping_ok(ip)
    ctx.duration += count - 1 if ok else (wait or count)
    if ok:
        times = [0.372 - 0.017 * i for i in range(count)]
        for i, t in enumerate(times, 1):
            ctx.out(f"64 bytes from {ip}: icmp_seq={i} ttl=64 time={t:.3f} ms\n")
        avg = sum(times) / len(times)
        ctx.out(f"\n--- {host} ping statistics ---\n{count} packets transmitted, {count} "
                f"received, 0% packet loss, time {(count - 1) * 1001}ms\n"
                f"rtt min/avg/max/mdev = {min(times):.3f}/{avg:.3f}/{max(times):.3f}/0.025 ms\n")
        return 0
    ctx.out(f"\n--- {host} ping statistics ---\n{count} packets transmitted, 0 received, "
            f"100% packet loss, time {(count - 1) * 1000 + 20}ms\n\n")
    return 1


@command("nslookup", directory="/usr/bin")
def cmd_nslookup(ctx: Ctx, args: list[str]) -> int:
    ops = [a for a in args[1:] if not a.startswith("-")]
    if not ops:
        ctx.err("nslookup: the lab has no interactive nslookup; give a name\n")
        return 1
    name = ops[0]
    server = ops[1] if len(ops) > 1 else ctx.os.nameserver()
    if server is None or not ctx.os.ping_ok(server):
        ctx.out(";; connection timed out; no servers could be reached\n\n")
        ctx.duration += 15
        return 1
    ctx.out(f"Server:\t\t{server}\nAddress:\t{server}#53\n\n")
    ip = ctx.os.resolve(name, dns_only=True)
    if ip is None:
        ctx.out(f"** server can't find {name}: NXDOMAIN\n\n")
        return 1
    ctx.out(f"Non-authoritative answer:\nName:\t{name}\nAddress: {ip}\n\n")
    return 0


_IP_LONG = {"-br": "--brief"}


@command("ip", directory="/sbin")
def cmd_ip(ctx: Ctx, args: list[str]) -> int:
    # iproute2 spells long options with one dash (`ip -br a`, `ip -details link`)
    words = [_IP_LONG.get(a, "-" + a) if a.startswith("-") and not a.startswith("--")
             and len(a) > 2 else a for a in args[1:]]
    o = parse_options(ctx, "ip", words, "46ors", ("brief", "color=", "oneline", "details",
                                                  "stats"), posix=True)
    if o is None:
        return 255
    sub = o.operands
    obj = sub[0] if sub else ""
    if obj in ("a", "addr", "address"):
        ctx.out(ctx.os.ip_addr_text())
        return 0
    if obj in ("r", "ro", "route"):
        ctx.out("".join(r + "\n" for r in ctx.os.routes()))
        return 0
    if obj in ("l", "link"):
        ctx.out("".join(ln + "\n" for ln in ctx.os.ip_addr_text().splitlines()
                        if not ln.startswith("    inet") and "valid_lft" not in ln))
        return 0
    ctx.err(f'Object "{obj}" is unknown, try "ip help".\n')
    return 255


@command("route", directory="/sbin")
def cmd_route(ctx: Ctx, args: list[str]) -> int:
    ctx.out("Kernel IP routing table\nDestination     Gateway         Genmask         Flags "
            "Metric Ref    Use Iface\n")
    for dest, gw, mask, flags, iface in ctx.os.route_table():
        ctx.out(f"{dest:<15} {gw:<15} {mask:<15} {flags:<5} 0      0        0 {iface}\n")
    return 0
