"""Network tools: ss, netstat, curl, wget, nc, socat, ping, nslookup, ip, route.

They ask the machine (`ctx.os`) about reachability (`tcp_connect`, `ping_ok`, `resolve`,
`http_request`); the answers depend on the machine's state and faults.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .registry import command
from .shell import Ctx

SERVICES = {22: "ssh", 80: "http", 443: "https", 111: "sunrpc", 8080: "http-alt",
            2049: "nfs", 53: "domain"}


def _short_flags(args: list[str]) -> str:
    return "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))


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
    flags = _short_flags(args[1:])
    numeric = "n" in flags
    procs = "p" in flags
    listening = "l" in flags
    show_all = "a" in flags
    head = "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess"
    rows: list[tuple[str, int, int, str, str, str, str, str]] = []
    if listening or show_all:
        for addr, port, proc, fd in ctx.os.listening():
            local, peer = _ss_addr(addr)
            users = f'users:(("{proc.comm}",pid={proc.pid},fd={fd}))'
            rows.append(("LISTEN", 0, ctx.os.backlog(proc), local, _port_name(port, numeric),
                         peer, "*", users))
    if not listening or show_all:
        for state, local, lport, peer, pport, proc, fd in ctx.os.connections():
            users = f'users:(("{proc.comm}",pid={proc.pid},fd={fd}))' if proc else ""
            rows.append((state, 0, 0 if state != "SYN-SENT" else 1, local,
                         _port_name(lport, numeric), peer, _port_name(pport, numeric), users))
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
    flags = _short_flags(args[1:])
    numeric = "n" in flags
    procs = "p" in flags
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
        for state, local, lport, peer, pport, proc, _fd in ctx.os.connections():
            name = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT"}.get(state, state)
            rows.append(("tcp", f"{local}:{_port_name(lport, numeric)}",
                         f"{peer}:{_port_name(pport, numeric)}", name,
                         f"{proc.pid}/{proc.comm}" if proc else "-"))
    for proto, local, foreign, state, prog in rows:
        line = f"{proto:<5} {0:>6} {0:>6} {local:<23} {foreign:<23} {state:<11}"
        ctx.out(line + (f" {prog}" if procs else "") + "\n")
    return 0


# --- HTTP clients -----------------------------------------------------------------------------
def _parse_url(url: str) -> tuple[str, str, int, str] | None:
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def _header_text(ctx: Ctx, status: int, reason: str, headers: dict[str, str]) -> str:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


@command("curl", directory="/usr/bin")
def cmd_curl(ctx: Ctx, args: list[str]) -> int:
    silent = show_error = head = insecure = fail = verbose = False
    out_file: str | None = None
    write_out: str | None = None
    timeout: float | None = None
    urls: list[str] = []
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a in ("-o", "--output"):
            out_file = rest.pop(0) if rest else None
        elif a in ("-w", "--write-out"):
            write_out = rest.pop(0) if rest else ""
        elif a in ("-m", "--max-time", "--connect-timeout"):
            timeout = float(rest.pop(0)) if rest else None
        elif a in ("-X", "--request", "-H", "--header", "-d", "--data", "-A", "-u", "-e"):
            if rest:
                rest.pop(0)
        elif a in ("-I", "--head"):
            head = True
        elif a in ("-k", "--insecure"):
            insecure = True
        elif a.startswith("--"):
            verbose = verbose or a == "--verbose"
            silent = silent or a == "--silent"
            show_error = show_error or a == "--show-error"
            fail = fail or a == "--fail"
        elif a.startswith("-") and len(a) > 1:
            letters = a[1:]
            silent = silent or "s" in letters
            show_error = show_error or "S" in letters
            head = head or "I" in letters
            insecure = insecure or "k" in letters
            fail = fail or "f" in letters
            verbose = verbose or "v" in letters
            if letters[-1] in "ow" and rest:
                val = rest.pop(0)
                if letters[-1] == "o":
                    out_file = val
                else:
                    write_out = val
            elif letters[-1] == "m" and rest:
                timeout = float(rest.pop(0))
        else:
            urls.append(a)
    if not urls:
        ctx.err("curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more "
                "information\n")
        return 2
    status = 0
    for url in urls:
        parsed = _parse_url(url)
        if parsed is None:
            ctx.err(f"curl: (1) Protocol \"{url.split(':', 1)[0]}\" not supported\n")
            status = 1
            continue
        scheme, host, port, path = parsed
        res = ctx.os.http_request(scheme, host, port, "HEAD" if head else "GET", path)
        code = 0
        if verbose:
            _curl_verbose_connect(ctx, scheme, host, port, res, insecure)
        if isinstance(res, str):
            err, status, seconds = _curl_error(res, host, port, timeout)
            ctx.duration += seconds
            if not silent or show_error:
                ctx.err(err + "\n")
        elif scheme == "https" and not insecure:
            status = 60
            if not silent or show_error:
                ctx.err("curl: (60) SSL certificate problem: unable to get local issuer "
                        "certificate\nMore details here: https://curl.se/docs/sslcerts.html\n\n"
                        "curl failed to verify the legitimacy of the server and therefore "
                        "could not\nestablish a secure connection to it.\n")
        else:
            code, reason, headers, body = res
            if fail and code >= 400:
                status = 22
                if not silent or show_error:
                    ctx.err(f"curl: (22) The requested URL returned error: {code}\n")
            else:
                if verbose:
                    ctx.err(f"> {'HEAD' if head else 'GET'} {path} HTTP/1.1\n> Host: {host}\n"
                            "> User-Agent: curl/7.88.1\n> Accept: */*\n> \n")
                    ctx.err("".join(f"< {ln}\n" for ln in _header_text(
                        ctx, code, reason, headers).split("\r\n")[:-1]))
                    ctx.err(f"* Connection #0 to host {host} left intact\n")
                text = _header_text(ctx, code, reason, headers) if head else body
                if out_file and out_file != "/dev/null":
                    ctx.os.fs.write(out_file, text, mtime=ctx.os.now(), cwd=ctx.cwd)
                elif not out_file:
                    ctx.out(text)
        if write_out is not None:
            wo = write_out.replace("\\n", "\n").replace("%{http_code}", f"{code:03d}")
            wo = wo.replace("%{response_code}", f"{code:03d}")
            wo = wo.replace("%{time_total}", "0.001873").replace("%{time_connect}", "0.000412")
            ctx.out(re.sub(r"%\{[a-z_]+\}", "", wo))
    return status


def _curl_verbose_connect(ctx: Ctx, scheme: str, host: str, port: int, res: object,
                          insecure: bool) -> None:
    ip = ctx.os.resolve(host) or host
    ctx.err(f"*   Trying {ip}:{port}...\n")
    if isinstance(res, str):
        return
    ctx.err(f"* Connected to {host} ({ip}) port {port} (#0)\n")
    if scheme != "https":
        return
    cert = ctx.os.tls_certificate(port)
    ctx.err("* ALPN: offers h2,http/1.1\n* SSL connection using TLSv1.2 / "
            "ECDHE-RSA-AES256-GCM-SHA384\n* ALPN: server did not agree on a protocol. Uses "
            "default.\n* Server certificate:\n")
    if cert is None:
        return
    import datetime as _dt

    def gmt(t: float) -> str:
        return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime("%b %e %H:%M:%S %Y GMT")

    expired = ctx.os.now() > cert["not_after"]
    verify = "certificate has expired (10)" if expired else \
        "unable to get local issuer certificate (20)"
    ctx.err(f"*  subject: {cert['subject']}\n*  start date: {gmt(cert['not_before'])}\n"
            f"*  expire date: {gmt(cert['not_after'])}\n*  issuer: {cert['issuer']}\n"
            f"*  SSL certificate verify result: {verify}"
            + (", continuing anyway.\n" if insecure else "\n"))


def _curl_error(kind: str, host: str, port: int, timeout: float | None
                ) -> tuple[str, int, float]:
    if kind == "refused":
        return (f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                "Couldn't connect to server", 7, 0.0)
    if kind == "resolve":
        return f"curl: (6) Could not resolve host: {host}", 6, 0.0
    wait = timeout if timeout is not None else 130.0
    ms = int(wait * 1000)
    return (f"curl: (28) Failed to connect to {host} port {port} after {ms} ms: "
            "Timeout was reached", 28, wait)


@command("wget", directory="/usr/bin")
def cmd_wget(ctx: Ctx, args: list[str]) -> int:
    quiet = spider = server_resp = no_check = False
    out_file: str | None = None
    timeout = 900.0
    urls: list[str] = []
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a in ("-O", "--output-document"):
            out_file = rest.pop(0) if rest else None
        elif a.startswith("--output-document="):
            out_file = a.split("=", 1)[1]
        elif a in ("-T", "--timeout", "-t", "--tries"):
            val = rest.pop(0) if rest else "0"
            if a in ("-T", "--timeout"):
                timeout = float(val)
        elif a.startswith("--timeout="):
            timeout = float(a.split("=", 1)[1])
        elif a == "--spider":
            spider = True
        elif a == "--no-check-certificate":
            no_check = True
        elif a in ("--quiet",):
            quiet = True
        elif a in ("--server-response",):
            server_resp = True
        elif a.startswith("-") and not a.startswith("--"):
            letters = a[1:]
            quiet = quiet or "q" in letters
            server_resp = server_resp or "S" in letters
            if letters.endswith("O") and rest:
                out_file = rest.pop(0)
            elif letters.startswith("O") and len(letters) > 1:
                out_file = letters[1:]
        elif not a.startswith("-"):
            urls.append(a)
    if not urls:
        ctx.err("wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\n"
                "Try `wget --help' for more options.\n")
        return 1
    status = 0
    stamp = ctx.os.localtime().strftime("%Y-%m-%d %H:%M:%S")
    for url in urls:
        parsed = _parse_url(url)
        if parsed is None:
            ctx.err(f"{url}: Unsupported scheme.\n")
            status = 1
            continue
        scheme, host, port, path = parsed
        full = f"{scheme}://{host}" + ("" if port in (80, 443) else f":{port}") + path
        if not quiet:
            ctx.err(f"--{stamp}--  {full}\n")
        res = ctx.os.http_request(scheme, host, port, "HEAD" if spider else "GET", path)
        if isinstance(res, str):
            if res == "resolve":
                if not quiet:
                    ctx.err(f"Resolving {host} ({host})... failed: Name or service not known.\n"
                            f"wget: unable to resolve host address '{host}'\n")
            elif not quiet:
                why = "Connection refused" if res == "refused" else "Connection timed out"
                ctx.err(f"Connecting to {host}:{port}... failed: {why}.\n")
            if res != "refused":
                ctx.duration += timeout if res == "timeout" else 0.0
            status = 4
            continue
        if scheme == "https" and not no_check:
            if not quiet:
                ctx.err(f"Connecting to {host}:{port}... connected.\n"
                        f"ERROR: cannot verify {host}'s certificate, issued by "
                        "'CN=realhostip.com':\n  Unable to locally verify the issuer's "
                        "authority.\nTo connect to " + host + " insecurely, use "
                        "`--no-check-certificate'.\n")
            status = 5
            continue
        code, reason, headers, body = res
        if not quiet:
            ctx.err(f"Connecting to {host}:{port}... connected.\n")
            ctx.err("HTTP request sent, awaiting response... ")
        if server_resp:
            ctx.err(("\n" if not quiet else "") + "".join(
                f"  {ln}\n" for ln in _header_text(ctx, code, reason, headers).strip().split(
                    "\r\n")))
        if code >= 400:
            if not quiet:
                ctx.err(("" if server_resp else f"{code} {reason}\n")
                        + f"{stamp} ERROR {code}: {reason}.\n\n")
            status = 8
            continue
        if not quiet:
            size = len(body.encode())
            dest = out_file or path.rsplit("/", 1)[-1] or "index.html"
            ctx.err(("" if server_resp else f"{code} {reason}\n")
                    + f"Length: {size} [{headers.get('Content-type', 'text/html')}]\n"
                    f"Saving to: '{dest}'\n\n{stamp} (1.2 MB/s) - '{dest}' saved "
                    f"[{size}/{size}]\n\n")
        if not spider:
            if out_file == "-":
                ctx.out(body)
            elif out_file != "/dev/null":
                dest = out_file or path.rsplit("/", 1)[-1] or "index.html"
                ctx.os.fs.write(dest, body, mtime=ctx.os.now(), cwd=ctx.cwd)
    return status


# --- raw TCP ----------------------------------------------------------------------------------
@command("nc", directory="/usr/bin")
def cmd_nc(ctx: Ctx, args: list[str]) -> int:
    verbose = zero = False
    wait: float | None = None
    operands: list[str] = []
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a == "-w" and rest:
            wait = float(rest.pop(0))
        elif a.startswith("-w") and a[2:]:
            wait = float(a[2:])
        elif a.startswith("-") and len(a) > 1:
            letters = a[1:]
            if letters.endswith("w") and rest:
                wait = float(rest.pop(0))
            verbose = verbose or "v" in letters
            zero = zero or "z" in letters
        else:
            operands.append(a)
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
    count, wait = 4, None
    ops: list[str] = []
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a in ("-c", "-W", "-w", "-i", "-s") and rest:
            val = rest.pop(0)
            if a == "-c":
                count = int(val)
            elif a in ("-W", "-w"):
                wait = float(val)
        elif a.startswith("-c") and a[2:].isdigit():
            count = int(a[2:])
        elif not a.startswith("-"):
            ops.append(a)
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


@command("ip", directory="/sbin")
def cmd_ip(ctx: Ctx, args: list[str]) -> int:
    sub = [a for a in args[1:] if not a.startswith("-")]
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
