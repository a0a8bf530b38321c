"""A VM's read-only probes in one SSH round trip: one remote script, delimiters between probes.

Checks declare the commands they will run (``@check(..., probes=(...))``); before the first
of them is needed, every declared probe of the VM's plan goes out as one script::

    uptime; echo TOKEN:0:$?; echo TOKEN:0 >&2; df -P; echo TOKEN:1:$?; echo TOKEN:1 >&2

(only ``;``, ``echo``, ``$?`` and ``>&2``: bash and dash on a system VM and the lab's shell
all run it). The output is split at the delimiters as it streams in, so each probe gets its own
stdout, stderr and exit status, exactly as if it had run alone; each check still records its
own command and output as evidence. A probe the batch does not deliver (the script was cut, a
probe stalled the ones after it, the connection dropped) runs alone instead.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cspctl.ssh.errors import SshConnectionLost, SshError, SshTimeout

if TYPE_CHECKING:
    from cspctl.ssh import CommandResult

_NOT_IN_BATCH = frozenset({
    "exit", "exec", "cd", "set", "export", "unset", "read", "source", ".", "trap", "ulimit",
    "umask", "shopt", "alias", "eval", "wait", "kill", "logout",
})
"""Words that could change the shell the other probes run in (or end it): such a probe runs
alone, in its own shell."""

STALL = 3.0
"""Seconds a waiting probe gives a batch that delivers nothing before running alone."""

RunScript = Callable[[str, Callable[[str, str], None]], Awaitable["CommandResult"]]
"""``run(script, on_output)``: run the script over the VM's connection, streaming output."""


def batchable(command: str) -> bool:
    """Can ``command`` share a shell with other probes without changing what they see?

    One line, no comment, no here-document, no background job or substitution, balanced
    quotes, none of the builtins that change or end the shell. Anything else runs alone.
    """
    if not command.strip() or any(c in command for c in "\n\r#`\0") or "<<" in command:
        return False
    tail = command.rstrip()
    if "$(" in command or (tail.endswith("&") and not tail.endswith("&&")):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return bool(words) and not any(w in _NOT_IN_BATCH for w in words)


def plan_probes(declared: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """The batchable probes of a plan, first declaration first, each once."""
    return tuple(c for c in dict.fromkeys(c for group in declared for c in group)
                 if batchable(c))


class ProbeBatch:
    """The declared probes of one VM (or of its host) and, once run, their results."""

    def __init__(self, commands: Sequence[str], *, stall: float = STALL) -> None:
        self.commands = plan_probes([commands])
        self.stall = stall
        self.token = f"cspctl-{secrets.token_hex(8)}"
        self.progress = 0
        """Probes delivered so far (a waiter that sees no progress runs its probe alone)."""
        self._index = {c: i for i, c in enumerate(self.commands)}
        self._futures: list[asyncio.Future[CommandResult | None]] = []
        self._task: asyncio.Future[None] | None = None
        self._out = self._err = ""
        self._outs: list[tuple[str, int, float]] = []  # stdout, status, arrival
        self._errs: list[str] = []
        self._started = 0.0
        self._last = 0.0

    def __contains__(self, command: object) -> bool:
        return command in self._index

    def script(self) -> str:
        tok = self.token
        return "; ".join(f"{cmd}; echo {tok}:{i}:$?; echo {tok}:{i} >&2"
                         for i, cmd in enumerate(self.commands))

    # ---- running ---------------------------------------------------------------------------
    def start(self, run: RunScript) -> None:
        """Send the script (once); later calls do nothing."""
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()
        self._futures = [loop.create_future() for _ in self.commands]
        for fut in self._futures:
            fut.add_done_callback(_retrieved)
        self._started = self._last = time.monotonic()
        self._task = asyncio.ensure_future(self._run(run))
        self._task.add_done_callback(_retrieved)

    async def aclose(self) -> None:
        """Stop the script if it still runs, and wait until it has stopped (and journalled)."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait([task])

    async def _run(self, run: RunScript) -> None:
        try:
            await run(self.script(), self._feed)
        except (SshTimeout, SshConnectionLost):
            pass  # what was delivered stands; the rest runs alone
        except SshError as exc:
            # the VM cannot be reached at all: every probe would meet the same error
            for fut in self._futures:
                if not fut.done():
                    fut.set_exception(exc)
        except asyncio.CancelledError:
            for fut in self._futures:
                fut.cancel()
            raise
        finally:
            for fut in self._futures:
                if not fut.done():
                    fut.set_result(None)

    def _feed(self, stream: str, text: str) -> None:
        """Split streamed output at the delimiters; resolve each probe once it is complete."""
        if stream == "stdout":
            self._out += text
            while len(self._outs) < len(self.commands):
                mark = f"{self.token}:{len(self._outs)}:"
                at = self._out.find(mark)
                end = self._out.find("\n", at + len(mark)) if at >= 0 else -1
                if end < 0:
                    break
                status = self._out[at + len(mark):end].strip()
                self._outs.append((self._out[:at], int(status) if status.isdigit() else -1,
                                   time.monotonic()))
                self._out = self._out[end + 1:]
        else:
            self._err += text
            while len(self._errs) < len(self.commands):
                mark = f"{self.token}:{len(self._errs)}\n"
                at = self._err.find(mark)
                if at < 0:
                    break
                self._errs.append(self._err[:at])
                self._err = self._err[at + len(mark):]
        self._resolve()

    def _resolve(self) -> None:
        from cspctl.ssh import CommandResult

        done = min(len(self._outs), len(self._errs))
        while self.progress < done:
            i = self.progress
            out, status, arrived = self._outs[i]
            started = self._last
            self._last = max(arrived, started)
            fut = self._futures[i]
            if not fut.done():
                if status < 0:
                    fut.set_result(None)  # no exit status: run it alone
                else:
                    fut.set_result(CommandResult(
                        command=self.commands[i], exit_status=status, stdout=out,
                        stderr=self._errs[i], duration=self._last - started, started=started))
            self.progress += 1

    async def result(self, command: str) -> CommandResult | None:
        """The probe's result from the batch; None: run it alone (not delivered in time).

        Raises the batch's SshError when the VM could not be reached at all.
        """
        fut = self._futures[self._index[command]]
        while not fut.done():
            seen = self.progress
            try:
                return await asyncio.wait_for(asyncio.shield(fut), self.stall)
            except TimeoutError:
                if self.progress == seen:
                    return None  # the batch is stuck on an earlier probe
        return fut.result()


def _retrieved(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()
