"""``cspctl repair``: run a repair playbook on a system VM, or list the playbooks.

    cspctl repair list [VM] [--json]
    cspctl repair PLAYBOOK VM [--dry-run] [--yes] [--confirm-name NAME] [--timeout S] [--json]

Every destructive step is asked on the terminal (/dev/tty) with its exact preview; without a
terminal the command refuses unless ``--yes`` is given (``recreate`` also needs
``--confirm-name`` equal to the VM's name). Exit: 0 done and verified, 1 done but the checks
still fail, 2 usage, 3 could not run (API, SSH), 5 refused or aborted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from cspctl import signals
from cspctl.errors import CspctlError, UsageError
from cspctl.text import safe_json, safe_line

EXIT_REFUSED = 5
EXIT_CANNOT = 3


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "repair",
        help="run a repair playbook on a system VM (or: repair list [VM])",
        description=(
            "Run a repair playbook on a system VM: every step is shown with its exact command "
            "or API call, every destructive step is confirmed on its own, the result is "
            "verified by re-running the diagnostics checks, and everything is journalled. "
            "'repair list [VM]' lists the playbooks, or those the VM's findings call for."
        ),
        epilog="exit status: 0 done and verified, 1 done but checks still fail, 2 usage, "
        "3 could not run (API, SSH), 5 refused or aborted (read-only, declined, wrong name). "
        "examples: cspctl repair list v-2-VM | cspctl repair protect-assets v-2-VM | "
        "cspctl repair recreate s-1-VM --yes --confirm-name s-1-VM",
    )
    p.add_argument("playbook", metavar="PLAYBOOK|list", help="playbook id, or 'list'")
    p.add_argument("vm", metavar="VM", nargs="?", help="system VM name (v-2-VM) or UUID")
    p.add_argument("--dry-run", action="store_true",
                   help="show every step and change nothing")
    p.add_argument("--yes", action="store_true",
                   help="confirm every step without asking (needed without a terminal)")
    p.add_argument("--confirm-name", metavar="NAME", default=None,
                   help="the VM's name, typed in advance (destroying needs it without a "
                   "terminal)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="seconds to wait for each async job and for the agent to be Up "
                   "(default 300; the wait ends early when the agent's diagnosed cause, which "
                   "another playbook fixes, is back)")
    p.add_argument("--json", action="store_true", help="the outcome as JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cspctl.names import check_vm_argument

    if args.vm is not None:
        check_vm_argument(args.vm)
    if args.playbook == "list":
        return signals.run(_list(args))
    from cspctl.repair import DEFAULT_TIMEOUT, playbook

    pb = playbook(args.playbook)  # UsageError (2) for an unknown id
    if args.vm is None:
        raise UsageError(f"cspctl repair {pb.id} needs a VM (cspctl repair {pb.id} VM)")
    if args.timeout is None:
        args.timeout = DEFAULT_TIMEOUT
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: must be more than 0 seconds")
    return signals.run(_repair(args))


def has_terminal() -> bool:
    """A terminal to ask on: stdin is a TTY and /dev/tty opens."""
    try:
        if not os.isatty(sys.stdin.fileno()):
            return False
    except (OSError, ValueError):  # stdin closed
        return False
    try:
        with open("/dev/tty", "w"):
            return True
    except OSError:
        return False


async def _repair(args: argparse.Namespace) -> int:
    from cspctl.cli.cmd_ssh import make_tty_ask
    from cspctl.cli.repair_ui import RepairPrinter, make_answerer
    from cspctl.names import NotFound
    from cspctl.repair import CannotRepair, prepare
    from cspctl.session import Session

    session = Session.open(args.profile, read_only=args.read_only)
    async with session:
        terminal = has_terminal()
        if terminal:
            session.host_key_ask = make_tty_ask()
        printer = RepairPrinter(quiet=args.json)
        ask = make_answerer(terminal=terminal, yes=args.yes, confirm_name=args.confirm_name,
                            printer=printer)
        try:  # lookups only: an unknown VM is "not found" whatever the terminal
            run = await prepare(session, args.playbook, args.vm, ask=ask,
                                on_event=printer.on_event, dry_run=args.dry_run,
                                timeout=args.timeout)
        except (CannotRepair, UsageError, NotFound):
            raise
        except CspctlError as exc:
            print(f"cspctl: could not run {args.playbook} on {args.vm}: {safe_line(exc)}",
                  file=sys.stderr)
            return EXIT_CANNOT
        needs_answers = not (args.dry_run or session.read_only)
        if needs_answers and not terminal and not args.yes:
            session.journal.record("repair.refused", playbook=args.playbook, vm=args.vm,
                                   reason="no terminal and no --yes")
            print(f"cspctl: no terminal to confirm the steps of {args.playbook}: nothing was "
                  "done; run it in a terminal, or with --yes (and --confirm-name VM for "
                  "recreate), or --dry-run to see the steps", file=sys.stderr)
            return EXIT_REFUSED
        outcome = await run.run()
        if args.json:
            print(safe_json(outcome.to_dict(), indent=2, default=str))
        return outcome.exit_code


async def _list(args: argparse.Namespace) -> int:
    from cspctl.cli.repair_ui import render_catalogue, render_suggestions
    from cspctl.repair import CATALOGUE, find_vm, suggest
    from cspctl.repair.verify import diagnose

    if args.vm is None:
        if args.json:
            print(json.dumps([_pb_dict(p) for p in CATALOGUE], indent=2))
        else:
            sys.stdout.write(render_catalogue(CATALOGUE))
        return 0
    from cspctl.session import Session

    session = Session.open(args.profile, read_only=args.read_only)
    async with session:
        vm = await find_vm(session, args.vm)
        report = await diagnose(session, vm, writes=False)
    ranked = suggest(report.findings)
    if args.json:
        print(safe_json({"vm": vm.name, "status": report.status.value, "suggested": [
            {**_pb_dict(p), "findings": [{"check_id": f.check_id, "status": f.status.value,
                                          "summary": f.summary} for f in fs]}
            for p, fs in ranked]}, indent=2))
    else:
        sys.stdout.write(render_suggestions(vm.name or args.vm, ranked))
    return 0


def _pb_dict(p: Any) -> dict[str, Any]:
    return {"id": p.id, "title": p.title, "summary": p.summary, "requires": p.requirement(),
            "fixes": list(p.fixes), "verify": list(p.verify),
            "steps": [{"id": s.id, "title": s.title, "destructive": s.destructive}
                      for s in p.steps], "notes": list(p.notes)}
