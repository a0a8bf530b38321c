"""`cspctl diagnose`: step-by-step health checks of console-proxy and secondary-storage VMs.

Exit status: 0 all ok, 1 warnings, 2 failures, 3 could not run (no VM found, API down...).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cspctl
from cspctl import signals
from cspctl.errors import CspctlError, UsageError
from cspctl.gate import Refused

EXIT_COULD_NOT_RUN = 3
DEFAULT_CONCURRENCY = 32  # = cspctl.diagnostics.runner.DEFAULT_CONCURRENCY (lazy imports)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "diagnose",
        help="diagnose system VMs step by step (exit 0 ok, 1 warn, 2 fail, 3 could not run)",
        description="Run the diagnostic checks on system VMs and report each step with its "
        "evidence, advice and repair playbook.",
    )
    p.add_argument("vms", nargs="*", metavar="VM", help="system VM names or ids (v-2-VM)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--zone", metavar="ZONE", help="every system VM of this zone (name/id)")
    where.add_argument("--all", action="store_true", help="every system VM")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON for scripts")
    fmt.add_argument("--format", choices=("text", "md", "json"), default="text",
                     help="report format (default: text)")
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N",
                   help=f"VMs diagnosed at once (default: {DEFAULT_CONCURRENCY})")
    p.add_argument("--timeout", type=float, default=20.0, metavar="S",
                   help="time limit per check in seconds (default: 20)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="only the first N selected VMs, zone by zone in name order, asked of "
                   "the server as such (sampling large clouds lists only what it needs)")
    p.add_argument("--no-ssh", action="store_true",
                   help="API checks only; skip everything that needs a shell")
    p.add_argument("--check", action="append", metavar="ID", dest="checks",
                   help="run only this check (repeatable; see the catalogue ids)")
    p.add_argument("--list-checks", action="store_true",
                   help="print the check catalogue (ids for --check, what each looks at, "
                   "where it is written) and exit")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show the evidence of every step, not only of problems")
    p.set_defaults(func=run)


def _list_checks() -> int:
    """The catalogue in report order: id, targets, needs, title; then, indented, what the check
    looks at and where it is written (``path:line function``, to open in an editor)."""
    from cspctl.diagnostics.checks import CATALOGUE

    rows = [(c.id, ",".join(a.value for a in c.applies_to), ",".join(n.value for n in c.needs))
            for c in CATALOGUE]
    id_w, applies_w, needs_w = (max((len(r[i]) for r in rows), default=0) for i in range(3))
    indent = " " * (id_w + 1)
    for (check_id, applies, needs), c in zip(rows, CATALOGUE, strict=True):
        print(f"{check_id:<{id_w}} {applies:<{applies_w}} {needs:<{needs_w}} {c.title}")
        if c.description:
            print(f"{indent}{c.description}")
        print(f"{indent}{check_source(c.func)}")
    return 0


def check_source(func: Callable[..., object]) -> str:
    """Where a check function is written: ``cspctl/diagnostics/checks/console.py:52 novnc``
    (relative to the directory holding the ``cspctl`` package; absolute when outside it)."""
    func = inspect.unwrap(func)  # @check registers a wrapper
    path = Path(inspect.getfile(func)).resolve()
    root = Path(cspctl.__file__).resolve().parent.parent
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return f"{shown}:{func.__code__.co_firstlineno} {func.__name__}"


def run(args: argparse.Namespace) -> int:
    if args.list_checks:
        return _list_checks()
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1 (got {args.limit})")
    if args.vms and (args.zone or args.all):
        raise UsageError("name VMs or use --zone/--all, not both")
    if not (args.vms or args.zone or args.all):
        raise UsageError("name the system VMs to diagnose, or use --zone ZONE or --all")
    from cspctl.diagnostics.select import validate_names

    validate_names(args.vms)
    try:
        return signals.run(_diagnose(args))
    except (UsageError, Refused):
        raise
    except CspctlError as exc:
        from cspctl.cli.main import error_line

        print(error_line(exc), file=sys.stderr)
        return EXIT_COULD_NOT_RUN


def _progress(event: Any) -> None:
    from cspctl.diagnostics.runner import RunStarted, StepFinished
    from cspctl.text import safe_line

    if isinstance(event, RunStarted):
        print(f"{safe_line(event.vm.name)}: {len(event.check_ids)} checks…", file=sys.stderr)
    elif isinstance(event, StepFinished):
        f = event.finding
        print(f"  {f.status.marker} {f.status.word:<5} {safe_line(f.title)}", file=sys.stderr)


def _serialized_tty_ask() -> Any:
    """The ``cspctl ssh`` host-key question, one at a time (VMs are diagnosed in parallel)."""
    from cspctl.cli.cmd_ssh import _make_tty_ask

    ask = _make_tty_ask()
    lock = asyncio.Lock()

    async def serialized(question: Any) -> bool:
        async with lock:
            return bool(await ask(question))

    return serialized


async def _diagnose(args: argparse.Namespace) -> int:
    from cspctl.diagnostics import report
    from cspctl.diagnostics.checks import CATALOGUE
    from cspctl.diagnostics.runner import DiagnosisRunner
    from cspctl.diagnostics.select import select_vms
    from cspctl.session import Session

    checks = list(CATALOGUE)
    if args.checks:
        known = {c.id for c in CATALOGUE}
        unknown = [c for c in args.checks if c not in known]
        if unknown:
            raise UsageError(f"unknown check {', '.join(unknown)}; known: {', '.join(known)}")
        keep = set(args.checks) | {"ssh"}
        checks = [c for c in CATALOGUE if c.id in keep]
    fmt = "json" if args.json else args.format
    session = Session.open(args.profile, read_only=args.read_only)
    async with session:
        if sys.stdin.isatty() and not args.no_ssh:
            session.host_key_ask = _serialized_tty_ask()
        vms = await select_vms(session.api, args.vms, zone=args.zone, all_vms=args.all,
                               limit=args.limit)
        runner = DiagnosisRunner.for_session(
            session,
            checks=checks,
            concurrency=args.concurrency,
            timeout=args.timeout,
            use_ssh=not args.no_ssh,
            on_event=_progress if sys.stderr.isatty() else None,
        )
        # a sweep (--all/--zone) also looks at the management servers themselves
        diagnosis = await runner.run(vms, include_mgmt=bool(args.all or args.zone))
    if fmt == "json":
        out = report.render_json(diagnosis)
    elif fmt == "md":
        out = report.render_markdown(diagnosis)
    else:
        out = report.render_text(diagnosis, verbose=args.verbose)
    sys.stdout.write(out)
    sys.stdout.flush()
    return diagnosis.exit_code
