"""4.11+ agent certificate (CA framework)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts, probe
from cspctl.diagnostics.checks.base import check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

CERT = f"{facts.SYSTEMVM_DIR}/conf/cloud.crt"
CERT_PROBE = f"openssl x509 -noout -enddate -in {CERT}"
ALERT_PERIOD = timedelta(days=15)

CERT_ADVICE = (
    "Since 4.11 the agent talks to the management server over TLS with a certificate from "
    "CloudStack's CA. An expired (or not yet valid) certificate means 'SSL Handshake failed' "
    "and the agent stays Disconnected. Renew it with provisionCertificate for the VM's host "
    "record (playbook provision-cert); if that fails, the maintainers' workaround is "
    "ca.plugin.root.auth.strictness=false, restart, re-provision, then restore it. Also check "
    "the clocks: validity is judged against local time."
)


@check("agent-cert", "Agent certificate (conf/cloud.crt, 4.11+)", probes=(CERT_PROBE,))
async def agent_cert(ctx: CheckContext) -> Finding:
    """``openssl x509 -noout -enddate -in …/conf/cloud.crt``."""
    if not await facts.is_at_least(ctx, 4, 11):
        return ctx.skip("no agent certificate before CloudStack 4.11")
    result = await probe.vm(ctx, CERT_PROBE)
    end = parse.parse_openssl_enddate(result.stdout)
    if end is None:
        return ctx.fail(
            f"no readable agent certificate at {CERT}",
            CERT_ADVICE,
            "provision-cert",
        )
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    stamp = end.strftime("%Y-%m-%d %H:%M UTC")
    if end <= now:
        return ctx.fail(f"expired on {stamp}", CERT_ADVICE, "provision-cert")
    if end - now <= ALERT_PERIOD:
        return ctx.warn(f"expires on {stamp} (in {(end - now).days} days)", CERT_ADVICE,
                        "provision-cert")
    return ctx.ok(f"valid until {stamp}")


KEYSTORE = f"{facts.SYSTEMVM_DIR}/conf/cloud.jks"
CA_CERT = f"{facts.SYSTEMVM_DIR}/conf/cloud.ca.crt"

KEYSTORE_ADVICE = (
    "The agent keeps its certificate and the CA in the keystore conf/cloud.jks. {what}: it "
    "logs \"Failed to load keystore, using trust all manager\" and the TLS handshake on 8250 "
    "fails (\"SSL Handshake failed\", certificate_unknown; apache/cloudstack#9959, #3853, "
    "#11081). Re-issue the certificate with provisionCertificate for the VM's host record "
    "(playbook provision-cert), which rewrites the keystore; if that fails, destroy the VM "
    "(playbook recreate)."
)


KEYSTORE_LS = f"ls -l {KEYSTORE} {CA_CERT}"
CA_X509 = f"openssl x509 -noout -subject -enddate -in {CA_CERT}"


@check("agent-keystore", "Agent keystore and CA (conf/cloud.jks, 4.11+)",
       after=("agent-cert",), probes=(KEYSTORE_LS, CA_X509))
async def agent_keystore(ctx: CheckContext) -> Finding:
    """``ls -l`` of cloud.jks and cloud.ca.crt; ``openssl x509`` on the CA certificate."""
    if not await facts.is_at_least(ctx, 4, 11):
        return ctx.skip("no agent keystore before CloudStack 4.11")
    listing = await probe.vm(ctx, KEYSTORE_LS)
    sizes = parse.parse_ls_sizes(listing.stdout)
    if sizes.get(KEYSTORE) is None:
        return ctx.fail(f"{KEYSTORE} is missing",
                        KEYSTORE_ADVICE.format(what="It is missing"), "provision-cert")
    if sizes[KEYSTORE] == 0:
        return ctx.fail(f"{KEYSTORE} is empty (0 bytes)",
                        KEYSTORE_ADVICE.format(what="It is empty"), "provision-cert")
    if sizes.get(CA_CERT) is None:
        return ctx.fail(f"{CA_CERT} is missing: the agent cannot verify the management server",
                        KEYSTORE_ADVICE.format(what="Its CA certificate is missing"),
                        "provision-cert")
    ca = await probe.vm(ctx, CA_X509)
    end = parse.parse_openssl_enddate(ca.stdout)
    if end is None:
        return ctx.fail(f"{CA_CERT} is not a readable certificate",
                        KEYSTORE_ADVICE.format(what="Its CA certificate is unreadable"),
                        "provision-cert")
    if end <= datetime.fromtimestamp(ctx.clock(), UTC):
        return ctx.fail(f"the CA certificate expired on {end:%Y-%m-%d}",
                        KEYSTORE_ADVICE.format(what="Its CA certificate has expired"),
                        "provision-cert")
    return ctx.ok(f"keystore {sizes[KEYSTORE]} bytes; CA valid until {end:%Y-%m-%d}")
