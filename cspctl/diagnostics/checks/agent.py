"""Inside the VM: boot parameters, the management-server connection, the agent process."""

from __future__ import annotations

from cspctl.diagnostics import parse
from cspctl.diagnostics.checks import facts, known_errors, probe
from cspctl.diagnostics.checks.base import check
from cspctl.diagnostics.context import CheckContext
from cspctl.diagnostics.model import Finding

SYSTEMD_STATUS = "systemctl is-active cloud"
SYSV_STATUS = "service cloud status"
LOG_PROBE = "tail -n 100 /var/log/cloud.log"
EXPECTED_TYPE = {"consoleproxy": "consoleproxy", "secondarystoragevm": "secstorage"}


@check("boot-params", "Boot parameters (/var/cache/cloud/cmdline)",
       probes=(facts.CMDLINE_PROBE,))
async def boot_params(ctx: CheckContext) -> Finding:
    """type, host and port as the management server handed them to the VM."""
    cmd = await facts.cmdline(ctx)
    if cmd is None:
        return ctx.fail(
            f"{facts.CMDLINE} is missing or empty",
            "The VM did not receive its boot parameters (virtio-serial / guest agent on KVM). "
            "It cannot know its role or where the management server is: destroy it so "
            "CloudStack re-creates it.",
            "recreate",
        )
    problems = []
    want = EXPECTED_TYPE.get(ctx.vm.systemvmtype or "")
    if want and cmd.get("type") != want:
        problems.append(f"type={cmd.get('type') or '(none)'} (expected {want})")
    hosts = parse.cmdline_hosts(cmd)
    if not hosts:
        problems.append("no host= (management server address)")
    if not cmd.get("port", "").isdigit():
        problems.append(f"port={cmd.get('port') or '(none)'}")
    if cmd.get("name") and ctx.vm.name and cmd["name"] != ctx.vm.name:
        problems.append(f"name={cmd['name']} (the API calls it {ctx.vm.name})")
    if problems:
        return ctx.fail(
            "bad boot parameters: " + "; ".join(problems),
            "The VM booted with wrong parameters. Correct the 'host' global setting if the "
            "management address is wrong, then destroy the VM so it boots with new ones.",
            "recreate",
        )
    setting = (await facts.configurations(ctx, "host"))["host"]
    configured = [h.strip() for h in (setting or "").split(",") if h.strip()]
    if configured and not set(configured) & set(hosts):
        return ctx.warn(
            f"host={','.join(hosts)} but the 'host' setting is now {setting}",
            "The VM was booted with an old management-server address; the agent keeps "
            "connecting there. Destroy the VM so CloudStack re-creates it with the current "
            "'host' setting.",
            "recreate",
        )
    return ctx.ok(f"type={cmd.get('type')} host={','.join(hosts)} port={cmd.get('port')}")


@check("mgmt-connect", "Management server reachable on 8250 from the VM",
       after=("boot-params",), probes=(facts.CMDLINE_PROBE,))
async def mgmt_connect(ctx: CheckContext) -> Finding:
    """``nc -z -w 3 HOST 8250`` (else socat, else bash's /dev/tcp) for every host=."""
    cmd = await facts.cmdline(ctx)
    hosts = parse.cmdline_hosts(cmd or {})
    if not hosts:
        return ctx.skip("no management server address in the boot parameters")
    port = (cmd or {}).get("port") or "8250"
    down = []
    for host in hosts:
        if not await probe.tcp_open(ctx, host, port):
            down.append(host)
    if len(down) == len(hosts):
        return ctx.fail(
            f"cannot connect to {', '.join(down)} port {port}",
            f"The agent connects out to the management server on {port}. Check firewalls "
            "(iptables on the management server, security equipment between the management "
            "network and the VM), routing from the VM's management NIC, and that host= is a "
            "management server address; if it is wrong, fix the 'host' setting and destroy "
            "the VM.",
        )
    if down:
        return ctx.warn(
            f"{', '.join(down)} port {port} unreachable ({len(hosts) - len(down)} of "
            f"{len(hosts)} reachable)",
            "One of the management servers in host= is unreachable from the VM; the agent "
            "fails over, but check that server and the firewall.",
        )
    return ctx.ok(f"{', '.join(hosts)} port {port} reachable")


@check("java-process", "Agent java process running", probes=(facts.JAVA_PIDS_PROBE,))
async def java_process(ctx: CheckContext) -> Finding:
    """``pgrep java``."""
    pids = await facts.java_pids(ctx)
    if not pids:
        return ctx.fail(
            "no java process",
            "The agent is not running. Start the cloud service (4.8: /etc/init.d/cloud "
            "start; 4.11+: systemctl restart cloud) and watch /var/log/cloud.log.",
            "restart-cloud",
        )
    if len(pids) > 1:
        return ctx.warn(
            f"{len(pids)} java processes ({', '.join(map(str, pids))})",
            "More than one agent is running; stop the cloud service, kill the stray java "
            "processes and start the service again.",
            "restart-cloud",
        )
    return ctx.ok(f"java running, pid {pids[0]}")


@check("cloud-service", "cloud service status", probes=(SYSTEMD_STATUS, SYSV_STATUS))
async def cloud_service(ctx: CheckContext) -> Finding:
    """``service cloud status`` (4.8, sysvinit) or ``systemctl is-active cloud`` (4.11+)."""
    systemd = await facts.is_at_least(ctx, 4, 11)
    command = SYSTEMD_STATUS if systemd else SYSV_STATUS
    other = SYSV_STATUS if systemd else SYSTEMD_STATUS
    result = await probe.vm(ctx, command, other)
    state = parse.parse_service_status(result.stdout + result.stderr, result.exit_status)
    if not state.running:
        return ctx.fail(
            "the cloud service is not running",
            "Start it: " + ("systemctl restart cloud" if systemd else "/etc/init.d/cloud start")
            + "; if it does not stay up, read /var/log/cloud.log.",
            "restart-cloud",
        )
    return ctx.ok("running" + (f" (pid {state.pid})" if state.pid else ""))


CWD_ADVICE = (
    "The agent's working directory {path} was deleted under the running java: "
    "cloud-early-config (patchsystemvm.sh) removes and re-creates it on every run, and the old "
    "java keeps the dead directory as its cwd. Every relative path the agent uses (./js, ./css, "
    "./images, ./conf, ./certs) now points into nothing: console assets give 404 and the agent "
    "cannot reconnect. Rebooting or destroying does not help, because boot runs the same "
    "script. Workaround: make the asset dirs immutable (chattr +i {path}/{{images,js,css}}) so "
    "the script's rm -rf cannot remove the directory, kill java, start the cloud service, then "
    "run cloud-early-config again. Note the change: later patches need chattr -i first "
    "(playbook unprotect-assets)."
)


PATCH_LINE = "Patching CPVM/SSVM with cloud agent jars"


async def _patched_after_start(ctx: CheckContext, pid: int) -> str:
    """"; re-patched at T, after java started at S" when the log shows it (F7 evidence)."""
    try:
        ps = await probe.vm(ctx, f"ps -o pid,lstart,args -p {pid}")
    except probe.ToolMissing:
        return ""
    started = parse.parse_ps_lstart(ps.stdout, pid)
    log = await ctx.vm_run(f"grep '{PATCH_LINE}' /var/log/cloud.log", tail_only=True)
    later = [t for t in parse.parse_log_date_lines(log.stdout) if started and t > started]
    if not (started and later):
        return ""
    return (f"; cloud-early-config re-patched the VM at {later[-1]:%b %d %H:%M:%S}, after "
            f"java started at {started:%b %d %H:%M:%S}")


@check("java-cwd", "Java working directory intact", after=("java-process",),
       probes=(facts.JAVA_PIDS_PROBE,))
async def java_cwd(ctx: CheckContext) -> Finding:
    """``ls -l /proc/PID/cwd`` must not end in ``(deleted)``."""
    pids = await facts.java_pids(ctx)
    if not pids:
        return ctx.skip("no java process")
    bad = []
    for pid in pids:
        result = await ctx.vm_run(f"ls -l /proc/{pid}/cwd")
        cwd = parse.parse_cwd(result.stdout)
        if cwd is None:
            return ctx.error(f"cannot read the cwd of pid {pid}")
        if cwd.deleted:
            bad.append((pid, cwd.path))
    if bad:
        pid, path = bad[0]
        when = await _patched_after_start(ctx, pid)
        return ctx.fail(
            f"java (pid {pid}) runs in a deleted directory: {path} (deleted){when}",
            CWD_ADVICE.format(path=path),
            "protect-assets",
        )
    return ctx.ok("cwd intact")


ASSET_DIRS = tuple(f"{facts.SYSTEMVM_DIR}/{d}" for d in ("images", "js", "css"))
LSATTR_PROBE = "lsattr -d " + " ".join(ASSET_DIRS)


@check("asset-protection", "Console asset directories: immutable flag (chattr +i)",
       after=("version",), probes=(LSATTR_PROBE,))
async def asset_protection(ctx: CheckContext) -> Finding:
    """``lsattr -d`` on images, js, css: an immutable flag left by the protect-assets fix."""
    result = await probe.vm(ctx, LSATTR_PROBE)
    flags = parse.parse_lsattr(result.stdout)
    if not flags:
        return ctx.skip("lsattr gave no answer for the asset dirs")
    locked = [p.rsplit("/", 1)[-1] for p, f in flags.items() if parse.immutable(f)]
    if not locked:
        return ctx.ok("not protected (normal)")
    version = ctx.finding_of("version")
    if version is not None and version.status.value == "fail":
        return ctx.warn(
            f"{', '.join(locked)} immutable (chattr +i) while the VM needs a new template",
            "These directories were made immutable so that cloud-early-config cannot delete "
            "the agent's working directory (playbook protect-assets). A patch or a new agent "
            "cannot replace their files while they are: remove the protection (chattr -i) "
            "before patching, and re-apply it afterwards if the fault is still there.",
            "unprotect-assets",
        )
    return ctx.ok(
        f"{', '.join(locked)} immutable (chattr +i, the protect-assets fix for a deleted "
        "working directory — remove it with playbook unprotect-assets before patching or "
        "upgrading this VM)"
    )


@check("agent-log", "Agent log (/var/log/cloud.log)", probes=(LOG_PROBE,))
async def agent_log(ctx: CheckContext) -> Finding:
    """``tail -n 100 /var/log/cloud.log``, matched against the known-error table."""
    result = await probe.vm(ctx, LOG_PROBE, tail_only=True)
    if result.exit_status != 0:
        return ctx.skip("/var/log/cloud.log cannot be read")
    connected, problems = known_errors.classify_log(result.stdout)
    ids = list(problems)
    advice = "; ".join(known_errors.by_id(i).describe() for i in reversed(ids))
    if connected and problems:
        latest = problems[ids[-1]]
        return ctx.warn(
            f"connected, but the agent's work fails: {latest.split(') ', 1)[-1][:160]}",
            f"The agent log says {advice}. The other steps show which one applies.",
        )
    if connected:
        return ctx.ok("latest: connected to the management server")
    if not problems:
        return ctx.ok("no connection errors in the last 100 lines")
    latest = problems[ids[-1]]
    # log evidence corroborates the other steps; the step that proves the cause names the
    # playbook, so this one names none
    return ctx.warn(
        f"agent not connected; latest error: {latest.split(') ', 1)[-1][:160]}",
        f"The agent log says {advice}. The other steps show which one applies.",
    )
