"""``cspctl lab scenarios`` and ``cspctl lab serve``: the embedded simulated CloudStack.

``serve`` runs the lab until Ctrl-C (or SIGTERM, SIGHUP), prints a cmk-style profile and the
SSH key, saves the profile as ``lab`` in cspctl's own config (so ``cspctl --profile lab ...``
works from another terminal) and, with ``--info FILE``, writes the connection details as JSON once
the lab is ready. Each running lab keeps its keys and trusted host keys in its own state
directory (``<state>/lab/serve-<pid>``, removed when it stops), so two labs never break each
other and the operator's own host-key stores are never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from cspctl import signals
from cspctl.errors import CspctlError, UsageError
from cspctl.text import safe_line


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "lab",
        help="the embedded simulated CloudStack (scenarios, serve)",
        description="A simulated CloudStack management server with KVM hosts and system VMs "
        "reachable over real SSH, reproducing real incidents.",
    )
    lab_sub = p.add_subparsers(dest="lab_command", metavar="ACTION")
    sc = lab_sub.add_parser("scenarios", help="list the lab scenarios, one line each")
    sc.set_defaults(func=run_scenarios)
    sv = lab_sub.add_parser(
        "serve",
        help="run the lab until Ctrl-C",
        description="Run the lab standalone until Ctrl-C. Prints a ready-to-use profile, "
        "saves it as 'lab' (use: cspctl --profile lab ...).",
    )
    sv.add_argument("--scenario", dest="lab_scenario", metavar="NAME", default=None,
                    help="scenario to run (default: seed; see 'cspctl lab scenarios')")
    sv.add_argument("--port", type=int, default=0, metavar="N",
                    help="API port on 127.0.0.1 (default: a free port)")
    sv.add_argument("--ssh-port", type=int, default=0, metavar="N",
                    help="SSH port shared by all lab hosts (default: a free port)")
    sv.add_argument("--time-scale", type=float, default=1.0, metavar="F",
                    help="factor on simulated durations (0.01 = 100x faster; default 1)")
    sv.add_argument("--info", type=Path, metavar="FILE",
                    help="write url, keys, credentials and SSH details as JSON once ready")
    sv.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE",
                    help="inject a fault, e.g. api_latency=0.5, api_error_rate=0.1, "
                    "job_slowdown=3, job_hang=true, ssh_connect_delay=2 (repeatable)")
    sv.add_argument("--profile-name", default="lab", metavar="NAME",
                    help="name of the saved profile (default: lab)")
    sv.add_argument("--no-save", action="store_true",
                    help="do not save the profile in cspctl's config")
    sv.set_defaults(func=run_serve)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_scenarios(args: argparse.Namespace) -> int:
    from cspctl.lab.scenarios import SCENARIOS

    width = max(len(name) for name in SCENARIOS)
    for name, scenario in SCENARIOS.items():
        print(f"{name:<{width}}  {scenario.summary}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from cspctl.lab.scenarios import get_scenario

    scenario = args.lab_scenario or getattr(args, "scenario", None) or "seed"
    get_scenario(scenario)  # UsageError before anything starts
    if args.time_scale < 0:
        raise UsageError("--time-scale must be 0 or more")
    for opt, value in (("--port", args.port), ("--ssh-port", args.ssh_port)):
        if not 0 <= value <= 65535:
            raise UsageError(f"{opt} must be between 0 and 65535")
    args.faults = parse_faults(args.fault)
    return asyncio.run(_serve(args, scenario))


def _step_names(item: str, raw: str) -> str:
    """``fail_steps=chattr,reboot-job``: every name must be a known repair step."""
    from cspctl.lab.faults import STEP_FAULTS

    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in STEP_FAULTS]
    if unknown:
        raise UsageError(f"--fault {item!r}: unknown step {unknown[0]!r} (one of "
                         + ", ".join(STEP_FAULTS) + ")")
    return ",".join(names)


def parse_faults(items: list[str]) -> Any:
    """``["api_latency=0.5", "job_hang=true"]`` -> a Faults (UsageError on a bad item)."""
    import dataclasses

    from cspctl.lab.faults import Faults

    faults = Faults()
    kinds = {f.name: f.type for f in dataclasses.fields(Faults)}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in kinds:
            raise UsageError(f"--fault {item!r}: expected NAME=VALUE with NAME one of "
                             + ", ".join(kinds))
        declared = kinds[name]
        kind = declared if isinstance(declared, str) else declared.__name__
        try:
            if kind == "bool":
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(raw)
                value: Any = raw.lower() in ("true", "1", "yes")
            elif kind == "int":
                value = int(raw)
            elif kind == "str":
                value = _step_names(item, raw)
            else:
                value = float(raw)
        except ValueError:
            raise UsageError(f"--fault {item!r}: {raw!r} is not a valid {kind}") from None
        setattr(faults, name, value)
    return faults


def profile_block(lab: Any, name: str) -> str:
    """The lab's profile as cmk 6 prints its config (keys padded so '=' aligns)."""
    rows = [("url", lab.url), ("username", lab.username), ("password", lab.password),
            ("domain", lab.domain), ("apikey", lab.apikey), ("secretkey", lab.secretkey)]
    width = max(len(k) for k, _ in rows)
    return f"[{name}]\n" + "".join(f"{k:<{width}} = {v}\n" for k, v in rows)


async def _serve(args: argparse.Namespace, scenario: str) -> int:
    from cspctl.lab import Lab
    from cspctl.sessionlog import state_dir

    own_dir = lab_state_dir(state_dir())
    lab = Lab(scenario, time_scale=args.time_scale, api_port=args.port,
              ssh_port=args.ssh_port, state_dir=own_dir,
              faults=getattr(args, "faults", None))
    try:
        await lab.start()
    except OSError as exc:
        shutil.rmtree(own_dir, ignore_errors=True)
        raise CspctlError(f"lab: cannot start the {scenario} lab on 127.0.0.1 "
                          f"(port {args.port or 'auto'} / ssh {args.ssh_port or 'auto'}): "
                          f"{exc.strerror or exc}; choose other ports") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals.install(loop, lambda _signum: stop.set(),
                    (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))  # nohup: SIGHUP ignored
    try:
        saved = None if args.no_save else _save(lab, args.profile_name)
        hosts = ", ".join(h.ipaddress for h in lab.world.hosts[:4])
        more = f" (+{len(lab.world.hosts) - 4} more)" if len(lab.world.hosts) > 4 else ""
        print(f"cspctl lab: scenario {scenario}, CloudStack {lab.world.version}, "
              f"{len(lab.world.live_vms())} system VMs", flush=True)
        print(profile_block(lab, args.profile_name), end="")
        print(f"ssh key   : {lab.ssh_key_path}")
        if lab.ssh_port:
            print(f"ssh hosts : {hosts}{more} port {lab.ssh_port} user {lab.ssh_user} "
                  f"(known_hosts: {lab.known_hosts_path})")
            example = next((vm for vm in lab.world.live_vms() if vm.host is not None), None)
            if example is not None and example.host is not None:
                print(f"try ({example.name}): {openssh_command(lab, example)}")
        else:
            print("ssh hosts : not available (cspctl.lab.sshd missing)")
        if saved is not None:
            print(f"profile   : saved as '{args.profile_name}' in {saved} "
                  f"(cspctl --profile {args.profile_name} ...)")
        if args.info:
            lab.write_info(args.info)
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    finally:
        await lab.stop()
        shutil.rmtree(own_dir, ignore_errors=True)
    print("cspctl lab: stopped", flush=True)
    return 0


def lab_state_dir(base: Path) -> Path:
    """This process's own lab directory, ``<base>/lab/serve-<pid>``: keys, known_hosts and
    trusted system VM keys of this lab only (a leftover of a dead process is replaced)."""
    path = base / "lab" / f"serve-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    return path


def openssh_command(lab: Any, vm: Any) -> str:
    """Plain OpenSSH into ``vm`` through its host (ProxyCommand: ``-J`` would not pass the
    key and known_hosts options on to the jump connection)."""
    opts = (f"-F /dev/null -o IdentitiesOnly=yes -i {lab.ssh_key_path} "
            f"-o UserKnownHostsFile={lab.known_hosts_path}")
    jump = f"ssh {opts} -p {lab.ssh_port} -W %h:%p {lab.ssh_user}@{vm.host.ipaddress}"
    return f"ssh {opts} -o 'ProxyCommand={jump}' -p 3922 root@{vm.linklocalip}"


def _save(lab: Any, name: str) -> Path | None:
    """Save the lab's profile; a config problem is reported, the lab keeps running."""
    try:
        from cspctl.config import save_profile

        return save_profile(lab.profile(name))
    except CspctlError as exc:
        print(f"cspctl: profile not saved: {safe_line(exc)}", file=sys.stderr)
        return None
