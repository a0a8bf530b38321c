"""Zone-wide facts a single VM depends on: a Running SSVM for the zone's image stores."""

from __future__ import annotations

from typing import Any

from cspctl.diagnostics.checks.base import API, check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding
from cspctl.errors import CspctlError

NO_SSVM_ADVICE = (
    "The zone has secondary storage but no secondary storage VM Running, so nothing serves "
    "it: template and ISO downloads, snapshots and volume copies fail, and the management "
    "server logs \"There is no secondary storage VM for secondary storage host\" "
    "(apache/cloudstack#5991, #4072). Start the SSVM (startSystemVm); if it does not come up, "
    "the management-server log says why (no capacity on the pod's hosts, no Ready system VM "
    "template, no free public or link-local address). Destroying it lets CloudStack "
    "re-create it (playbook recreate). Once it runs, its own 'SSH access' step proves that "
    "its link-local address answers from its host."
)


@check("ssvm-for-store", "A Running SSVM serves the zone's image stores", needs=API)
async def ssvm_for_store(ctx: CheckContext) -> Finding:
    """``listImageStores zoneid=Z`` and ``listSystemVms systemvmtype=secondarystoragevm``."""
    zone = ctx.vm.zoneid
    if not zone:
        return ctx.skip("the VM has no zone")

    async def load_stores() -> list[dict[str, Any]] | None:
        try:
            answer = await ctx.api.call("listImageStores", zoneid=zone)
        except CspctlError:
            return None  # an old or restricted API: say "unknown", not "none"
        return list(answer.get("imagestore") or [])

    async def load_ssvms() -> list[Any]:
        return list(await ctx.api.list_system_vms(systemvmtype="secondarystoragevm",
                                                  zoneid=zone))

    stores = await ctx.cached(f"image_stores:{zone}", load_stores)
    ssvms = await ctx.cached(f"ssvms:{zone}", load_ssvms)
    ctx.api_evidence(f"listImageStores zoneid={zone}",
                     "(not available)" if stores is None else "\n".join(
                         f"{s.get('name')}: {s.get('url')}" for s in stores) or "(none)")
    ctx.api_evidence(f"listSystemVms systemvmtype=secondarystoragevm zoneid={zone}",
                     "\n".join(f"{v.name}: {v.state}" for v in ssvms) or "(none)")
    running = [v for v in ssvms if v.state == "Running"]
    zone_name = ctx.vm.zonename or zone
    if stores == []:
        return ctx.ok(f"zone {zone_name} has no image store")
    if not running:
        which = ", ".join(f"{v.name} {v.state}" for v in ssvms) or "none exists"
        store = stores[0].get("url") if stores else "its image store"
        return ctx.fail(f"zone {zone_name} has {store} but no SSVM Running ({which})",
                        NO_SSVM_ADVICE, "recreate")
    return ctx.ok(f"{', '.join(v.name or '?' for v in running)} Running in zone {zone_name}")
