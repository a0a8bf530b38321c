"""The one place that decides whether something may change a cloud or a VM.

Read-only mode, dry-run and confirmation are enforced here, in the engine, so no front end
(CLI, console, a script) can forget them. Every refusal raises :class:`Refused` (exit 5) with a
message that names what was refused and why.

- The API client asks :meth:`Gate.check_api` before it sends any command: in read-only mode
  only reads pass (``list*``, ``get*``, ``query*``, ``login``, ``logout``).
- The SSH layer asks :meth:`Gate.check_shell` before an interactive shell or an operator's
  ad-hoc command (``cspctl ssh VM -- CMD``), which can change anything.
- A check that would write (the secondary-storage write test) asks :meth:`Gate.allows_writes`
  and skips itself with a reason when it is False.
- The repair wizard asks :meth:`Gate.authorize` for each destructive step with the answer the
  operator gave to that step's own question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cspctl.errors import CspctlError

READ_COMMAND = re.compile(r"^(?:(?:list|get|query)[A-Z0-9]\w*|login|logout)$")
"""CloudStack commands that only read: the allowlist of read-only mode."""


HOW_TO_WRITE = "to allow it, run without --read-only and without read_only = true in the profile"
"""Where read-only mode comes from, said in every refusal (a flag or the profile)."""


def is_read_command(command: str) -> bool:
    """True for a CloudStack API command that changes nothing (``listZones``, ``login``...)."""
    return bool(READ_COMMAND.match(command))


class Refused(CspctlError):
    """An action the gate did not allow: read-only mode, a declined or missing confirmation."""

    exit_code = 5


class ReadOnlyRefused(Refused):
    """Read-only mode is on and the action could change something."""


class NotConfirmed(Refused):
    """A destructive step without the operator's explicit yes (or with a wrong typed name)."""


@dataclass(frozen=True)
class Gate:
    """Read-only and dry-run state of one session. Immutable: a session's mode never flips."""

    read_only: bool = False
    dry_run: bool = False

    def allows_writes(self) -> bool:
        """False when nothing may change (read-only or dry-run)."""
        return not (self.read_only or self.dry_run)

    def check_api(self, command: str) -> None:
        """Raise :class:`ReadOnlyRefused` for a command that is not a read, in read-only mode."""
        if self.read_only and not is_read_command(command):
            raise ReadOnlyRefused(
                f"read-only mode: the API command {command} could change the cloud and was not "
                f"sent ({HOW_TO_WRITE})"
            )

    def check_shell(self, what: str) -> None:
        """Raise :class:`ReadOnlyRefused` for a shell or an operator's command on a VM."""
        if self.read_only:
            raise ReadOnlyRefused(
                f"read-only mode: {what} could change the VM and is not allowed "
                f"({HOW_TO_WRITE})"
            )

    def authorize(self, action: str, *, confirmed: bool) -> None:
        """Allow one destructive step, or raise. Dry-run is the caller's job (it never runs).

        ``action`` is the step's exact preview; ``confirmed`` the operator's answer to the
        question about that very step (never one yes for a whole playbook).
        """
        if self.read_only:
            raise ReadOnlyRefused(f"read-only mode: refused {action}")
        if not confirmed:
            raise NotConfirmed(f"not confirmed: {action}")
