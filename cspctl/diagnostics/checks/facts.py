"""Shared facts: computed once per VM (or once per run for API data) and reused by checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import probe

if TYPE_CHECKING:
    from cspctl.cloudstack.models import Host
    from cspctl.diagnostics.context import CheckContext

CMDLINE = "/var/cache/cloud/cmdline"
SYSTEMVM_DIR = "/usr/local/cloud/systemvm"

# the facts' commands: a check that uses a fact declares them (``probes=``) so that they go
# out with the other probes in one round trip
CMDLINE_PROBE = f"cat {CMDLINE}"
JAVA_PIDS_PROBE = "pgrep java"
PORTS_PROBE = "ss -ltn"
RELEASE_PROBE = "cat /etc/cloudstack-release"


async def cmdline(ctx: CheckContext) -> dict[str, str] | None:
    """Parsed boot parameters of the VM (None when the file cannot be read)."""

    async def load(c: CheckContext) -> dict[str, str] | None:
        result = await c.vm_run(CMDLINE_PROBE)
        return parse.parse_cmdline(result.stdout) if result.ok and result.stdout.strip() else None

    return await ctx.fact("cmdline", load)


async def java_pids(ctx: CheckContext) -> list[int]:
    """Pids of the java processes (the agent) inside the VM."""

    async def load(c: CheckContext) -> list[int]:
        result = await probe.vm(c, JAVA_PIDS_PROBE, "pidof java")
        return parse.parse_pids(result.stdout)

    return await ctx.fact("java_pids", load)


async def listening_ports(ctx: CheckContext) -> set[int]:
    async def load(c: CheckContext) -> set[int]:
        result = await probe.vm(c, PORTS_PROBE, "netstat -ltn")
        return parse.parse_listening_ports(result.stdout)

    return await ctx.fact("ports", load)


async def release(ctx: CheckContext) -> str | None:
    """The template's release from /etc/cloudstack-release."""

    async def load(c: CheckContext) -> str | None:
        result = await c.vm_run(RELEASE_PROBE)
        return parse.parse_release(result.stdout) if result.ok else None

    return await ctx.fact("release", load)


async def mgmt_version(ctx: CheckContext) -> str | None:
    """The management server's version (run-wide)."""

    async def load() -> str | None:
        return await ctx.api.version()

    version = await ctx.cached("mgmt_version", load)
    ctx.api_evidence("listCapabilities", f"cloudstackversion = {version}")
    return version


async def is_at_least(ctx: CheckContext, *wanted: int) -> bool:
    """Is the management server at least this release (False when unknown)?"""
    version = parse.parse_version(await mgmt_version(ctx))
    return bool(version) and version >= wanted


async def configurations(ctx: CheckContext, *names: str) -> dict[str, str | None]:
    """Global settings by name (one listConfigurations per run); records the values used."""

    async def load() -> dict[str, str | None]:
        return {c.name: c.value for c in await ctx.api.list_configurations() if c.name}

    allconf = await ctx.cached("configurations", load)
    values = {name: allconf.get(name) for name in names}
    ctx.api_evidence(
        "listConfigurations",
        "\n".join(f"{name} = {'' if v is None else v}" for name, v in values.items()),
    )
    return values


async def agent_host(ctx: CheckContext) -> Host | None:
    """The VM's own host record (listHosts type=ConsoleProxy|SecondaryStorageVM).

    Fetched per zone and VM type, once per run: a zone run asks once, not once per VM.
    """
    kind = "ConsoleProxy" if ctx.vm.is_cpvm else "SecondaryStorageVM"
    zone = ctx.vm.zoneid

    async def load() -> dict[str, Host]:
        params = {"type": kind}
        if zone:
            params["zoneid"] = zone
        return {h.name: h for h in await ctx.api.list_hosts(**params) if h.name}

    hosts = await ctx.cached(f"agent_hosts:{kind}:{zone}", load)
    return hosts.get(ctx.vm.name or "")


def fmt_fields(obj: Any, *names: str) -> str:
    """``name = value`` lines for API evidence."""
    return "\n".join(f"{n} = {'' if obj.get(n) is None else obj.get(n)}" for n in names)
