"""The ``cspctl`` command: the TUI by default, headless subcommands for scripts and cron.

Headless subcommands never import Textual: the TUI is imported only when it is started.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from cspctl import __version__
from cspctl.errors import CspctlError
from cspctl.signals import Terminated
from cspctl.text import safe_line

# Each module defines ``register(subparsers)``; its parsers set ``func(args) -> int``.
SUBCOMMAND_MODULES = (
    "cspctl.cli.cmd_profiles",
    "cspctl.cli.cmd_list",
    "cspctl.cli.cmd_lab",
    "cspctl.cli.cmd_ssh",
    "cspctl.cli.cmd_diagnose",
    "cspctl.cli.cmd_repair",
    "cspctl.cli.cmd_log",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cspctl",
        description=(
            "Operations console for Apache CloudStack system VMs (console proxy and secondary "
            "storage). With no subcommand, opens the console (TUI)."
        ),
        epilog="Try it with no cloud at all: cspctl --lab",
    )
    parser.add_argument("--version", action="version", version=f"cspctl {__version__}")
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=os.environ.get("CSPCTL_PROFILE"),
        help="profile to use (cmk/cloudmonkey config or cspctl's own); default: the one "
        "marked default",
    )
    parser.add_argument(
        "--lab",
        action="store_true",
        help="start the embedded simulated CloudStack and open the console against it",
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME",
        default="seed",
        help="lab scenario for --lab (see 'cspctl lab scenarios'; default: seed)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="never change anything: only read API calls are sent, shells and ssh -- CMD "
        "are refused (exit 5), diagnose skips its write test",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _print_config_warnings() -> None:
    """Show config warnings (e.g. a 0644 ~/.cmk/config) as ``cspctl: warning: ...`` lines."""
    from cspctl.config import ConfigWarning

    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        if issubclass(category, ConfigWarning):
            print(f"cspctl: warning: {safe_line(message)}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.filterwarnings("default", category=ConfigWarning)


def _internal_error(exc: Exception) -> str:
    """One line for an unexpected exception, with anything credential-like masked."""
    from cspctl.sessionlog import Scrubber

    text = " ".join(safe_line(Scrubber()(f"{type(exc).__name__}: {exc}")).split())
    return f"cspctl: internal error: {text[:300]} (run with --debug for the traceback)"


SIGPIPE_EXIT = 141
"""128 + SIGPIPE: what a shell reports for ``yes | head -1``'s writer."""


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (``| head -1``): end silently, like coreutils.

    Later writes (and the interpreter's final flush) go to /dev/null instead of raising again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return SIGPIPE_EXIT

def error_line(exc: BaseException) -> str:
    """``cspctl: <message>`` on one line: names from a cloud or a file may hold anything."""
    return f"cspctl: {safe_line(exc)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _print_config_warnings()
    try:
        if args.subcommand is None:
            from cspctl.cli.cmd_tui import run_tui

            return run_tui(args)
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit as "Exception ignored"
        return status
    except CspctlError as exc:
        if args.debug:
            raise
        print(error_line(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cspctl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Terminated as exc:  # SIGTERM/SIGHUP/SIGINT, after everything was closed
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            print(f"cspctl: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # never a traceback for the operator (--debug shows it)
        if args.debug:
            raise
        print(_internal_error(exc), file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
