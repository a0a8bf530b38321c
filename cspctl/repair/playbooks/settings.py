"""Settings playbooks: fix-timezone (the VM's zone to its host's) and ssl-off (global settings)."""

from __future__ import annotations

import re
from shlex import quote

from cspctl.playbook_ids import PlaybookId
from cspctl.repair.context import RepairContext
from cspctl.repair.model import Playbook, Step, StepFailed, StepResult
from cspctl.repair.playbooks.common import api_preview, shell_step
from cspctl.text import safe_line

ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}$")


def zone_from(text: str) -> str | None:
    """``/usr/share/zoneinfo/Asia/Tokyo`` or ``Asia/Tokyo`` -> ``Asia/Tokyo`` (validated)."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if "zoneinfo/" in line:
        line = line.split("zoneinfo/", 1)[1]
    if line.startswith("posix/") or line.startswith("right/"):
        line = line.split("/", 1)[1]
    return line if ZONE.match(line) else None


async def _read_zones(ctx: RepairContext) -> StepResult:
    host = await ctx.host_run("readlink /etc/localtime", check=False)
    zone = zone_from(host.stdout)
    evidence = [f"host: readlink /etc/localtime -> {host.stdout.strip()}"]
    if zone is None:
        alt = await ctx.host_run("cat /etc/timezone", check=False)
        zone = zone_from(alt.stdout)
        evidence.append(f"host: cat /etc/timezone -> {alt.stdout.strip()}")
    if zone is None:
        raise StepFailed(f"cannot read the time zone of host {ctx.vm.hostname}",
                         "\n".join(evidence))
    vm = await ctx.vm_run("cat /etc/timezone", check=False)
    ctx.scratch["zone"] = zone
    ctx.scratch["old_zone"] = zone_from(vm.stdout) or "Etc/UTC"
    evidence.append(f"VM: cat /etc/timezone -> {vm.stdout.strip()}")
    return StepResult(f"host {ctx.vm.hostname} is in {zone}; {ctx.name} in "
                      f"{ctx.scratch['old_zone']}", safe_line("\n".join(evidence)))


def _set_command(ctx: RepairContext, zone: str) -> str:
    if ctx.systemd:
        return f"timedatectl set-timezone {quote(zone)}"
    return f"echo {quote(zone)} > /etc/timezone && dpkg-reconfigure -f noninteractive tzdata"


FIX_TIMEZONE = Playbook(
    id=PlaybookId.FIX_TIMEZONE,
    title="Set the VM's time zone to its host's",
    summary="read the host's zone (/etc/localtime), set it in the VM (timedatectl on 4.11+, "
            "/etc/timezone + dpkg-reconfigure tzdata on 4.8), verify",
    fixes=("timezone",),
    steps=(
        Step("read-zones", "Read the host's and the VM's time zones", "read",
             lambda c: f"ssh {c.on_host()}: readlink /etc/localtime; ssh {c.where()}: "
                       "cat /etc/timezone", _read_zones),
        shell_step("set-zone", "Set the VM's time zone",
                   lambda c: _set_command(c, c.scratch.get("zone", "<the host's zone>")),
                   undo=lambda c: _set_command(c, c.scratch.get("old_zone", "Etc/UTC"))),
    ),
    verify=("timezone",),
    needs_ssh=True,
    notes=("Processes already running (the agent, rsyslog) keep writing the old zone until "
           "they restart (restart-cloud).",),
)


# ---- ssl-off --------------------------------------------------------------------------------
DOMAIN, ENCRYPT = "consoleproxy.url.domain", "secstorage.encrypt.copy"
PRODUCTION_WARNING = (
    "Production warning: this turns off HTTPS for console sessions and encrypted copies to "
    "secondary storage cloud-wide (every zone), not just on this VM."
)
EFFECT_NOTE = (
    "The new values take effect only after the management server is restarted and the system "
    "VMs are re-created (recreate); the previous values are in the journal for undo."
)


async def _read_settings(ctx: RepairContext) -> StepResult:
    values = {}
    for name in (DOMAIN, ENCRYPT):
        cfg = await ctx.api.get_configuration(name)
        values[name] = cfg.value if cfg is not None and cfg.value is not None else ""
    ctx.scratch["previous"] = values
    shown = ", ".join(f"{k} = {v!r}" for k, v in values.items())
    return StepResult(f"now: {safe_line(shown)}")


def _update_step(step_id: str, name: str, value: str) -> Step:
    def preview(ctx: RepairContext) -> str:
        return api_preview("updateConfiguration", name=name, value=value)

    def undo(ctx: RepairContext) -> str:
        old = ctx.scratch.get("previous", {}).get(name)
        return api_preview("updateConfiguration", name=name,
                           value=old if old is not None else "<previous value>")

    async def action(ctx: RepairContext) -> StepResult:
        cfg = await ctx.api.update_configuration(name, value)
        old = ctx.scratch.get("previous", {}).get(name)
        return StepResult(f"{name}: {old!r} -> {cfg.value if cfg.value is not None else value!r}")

    return Step(step_id, f"Set {name} to {value or 'empty'}", "change", preview, action, undo,
                warning=PRODUCTION_WARNING)


SSL_OFF = Playbook(
    id=PlaybookId.SSL_OFF,
    title="Turn off the retired realhostip.com SSL settings",
    summary=f"{DOMAIN} empty and {ENCRYPT} false through updateConfiguration",
    fixes=("ssl-settings", "ssvm-ssl-settings", "console-cert"),
    steps=(
        Step("read-settings", "Read the current values (kept for undo)", "read",
             lambda c: f"API listConfigurations name={DOMAIN}; listConfigurations "
                       f"name={ENCRYPT}", _read_settings),
        _update_step("domain-off", DOMAIN, ""),
        _update_step("encrypt-off", ENCRYPT, "false"),
    ),
    verify=("ssl-settings", "ssvm-ssl-settings"),
    notes=(PRODUCTION_WARNING, EFFECT_NOTE),
)
