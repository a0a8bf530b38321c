"""Every private Textual name the console still relies on exists, with the shape it is used with.

pyproject pins ``textual>=3.0,<9``; a Textual release that renames or reshapes one of these
fails here, with the name, instead of somewhere deep in the console. The names and their users:

- ``textual.widgets._footer.FooterKey`` (``key_display``, ``description``, ``action``; built
  with those keywords) and ``Footer._bindings_ready`` — ``tui/footer.py`` (FitFooter);
- the ``_on_key`` handler — ``widgets/terminal/widget.py`` (keys typed go to the shell);
- ``LinuxDriver._writer_thread`` (the output thread, or None) — ``tui/driver.py``.
"""

from __future__ import annotations

import inspect

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.drivers.linux_driver import LinuxDriver
from textual.widget import Widget
from textual.widgets import Footer

from tui.footer import FitFooter


class _Keys(Widget, can_focus=True):
    BINDINGS = [Binding("f5", "noop", "Refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.private_keys: list[str] = []

    async def _on_key(self, event: events.Key) -> None:
        self.private_keys.append(event.key)

    def action_noop(self) -> None:
        pass


class _App(App[None]):
    def compose(self) -> ComposeResult:
        yield _Keys()
        yield FitFooter()


def test_footer_key_signature() -> None:
    from textual.widgets._footer import FooterKey

    params = inspect.signature(FooterKey.__init__).parameters
    assert {"key", "key_display", "description", "action"} <= set(params)
    key = FooterKey(key="f5", key_display="F5", description="Refresh", action="app.noop")
    assert (key.key_display, key.description, key.action) == ("F5", "Refresh", "app.noop")


def test_footer_bindings_ready_is_a_reactive() -> None:
    assert "_bindings_ready" in Footer._reactives


async def test_footer_composes_footer_keys_and_on_key_is_dispatched() -> None:
    from textual.widgets._footer import FooterKey

    app = _App()
    async with app.run_test(size=(100, 10)) as pilot:
        widget = app.query_one(_Keys)
        widget.focus()
        await pilot.pause()
        footer = app.query_one(FitFooter)
        assert footer._bindings_ready is True
        keys = list(footer.query(FooterKey))
        assert any(k.key_display.lower() == "f5" and k.description == "Refresh" for k in keys)
        await pilot.press("x")
        await pilot.pause()
        assert widget.private_keys == ["x"]  # the private handler is still dispatched


async def test_linux_driver_writer_thread_attribute() -> None:
    app = _App()
    driver = LinuxDriver(app)
    assert hasattr(driver, "_writer_thread")
    assert driver._writer_thread is None  # set only once the driver is in application mode
    assert "_writer_thread" in inspect.getsource(LinuxDriver.write)
