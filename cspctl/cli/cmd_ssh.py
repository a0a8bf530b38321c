"""``cspctl ssh VM [--print-route] [-- CMD...]``: a shell or one command on a system VM.

The VM is found through the API (name like v-2-VM, or UUID; ``CPVM``/``SSVM`` when the cloud has
exactly one), the route is derived from its host and hypervisor, and the connection goes
through cspctl's pool (journaled, host keys checked against cspctl's own store).

Exit status, as OpenSSH: with ``-- CMD`` the remote command's status, and 255 for any failure
of cspctl itself (unknown VM, API, SSH, bad option), so a remote status is never mistaken
for ours; 5 when read-only mode refuses (nothing was run). Read-only mode refuses interactive
shells and ``-- CMD`` (either could change the VM); ``--print-route`` still works.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cspctl import signals
from cspctl.errors import CspctlError, UsageError
from cspctl.gate import Refused
from cspctl.names import NotFound, check_vm_argument, find_system_vms
from cspctl.text import safe_block, safe_line

OWN_FAILURE = 255
"""``ssh -- CMD``: cspctl itself failed (the remote command's status is 0-254), as OpenSSH."""

_ALIASES = {"CPVM": "consoleproxy", "SSVM": "secondarystoragevm"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "ssh",
        help="shell or command on a system VM (through its hypervisor host)",
        description=(
            "Open a shell on a system VM, or run one command and exit with its status. "
            "KVM/XenServer VMs are reached through their host's link-local network, "
            "VMware/Hyper-V VMs on their private IP (see --print-route)."
        ),
        epilog="examples: cspctl ssh v-2-VM | cspctl ssh s-1-VM -- df -h | "
        "cspctl ssh CPVM --print-route. Exit status with -- CMD: the remote command's; 255 when "
        "cspctl itself fails (as OpenSSH); 5 when read-only mode refuses (nothing ran).",
    )
    p.add_argument("vm", metavar="VM", help="system VM name (v-2-VM, s-1-VM), UUID, CPVM or SSVM")
    p.add_argument(
        "--print-route", action="store_true", help="show every hop that would be taken; no SSH"
    )
    p.add_argument(
        "--accept-new-hostkey",
        action="store_true",
        help="trust the VM's host key on first contact (or after the VM was re-created)",
    )
    p.add_argument(
        "--accept-changed-hostkey",
        action="store_true",
        help="trust a host key that differs from the one trusted for this VM id",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up on the command after this long (default: no limit)",
    )
    # REMAINDER: everything after VM; our own options before "--" are picked out by run()
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD",
                   help="command to run on the VM (after --); none: interactive shell")
    p.set_defaults(func=run)


_FLAGS = {
    "--print-route": "print_route",
    "--accept-new-hostkey": "accept_new_hostkey",
    "--accept-changed-hostkey": "accept_changed_hostkey",
}


def split_command(args: argparse.Namespace) -> list[str]:
    """Apply options given after VM (argparse leaves them in the remainder); the command."""
    rest = list(args.command or [])
    while rest and rest[0] != "--" and rest[0].startswith("-"):
        flag = rest.pop(0)
        name, _, value = flag.partition("=")
        if flag in _FLAGS:
            setattr(args, _FLAGS[flag], True)
        elif name == "--timeout":
            if not value:
                if not rest:
                    raise UsageError("--timeout needs a number of seconds")
                value = rest.pop(0)
            try:
                args.timeout = float(value)
            except ValueError:
                raise UsageError(f"--timeout {value!r}: not a number of seconds") from None
        else:
            raise UsageError(
                f"unknown option {flag} for cspctl ssh (put the remote command after --)"
            )
    if rest and rest[0] == "--":
        rest = rest[1:]
    return rest


class OwnFailure(CspctlError):
    """A failure of cspctl itself while running ``-- CMD`` (exit 255, like OpenSSH)."""

    exit_code = OWN_FAILURE


def run(args: argparse.Namespace) -> int:
    """Entry point: validate before anything is looked up, then run the async part."""
    remote = "--" in (args.command or [])
    try:
        command = split_command(args)
        remote = bool(command)
        target = args.vm
        if target.upper() not in _ALIASES:
            check_vm_argument(target)
        return signals.run(_main(args, target, command))
    except Refused:
        raise  # 5: refused by read-only mode, nothing ran
    except CspctlError as exc:
        if remote:
            raise OwnFailure(str(exc)) from None
        raise
    except BrokenPipeError:
        raise  # main() ends quietly
    except Exception as exc:  # an internal error is still cspctl's own failure: 255
        if remote and not getattr(args, "debug", False):
            raise OwnFailure(f"internal error: {str(exc)[:300] or type(exc).__name__} "
                             "(run with --debug for the traceback)") from None
        raise


async def find_vm(api: Any, target: str, profile_name: str) -> Any:
    """The SystemVm for a validated name, UUID or CPVM/SSVM alias; CspctlError if absent."""
    alias = _ALIASES.get(target.upper())
    if alias:
        vms = [v for v in await api.list_system_vms(systemvmtype=alias) if v.state != "Destroyed"]
        if len(vms) == 1:
            return vms[0]
        if not vms:
            raise NotFound(f"no {target.upper()} in profile {profile_name}")
        names = ", ".join(sorted(str(v.name) for v in vms))
        raise UsageError(f"{len(vms)} {target.upper()}s in profile {profile_name} ({names}): "
                         "name one")
    return (await find_system_vms(api, target))[0]


def make_tty_ask() -> Any:
    """Host-key question on the operator's terminal (only when stdin is a TTY)."""

    async def ask(question: Any) -> bool:
        def prompt() -> str:
            text = f"cspctl: {safe_block(question.explain())}\nTrust this key and continue? [y/N] "
            with open("/dev/tty", "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
            with open("/dev/tty", encoding="utf-8") as tty:
                return tty.readline()

        try:
            answer = await signals.in_daemon_thread(prompt)
        except OSError:  # no controlling terminal after all: refuse (the error says how)
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask


_make_tty_ask = make_tty_ask  # used by cspctl diagnose


async def _main(args: argparse.Namespace, target: str, command: list[str]) -> int:
    from cspctl.session import Session
    from cspctl.ssh.handoff import interactive_shell
    from cspctl.ssh.route import resolve_route

    session = Session.open(args.profile, read_only=args.read_only)
    async with session:
        if sys.stdin.isatty() and not args.print_route:
            session.host_key_ask = make_tty_ask()
        if not args.print_route:  # refused before any lookup or connection
            what = (f"the command {' '.join(command)!r} on {target}" if command
                    else f"an interactive shell on {target}")
            session.ssh.check_shell(what)
        vm = await find_vm(session.api, target, session.profile.name)
        route = await resolve_route(vm, session.api, session.profile)
        if args.print_route:
            print(safe_line(f"route to {vm.name} ({vm.short_type}, id {vm.id}, {route.mode}):"))
            for line in route.describe():
                print(f"  {safe_line(line)}")
            print("authentication:")
            for line in route.details():
                print(f"  {safe_line(line)}")
            return 0
        pool = session.ssh
        pool.accept_new = pool.accept_new or args.accept_new_hostkey
        pool.accept_changed = pool.accept_changed or args.accept_changed_hostkey
        pool.command_timeout = args.timeout
        if command:
            result = await pool.run_operator_command(route, " ".join(command),
                                                     on_output=_passthrough)
            return result.exit_status
        return await interactive_shell(pool, route)


def _passthrough(stream: str, text: str) -> None:
    """Live output of a one-shot command onto our own stdout/stderr."""
    out = sys.stdout if stream == "stdout" else sys.stderr
    out.write(text)
    out.flush()
