"""The console proxy: listening ports, static assets, SSL settings and certificate."""

from __future__ import annotations

from datetime import UTC, datetime

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts, probe
from cspctl.diagnostics.checks.base import API, CPVM, SSVM, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

ASSETS = ("js/ajaxviewer.js", "css/ajaxviewer.css", "images/cad.gif")


VNCPORT_PROBE = "cat /root/vncport"


def _curl(asset: str) -> str:
    return f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1/resource/{asset}"



@check("ports", "Console ports listening", applies_to=CPVM, after=("boot-params",),
       probes=(facts.PORTS_PROBE, facts.CMDLINE_PROBE, VNCPORT_PROBE))
async def ports(ctx: CheckContext) -> Finding:
    """80 (443 with SSL on) in ``ss -ltn``; noVNC's port is the 'noVNC port' step."""
    listening = await facts.listening_ports(ctx)
    cmd = await facts.cmdline(ctx) or {}
    wanted = [80]
    if "premium" in cmd and cmd.get("premium", "true") != "false":
        wanted.append(443)
    missing = [w for w in wanted if w not in listening]
    names = [str(w) for w in missing]
    if missing:
        return ctx.fail(
            f"not listening on {', '.join(names)}",
            "The console proxy's java is not serving. Restart the cloud service; if java keeps "
            "dying, read /var/log/cloud.log.",
            "restart-cloud",
        )
    shown = sorted(p for p in listening if p in (80, 443, 8080, 8443))
    return ctx.ok(f"listening on {', '.join(map(str, shown))}")


NOVNC_ADVICE = (
    "Since 4.15 the console is noVNC: the proxy's java serves it on {port} ({why}). It is "
    "not listening, so the console opens blank (apache/cloudstack#7123, #4612). After a patch "
    "that did not finish, /root/vncport (the port the proxy was told to use) is often missing "
    "and restarting the service does not bring the port back: destroy the CPVM so CloudStack "
    "re-creates it with complete files."
)


@check("novnc", "noVNC port listening (4.15+)", applies_to=CPVM,
       after=("boot-params", "ssl-settings"))
async def novnc(ctx: CheckContext) -> Finding:
    """Expected port (8443 with console SSL, a domain and a certificate, else 8080) vs ``ss``."""
    if not await facts.is_at_least(ctx, 4, 15):
        return ctx.skip("no noVNC console before CloudStack 4.15")
    conf = await facts.configurations(ctx, "consoleproxy.sslEnabled", "consoleproxy.url.domain")
    listening = await facts.listening_ports(ctx)
    ssl = _true(conf["consoleproxy.sslEnabled"])
    domain = (conf["consoleproxy.url.domain"] or "").strip()
    certificate = 443 in listening  # the proxy serves TLS only once a certificate is loaded
    if ssl and domain and certificate:
        expected, why = 8443, "console SSL on, a domain and a certificate"
    else:
        missing = [n for n, v in (("console SSL off", ssl),
                                  ("consoleproxy.url.domain empty", domain),
                                  ("no certificate served on 443", certificate)) if not v]
        expected, why = 8080, "plain HTTP: " + ", ".join(missing)
    if not await facts.java_pids(ctx):
        return ctx.skip("the console proxy's java is not running (see 'Agent java process "
                        "running')")
    vncport = await probe.vm(ctx, VNCPORT_PROBE)
    told = vncport.stdout.strip() if vncport.exit_status == 0 else None
    note = f"/root/vncport says {told}" if told else "/root/vncport is missing"
    if expected in listening:
        return ctx.ok(f"listening on {expected} ({why})")
    other = 8443 if expected == 8080 else 8080
    if other in listening:
        return ctx.fail(
            f"listening on {other}, but {expected} is expected ({why}); {note}",
            f"The console URL CloudStack hands out uses port {expected}, the proxy serves "
            f"{other}: the SSL settings changed after the CPVM booted. Destroy the CPVM so it "
            "boots with the current settings.",
            "recreate",
        )
    return ctx.fail(f"nothing listens on {expected} ({why}); {note}",
                    NOVNC_ADVICE.format(port=expected, why=why), "recreate")


@check("ssvm-ports", "Download/upload ports listening (80, 443)", applies_to=SSVM,
       after=("boot-params",), probes=(facts.PORTS_PROBE,))
async def ssvm_ports(ctx: CheckContext) -> Finding:
    """apache2 on 80/443 for template/ISO downloads and uploads, in ``ss -ltn``."""
    listening = await facts.listening_ports(ctx)
    missing = [p for p in (80, 443) if p not in listening]
    if missing:
        return ctx.warn(
            f"not listening on {', '.join(map(str, missing))}",
            "apache2 on the SSVM serves template/ISO downloads and browser uploads; the agent "
            "starts it. Restart the cloud service (or apache2) and check /var/log/apache2.",
            "restart-cloud",
        )
    return ctx.ok("listening on 80, 443")


@check("static-assets", "Console assets served (js, css, images)", applies_to=CPVM,
       after=("ports",), probes=tuple(_curl(a) for a in ASSETS))
async def static_assets(ctx: CheckContext) -> Finding:
    """HTTP 200 for ajaxviewer.js, ajaxviewer.css and cad.gif, requested inside the VM."""
    codes: dict[str, int | None] = {}
    for asset in ASSETS:
        url = f"http://127.0.0.1/resource/{asset}"
        result = await probe.vm(ctx, _curl(asset), f"wget -q -S -O /dev/null {url}")
        if result.stdout.strip().isdigit():
            codes[asset] = parse.parse_http_code(result.stdout)
        else:
            codes[asset] = parse.parse_wget_status(result.stdout + result.stderr)
    bad = {a: c for a, c in codes.items() if c != 200}
    summary = ", ".join(f"{a.rsplit('/', 1)[-1]} {c or 'no answer'}" for a, c in codes.items())
    if not bad:
        return ctx.ok(summary)
    if all(c is None for c in bad.values()):
        return ctx.fail(
            f"nothing answers on port 80 ({summary})",
            "The console proxy is not serving HTTP; restart the cloud service.",
            "restart-cloud",
        )
    return ctx.fail(
        summary,
        "The console proxy serves /resource/ files relative to its java working directory. "
        "404 for js/css/images means that directory is gone under the running java (see "
        "'Java working directory intact'): the web console cannot load. Protect the asset "
        "dirs and restart the agent (playbook protect-assets).",
        "protect-assets",
    )


REALHOST_ADVICE = (
    "realhostip.com was a DNS service (a-b-c-d.realhostip.com -> a.b.c.d) retired in 2014; "
    "databases upgraded from before 4.3 still carry it. Browsers can no longer resolve or "
    "trust those names, so the console (and SSVM uploads/copies) over HTTPS fail. Either turn "
    "console SSL off (clear consoleproxy.url.domain and secstorage.ssl.cert.domain, set "
    "consoleproxy.sslEnabled and secstorage.encrypt.copy to false) or upload your own "
    "wildcard certificate and set your own domain; then destroy the CPVM and SSVM so they "
    "pick up the settings."
)


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


@check("ssl-settings", "Console SSL settings (consoleproxy.*)", applies_to=CPVM, needs=API)
async def console_ssl(ctx: CheckContext) -> Finding:
    """consoleproxy.url.domain and consoleproxy.sslEnabled (realhostip.com, empty domain)."""
    conf = await facts.configurations(ctx, "consoleproxy.url.domain", "consoleproxy.sslEnabled")
    domain = (conf["consoleproxy.url.domain"] or "").strip()
    enabled = _true(conf["consoleproxy.sslEnabled"])
    if "realhostip.com" in domain.lower():
        if enabled:
            return ctx.fail(f"console SSL on with retired domain {domain}", REALHOST_ADVICE,
                            "ssl-off")
        return ctx.warn(f"consoleproxy.url.domain is the retired {domain} (SSL off)",
                        REALHOST_ADVICE, "ssl-off")
    if enabled and not domain:
        return ctx.warn(
            "consoleproxy.sslEnabled=true but consoleproxy.url.domain is empty",
            "With an empty domain CloudStack silently disables console SSL (4.11.2 threw a "
            "NullPointerException instead). Set your domain and upload its certificate, or "
            "turn SSL off.",
            "ssl-off",
        )
    if enabled:
        return ctx.ok(f"SSL on, domain {domain}")
    return ctx.ok("SSL off" + (f" (domain {domain} unused)" if domain else ""))


@check("ssvm-ssl-settings", "SSVM SSL settings (secstorage.*)", applies_to=SSVM, needs=API)
async def ssvm_ssl(ctx: CheckContext) -> Finding:
    """secstorage.encrypt.copy and secstorage.ssl.cert.domain (realhostip.com)."""
    conf = await facts.configurations(ctx, "secstorage.encrypt.copy",
                                      "secstorage.ssl.cert.domain")
    domain = (conf["secstorage.ssl.cert.domain"] or "").strip()
    encrypt = _true(conf["secstorage.encrypt.copy"])
    if "realhostip.com" in domain.lower():
        if encrypt:
            return ctx.fail(f"encrypted copy on with retired domain {domain}", REALHOST_ADVICE,
                            "ssl-off")
        return ctx.warn(f"secstorage.ssl.cert.domain is the retired {domain}",
                        REALHOST_ADVICE, "ssl-off")
    if encrypt and not domain:
        return ctx.warn(
            "secstorage.encrypt.copy=true but secstorage.ssl.cert.domain is empty",
            "Template/ISO copies over HTTPS need a domain with a certificate; set one or turn "
            "encrypted copy off.",
            "ssl-off",
        )
    return ctx.ok(("encrypted copy on" if encrypt else "encrypted copy off")
                  + (f", domain {domain}" if domain else ""))


def _cn(subject: str | None) -> str | None:
    """``CN=*.example.com`` out of a curl subject line."""
    for part in (subject or "").replace(",", ";").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().upper() == "CN":
            return value.strip()
    return None


def _covers(cn: str, domain: str) -> bool:
    """Does a certificate for ``cn`` serve the console domain (``*.x`` or a plain name)?"""
    cn, domain = cn.lower().rstrip("."), domain.lower().rstrip(".")
    if cn == domain:
        return True
    if domain.startswith("*.") and cn.startswith("*."):
        return cn == domain
    if cn.startswith("*."):
        return domain.split(".", 1)[-1] == cn[2:]
    return False


@check("console-cert", "Console SSL certificate (when SSL is on)", applies_to=CPVM,
       after=("ssl-settings", "ports"))
async def console_cert(ctx: CheckContext) -> Finding:
    """``curl -skv`` to the console's own port 443: certificate subject and expiry."""
    conf = await facts.configurations(ctx, "consoleproxy.sslEnabled", "consoleproxy.url.domain")
    domain = (conf["consoleproxy.url.domain"] or "").strip()
    if not _true(conf["consoleproxy.sslEnabled"]) or not domain:
        return ctx.skip("console SSL is off")
    if "realhostip.com" in domain.lower():
        return ctx.skip("the realhostip.com certificate is covered by 'Console SSL settings'")
    result = await probe.vm(
        ctx, "curl -skv -o /dev/null https://127.0.0.1/resource/js/ajaxviewer.js")
    info = parse.parse_curl_tls(result.stdout + "\n" + result.stderr)
    if info is None or info.expires is None:
        return ctx.fail(
            "no TLS answer on port 443",
            "Console SSL is on but the proxy does not serve TLS: check that the certificate "
            "was uploaded (uploadCustomCertificate) and destroy the CPVM to apply it.",
            "ssl-off",
        )
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    stamp = info.expires.strftime("%Y-%m-%d")
    served = _cn(info.subject)
    if served and not _covers(served, domain):
        expired = " (and expired)" if info.expires <= now else ""
        return ctx.fail(
            f"the proxy serves a certificate for {served}, not for {domain}{expired}",
            "The console's certificate does not match consoleproxy.url.domain, so browsers "
            "refuse the console. Upload the certificate chain and key for your domain "
            "(uploadCustomCertificate) and destroy the CPVM so it picks them up — or turn "
            "console SSL off.",
            "ssl-off",
        )
    if info.expires <= now:
        return ctx.fail(
            f"certificate {info.subject or ''} expired on {stamp}",
            "Browsers refuse the console. Upload a renewed certificate chain and key "
            "(uploadCustomCertificate) and destroy the CPVM, or turn console SSL off.",
            "ssl-off",
        )
    if (info.expires - now).days < 30:
        return ctx.warn(
            f"certificate {info.subject or ''} expires on {stamp}",
            "Renew the console certificate before it expires (uploadCustomCertificate, then "
            "destroy the CPVM).",
        )
    return ctx.ok(f"certificate {info.subject or ''} valid until {stamp}")
