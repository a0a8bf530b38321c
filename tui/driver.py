"""The terminal driver: Textual's Linux driver, safe when the terminal hangs up.

After a hangup every write to the terminal fails (EIO); Textual's output thread dies on the
first one and the next writes then wait forever for it, so the console could never finish its
clean shutdown (shells closed, journal ended). Here, output to a dead terminal is dropped.
"""

from __future__ import annotations

from textual.drivers.linux_driver import LinuxDriver


class HangupSafeDriver(LinuxDriver):
    """Drops output once the output thread has died (the terminal is gone)."""

    def _output_dead(self) -> bool:
        writer = self._writer_thread
        return writer is not None and not writer.is_alive()

    def write(self, data: str) -> None:
        if self._output_dead():
            return
        super().write(data)

    def close(self) -> None:
        if self._output_dead():
            self._writer_thread = None
        super().close()
