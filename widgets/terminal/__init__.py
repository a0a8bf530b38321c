"""A terminal pane on pyte: scrollback, alternate screen, colours, keys, coalesced redraws."""

from widgets.terminal.emulator import Emulator
from widgets.terminal.keys import key_to_bytes, paste_bytes
from widgets.terminal.screen import TerminalScreen
from widgets.terminal.widget import Terminal

__all__ = ["Emulator", "Terminal", "TerminalScreen", "key_to_bytes", "paste_bytes"]
