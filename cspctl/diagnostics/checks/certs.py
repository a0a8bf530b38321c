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
