"""HTTP clients: curl and wget, as the console checks and an operator run them against the
VM's own ports (console assets, TLS certificate) and the outside (`ctx.os.http_request`)."""

from __future__ import annotations

import datetime as _dt
import re
from urllib.parse import urlsplit

from .options import parse_options
from .registry import command
from .shell import Ctx


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
    o = parse_options(ctx, "curl", args[1:], "o:w:m:X:H:d:A:u:e:IksSfvLiO",
                      ("output=", "write-out=", "max-time=", "connect-timeout=", "request=",
                       "header=", "data=", "user-agent=", "user=", "referer=", "head",
                       "insecure", "silent", "show-error", "fail", "verbose", "location",
                       "include", "remote-name"))
    if o is None:
        return 2
    silent = o.has("s", "silent")
    show_error = o.has("S", "show-error")
    head = o.has("I", "head")
    insecure = o.has("k", "insecure")
    fail = o.has("f", "fail")
    verbose = o.has("v", "verbose")
    out_file = o.last("o", "output")
    write_out = o.last("w", "write-out")
    limit = o.last("m", "max-time", "connect-timeout")
    timeout = float(limit) if limit is not None else None
    urls = o.operands
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
    o = parse_options(ctx, "wget", args[1:], "O:T:t:qSc",
                      ("output-document=", "timeout=", "tries=", "spider", "no-check-certificate",
                       "quiet", "server-response", "continue"))
    if o is None:
        return 2
    quiet = o.has("q", "quiet")
    spider = o.has("spider")
    server_resp = o.has("S", "server-response")
    no_check = o.has("no-check-certificate")
    out_file = o.last("O", "output-document")
    limit = o.last("T", "timeout")
    timeout = float(limit) if limit is not None else 900.0
    urls = o.operands
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
