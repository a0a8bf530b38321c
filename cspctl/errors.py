"""The base of every error cspctl reports to an operator.

Each carries a message that reads as one line on its own (which server, which VM, which hop,
what went wrong, what to do) and the exit status the CLI returns for it.
"""

from __future__ import annotations


class CspctlError(Exception):
    """An expected failure: shown as one line, never as a traceback."""

    exit_code: int = 1


class UsageError(CspctlError):
    """Bad input on the command line (invalid VM name, unknown option value...)."""

    exit_code = 2


class ConfigError(CspctlError):
    """A missing or broken profile/config file; the message names the file, key and fix."""

    exit_code = 2
