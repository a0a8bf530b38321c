"""The secondary-storage VM: what ssvm-check.sh looks at (DNS, storage; 8250 is shared)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts, probe
from cspctl.diagnostics.checks.base import SSVM, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

LOOKUP_NAME = "cloudstack.apache.org"
STORAGE_FS = ("nfs", "nfs4", "cifs", "smb3")
TEST_FILE = ".cspctl-write-test"
WRITE_TEST_SKIPPED = "write test skipped: read-only mode (no test file written)"


@check("dns", "DNS resolution (nslookup)", applies_to=SSVM,
       probes=("cat /etc/resolv.conf", f"nslookup {LOOKUP_NAME}"))
async def dns(ctx: CheckContext) -> Finding:
    """``nslookup cloudstack.apache.org`` (step 2 of ssvm-check.sh)."""
    resolv = await ctx.vm_run("cat /etc/resolv.conf")
    servers = parse.parse_nameservers(resolv.stdout)
    result = await probe.vm(ctx, f"nslookup {LOOKUP_NAME}", f"getent hosts {LOOKUP_NAME}")
    addresses = parse.parse_nslookup(result.stdout) or parse.parse_getent_hosts(result.stdout)
    if result.exit_status != 0 or not addresses:
        return ctx.fail(
            f"{LOOKUP_NAME} does not resolve (nameservers: {', '.join(servers) or 'none'})",
            "The SSVM needs DNS to download templates and ISOs. Check the zone's DNS settings "
            "(dns1/internaldns1) and that the SSVM's public NIC can reach those servers; "
            "destroy the SSVM after changing the zone's DNS.",
        )
    return ctx.ok(f"{LOOKUP_NAME} -> {', '.join(addresses)}")


@check("secondary-storage", "Secondary storage mounted and writable", applies_to=SSVM,
       probes=("cat /proc/mounts",))
async def secondary_storage(ctx: CheckContext) -> Finding:
    """An NFS/CIFS mount in /proc/mounts, and ``touch`` on it (step 3 of ssvm-check.sh)."""
    # read-only mode writes nothing: the mount is checked, the touch skipped, the summary says so
    result = await ctx.vm_run("cat /proc/mounts")
    mounts = [m for m in parse.parse_mounts(result.stdout) if m.fstype in STORAGE_FS]
    if not mounts:
        return ctx.fail(
            "no secondary storage (NFS/CIFS) mounted",
            "The SSVM has not mounted the secondary storage: templates, ISOs and snapshots "
            "cannot be copied. Check the NFS server is up and exports the path to the SSVM's "
            "storage network (showmount -e SERVER from the SSVM), then restart the cloud "
            "service so it mounts again.",
            "restart-cloud",
        )
    problems = []
    for mount in mounts:
        if mount.read_only:
            problems.append(f"{mount.mountpoint} mounted read-only")
            continue
        if not ctx.may_write:
            continue
        path = f"{mount.mountpoint.rstrip('/')}/{TEST_FILE}"
        touch = await ctx.vm_write(f"touch {path} && rm -f {path}")
        if touch.exit_status != 0:
            why = (touch.stderr or touch.stdout).strip().splitlines()
            detail = why[-1].rsplit(": ", 1)[-1] if why else f"exit {touch.exit_status}"
            problems.append(f"{mount.mountpoint} not writable ({detail})")
    where = ", ".join(f"{m.device} on {m.mountpoint}" for m in mounts)
    if problems:
        return ctx.fail(
            "; ".join(problems),
            "The secondary storage is mounted but cannot be written: check the NFS export "
            "options (rw, no_root_squash) and the server's free space.",
        )
    if not ctx.may_write:
        return ctx.ok(f"{where} mounted read-write; {WRITE_TEST_SKIPPED}")
    return ctx.ok(f"{where} writable")


SSVM_CERT_ADVICE = (
    "The SSVM serves browser uploads and template/ISO copies over HTTPS with the certificate "
    "uploaded for {domain}. {what}, so browsers refuse the upload (the UI shows error 432 or a "
    "network error) and zone-to-zone copies fail (apache/cloudstack#12490, #6815). Upload a "
    "renewed certificate chain and key (uploadCustomCertificate, for the SSVM's domain), then "
    "destroy the SSVM so CloudStack re-creates it with the new certificate (playbook "
    "recreate)."
)


@check("ssvm-cert", "SSVM HTTPS certificate (uploads, copies)", applies_to=SSVM,
       after=("ssvm-ssl-settings", "ssvm-ports"))
async def ssvm_cert(ctx: CheckContext) -> Finding:
    """``curl -skv`` to the SSVM's own port 443: certificate subject, expiry, days left."""
    conf = await facts.configurations(ctx, "secstorage.ssl.cert.domain")
    domain = (conf["secstorage.ssl.cert.domain"] or "").strip()
    if not domain:
        return ctx.ok("no SSVM certificate in use (secstorage.ssl.cert.domain is empty)")
    if "realhostip.com" in domain.lower():
        return ctx.ok("the retired realhostip.com certificate: see 'SSVM SSL settings'")
    result = await probe.vm(ctx, "curl -skv -o /dev/null https://127.0.0.1/")
    info = parse.parse_curl_tls(result.stdout + "\n" + result.stderr)
    if info is None or info.expires is None:
        return ctx.fail(
            "no TLS answer on port 443",
            SSVM_CERT_ADVICE.format(domain=domain, what="The SSVM does not serve TLS at all"),
            "recreate",
        )
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    days = (info.expires - now).days
    stamp = info.expires.strftime("%Y-%m-%d")
    who = info.subject or "?"
    if info.expires <= now:
        return ctx.fail(
            f"certificate {who} expired on {stamp} ({(now - info.expires).days} days ago)",
            SSVM_CERT_ADVICE.format(domain=domain, what=f"It expired on {stamp}"),
            "recreate",
        )
    if days < 30:
        return ctx.warn(
            f"certificate {who} expires on {stamp} ({days} days left)",
            SSVM_CERT_ADVICE.format(domain=domain, what=f"It expires in {days} days"),
            "recreate",
        )
    return ctx.ok(f"certificate {who} valid until {stamp} ({days} days left)")


PKIX_SIGNATURE = "unable to find valid certification path"
PKIX_GREP = f"grep '{PKIX_SIGNATURE}' /var/log/cloud.log"
TRUSTSTORE = re.compile(r"-Djavax\.net\.ssl\.trustStore=(\S+)")

PKIX_ADVICE = (
    "The SSVM's java checks a download server's certificate against the trust store it was "
    "started with ({store}), not the system CA bundle. That keystore is a leftover of the "
    "retired realhostip.com era and lacks today's CAs, so HTTPS template and ISO downloads "
    "fail with PKIX \"unable to find valid certification path\" (apache/cloudstack#9086, "
    "#9962). Destroy the SSVM so it is re-created from the current template (playbook "
    "recreate); if the new one still fails, import the download server's CA into the keystore "
    "(keytool -importcert), or register the template over HTTP."
)


@check("ssvm-download-trust", "Template downloads trust the server (PKIX)", applies_to=SSVM,
       after=("java-process",), probes=(PKIX_GREP,))
async def ssvm_download_trust(ctx: CheckContext) -> Finding:
    """PKIX errors in /var/log/cloud.log, and the trust store java was started with."""
    log = await probe.vm(ctx, PKIX_GREP, tail_only=True)
    lines = [ln for ln in log.stdout.splitlines() if PKIX_SIGNATURE in ln]
    if not lines:
        return ctx.ok("no PKIX errors in /var/log/cloud.log")
    pids = await facts.java_pids(ctx)
    store = "its trust store"
    if pids:
        args = await probe.vm(ctx, f"ps -o args= -p {pids[0]}")
        found = TRUSTSTORE.search(args.stdout)
        if found:
            store = found.group(1)
            await probe.vm(ctx, f"ls -l {facts.SYSTEMVM_DIR}/{store.removeprefix('./')}")
    stamp = " ".join(lines[-1].split()[:2])
    return ctx.fail(f"{len(lines)} HTTPS download(s) failed: {PKIX_SIGNATURE} to requested "
                    f"target (latest {stamp}); java trusts {store}",
                    PKIX_ADVICE.format(store=store), "recreate")


TEMPLATE_ADVICE = (
    "New system VMs are created from the system VM template's file on secondary storage. "
    "{what} (apache/cloudstack#6826: after an upgrade the template row points at a path that "
    "is not on secondary storage). Until it is fixed every new CPVM/SSVM fails to deploy. "
    "Re-seed the template for this zone with cloud-install-sys-tmplt (or register it again and "
    "wait until it is Ready), make sure the directory and file named in template.properties "
    "exist, then destroy the failed system VMs so CloudStack re-creates them (playbook "
    "recreate)."
)
PROPERTIES_FIND = ("find /mnt/SecStorage -maxdepth 6 -path '*/template/tmpl/*' "
                   "-name template.properties")


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


@check("systemvm-template", "System VM template Ready and on secondary storage",
       applies_to=SSVM, after=("secondary-storage",), probes=(PROPERTIES_FIND,))
async def systemvm_template(ctx: CheckContext) -> Finding:
    """``listTemplates templatefilter=system`` per zone; template.properties files and images."""
    zone = ctx.vm.zoneid
    answer = await ctx.api.call("listTemplates", templatefilter="system", zoneid=zone)
    rows = list(answer.get("template") or [])
    ctx.api_evidence(f"listTemplates templatefilter=system zoneid={zone}", "\n".join(
        f"{r.get('name')}: isready={r.get('isready')} status={r.get('status')}"
        for r in rows) or "(none)")
    names = {str(r.get("name")) for r in rows} | {str(r.get("displaytext")) for r in rows}
    not_ready = [r for r in rows if not r.get("isready")]
    if not rows:
        return ctx.fail(f"no system VM template in zone {ctx.vm.zonename or zone}",
                        TEMPLATE_ADVICE.format(what="The zone has none"), "recreate")
    if len(not_ready) == len(rows):
        r = not_ready[0]
        return ctx.fail(f"{r.get('name')} is not Ready in zone {ctx.vm.zonename or zone}: "
                        f"{r.get('status') or 'no status'}",
                        TEMPLATE_ADVICE.format(what="It is not Ready in this zone"), "recreate")
    found = await probe.vm(ctx, PROPERTIES_FIND)
    paths = [p for p in found.stdout.splitlines() if p.endswith("/template.properties")][:10]
    missing: list[str] = []
    for path in paths:
        props = _properties((await ctx.vm_run(f"cat {path}")).stdout)
        filename = props.get("filename", "")
        if not filename or "/" in filename:
            continue
        image = f"{path.rsplit('/', 1)[0]}/{filename}"
        if (await ctx.vm_run(f"ls -l {image}")).exit_status != 0:
            label = props.get("description") or props.get("uniquename") or "?"
            ours = " (a system VM template)" if label in names else ""
            missing.append(f"{label}{ours}: {image} is missing")
    ready = ", ".join(str(r.get("name")) for r in rows if r.get("isready"))
    if missing:
        return ctx.fail(f"Ready in the API ({ready}) but not on secondary storage: "
                        + "; ".join(missing),
                        TEMPLATE_ADVICE.format(what="The file its template.properties names is "
                                               "not there"), "recreate")
    where = f"{len(paths)} template dir(s) complete" if paths else "no template.properties " \
        "under the mount to compare"
    return ctx.ok(f"{ready} Ready; {where}")
