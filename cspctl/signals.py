"""Ending cleanly on a signal: SIGTERM, SIGHUP (and SIGINT) stop the work, let every
``finally`` and ``async with`` run (terminal restored, shells closed, journal ended with a
``session.end`` naming the signal), then exit with 128 + the signal number.

The CLI runs its coroutines with :func:`run`; the console installs :func:`install` on its own
loop. :func:`received_name` tells :class:`cspctl.session.Session` which signal ended it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import termios
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

_received: list[int] = []


def received() -> int | None:
    """The first stopping signal this process got, if any."""
    return _received[0] if _received else None


def received_name() -> str | None:
    signum = received()
    return signal_name(signum) if signum is not None else None


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def note(signum: int) -> bool:
    """Remember a stopping signal; True for the first one."""
    _received.append(signum)
    return len(_received) == 1


def reset() -> None:
    """Forget received signals (tests running several sessions in one process)."""
    _received.clear()


class Terminated(BaseException):
    """The work was stopped by a signal (raised once everything is closed)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + int(signum)
        word = "interrupted" if signum == signal.SIGINT else f"terminated by {signal_name(signum)}"
        super().__init__(word)


def release_hung_up_terminal() -> bool:
    """After a real hangup (the terminal went away), point stdin, stdout and stderr at
    /dev/null: writing to the dead terminal fails (EIO), and a UI's output thread dying on
    that would block the clean shutdown. A terminal that is still there is left alone (a
    plain ``kill -HUP``: it must be restored). True if something was released."""
    released = False
    null = None
    for fd in (0, 1, 2):
        try:
            termios.tcgetattr(fd)
        except termios.error as exc:
            if exc.args and exc.args[0] == errno.EIO:
                if null is None:
                    null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, fd)
                released = True
    if null is not None:
        os.close(null)
    return released


def install(
    loop: asyncio.AbstractEventLoop,
    on_signal: Callable[[int], None],
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> Callable[[], None]:
    """Call ``on_signal(signum)`` (in the loop) for the first stopping signal; a second one
    gets the default action (ends the process at once, as an impatient operator wants).
    A signal the parent ignores (``nohup``) stays ignored. Returns a function that removes
    the handlers."""
    installed: list[signal.Signals] = []

    def remove() -> None:
        while installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(installed.pop())

    def handle(signum: int) -> None:
        first = note(signum)
        remove()
        if signum == signal.SIGHUP:
            release_hung_up_terminal()
        if first:
            on_signal(signum)

    for sig in signals:
        if signal.getsignal(sig) == signal.SIG_IGN:
            continue  # ignored on purpose (nohup, a background job): stay ignored
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, handle, int(sig))
            installed.append(sig)
    return remove


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, where SIGTERM, SIGHUP and SIGINT cancel ``coro`` (its cleanup
    runs) and then raise :class:`Terminated`."""

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        stopped: list[int] = []

        def stop(signum: int) -> None:
            stopped.append(signum)
            task.cancel()

        remove = install(asyncio.get_running_loop(), stop)
        try:
            return await coro
        except asyncio.CancelledError:
            if stopped:
                raise Terminated(stopped[0]) from None
            raise
        finally:
            remove()
            if stopped:
                await _settle_tasks(task)

    return asyncio.run(main())


async def _settle_tasks(current: asyncio.Task[Any]) -> None:
    """Cancel what the stopped work left running and wait for it (no "Task exception was never
    retrieved" and no work going on after the session ended)."""
    others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for t in others:
        t.cancel()
    if others:
        await asyncio.wait(others, timeout=5)


async def in_daemon_thread(func: Callable[[], T]) -> T:
    """``func()`` (a blocking terminal read) in a daemon thread: a SIGTERM while it waits must
    not wait for the operator's Enter (the default executor's threads are joined at exit)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = func()
        except BaseException as exc:  # handed to the awaiting coroutine
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="cspctl-tty-question", daemon=True).start()
    return await done
