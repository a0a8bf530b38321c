"""Mask secrets that system VMs print (``vmpassword=...`` in /var/cache/cloud/cmdline) and
that a shell echoes while the operator types (API keys, ``password=...``).

:func:`mask_secrets` masks one complete text. :class:`StreamMasker` masks a stream that
arrives in arbitrary chunks (a shell echoes typed characters one or a few at a time): it holds
back the short tail that could still become a secret, so the joined output never holds one.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

MASK = "***"

_KV_SECRET = re.compile(r"(?i)\b(vmpassword|password|passwd|secretkey|apikey)=(\S+)")

# ``key=value`` credentials masked in a shell stream (what mask_secrets and the journal's
# scrubber know, together)
STREAM_KEYS = ("vmpassword", "password", "passwd", "secretkey", "apikey", "sessionkey",
               "signature", "jsessionid")
_WORD = "A-Za-z0-9_"
_QUOTES = "\"'"
_MIN_SECRET = 4  # shorter known values are ignored (as the journal's Scrubber does)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_BARE_VALUE = re.compile(r"\S*")
_IN_DOUBLE = re.compile(r'[^"\r\n]*')
_IN_SINGLE = re.compile(r"[^'\r\n]*")


def mask_secrets(text: str) -> str:
    """``vmpassword=s3cret`` -> ``vmpassword=***`` (what the journal and recordings keep)."""
    return _KV_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)


class StreamMasker:
    """Masks known secret values and ``key=value`` credentials across chunk boundaries.

    ``feed(text)`` returns what may be written now; ``flush()`` (on a timer) writes a held
    tail that cannot reveal a secret; ``close()`` returns the rest at the end of the stream.
    Whatever the chunking and the flush times, the concatenated output equals the output for
    the whole stream fed at once, and holds no known secret and no ``key=value`` value.

    Held back at most: the longest known secret (or ``key=``) minus one character. A value
    after ``key=`` (up to whitespace, or inside quotes up to the closing quote) is replaced
    by ``***`` as it streams, without being held.
    """

    def __init__(self, secrets: Iterable[str] = (), keys: Iterable[str] = STREAM_KEYS) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET},
                               key=len, reverse=True)
        self._keys = [f"{k.lower()}=" for k in keys]
        keys = "|".join(re.escape(k) for k in self._keys)
        alternatives = [f"(?P<kv>(?<![{_WORD}])(?ai:{keys}))"]
        if self._secrets:
            alternatives.append(f"(?P<lit>{'|'.join(re.escape(s) for s in self._secrets)})")
        self._pattern = re.compile("|".join(alternatives))
        self._longest = max([len(k) for k in self._keys] + [len(s) for s in self._secrets])
        self._before = ""  # the raw character before ``_held`` (word-boundary context)
        self._held = ""  # raw text that may still become a secret or a ``key=``
        self._held_written = 0  # leading chars of ``_held`` already written (a flushed key)
        self._value: str | None = None  # inside a value: "" start, " " bare, or the quote

    @property
    def holding(self) -> bool:
        """True while some received text has not been written yet."""
        return len(self._held) > self._held_written

    @property
    def hold_limit(self) -> int:
        """The most characters ever held back."""
        return self._longest - 1

    def feed(self, text: str) -> str:
        """Mask ``text`` (the next chunk); returns what can be written now."""
        return self._process(text, final=False)

    def flush(self) -> str:
        """Write a held ``key=`` prefix (it reveals nothing: only its value is secret); a
        held prefix of a known secret stays held until more output or :meth:`close`."""
        if not self.holding or self._literal_partial(self._held, 0) is not None:
            return ""
        out = self._held[self._held_written:]
        self._held_written = len(self._held)
        return out

    def close(self) -> str:
        """The end of the stream: everything still held (a secret's prefix as ``***``)."""
        return self._process("", final=True)

    # -- internals ------------------------------------------------------------------------
    def _literal_partial(self, text: str, start: int) -> int | None:
        """First index >= start where ``text[i:]`` is a proper prefix of a known secret."""
        for i in range(max(start, len(text) - self._longest + 1), len(text)):
            tail = text[i:]
            if any(len(s) > len(tail) and s.startswith(tail) for s in self._secrets):
                return i
        return None

    def _partial(self, hay: str, start: int) -> int:
        """First index >= start where ``hay[i:]`` could still grow into a match."""
        for i in range(max(start, len(hay) - self._longest + 1), len(hay)):
            tail = hay[i:]
            low = tail.translate(_ASCII_LOWER)
            if any(len(s) > len(tail) and s.startswith(tail) for s in self._secrets):
                return i
            if (i == 0 or not _is_word(hay[i - 1])) and any(
                len(k) > len(low) and k.startswith(low) for k in self._keys
            ):
                return i
        return len(hay)

    def _process(self, text: str, *, final: bool) -> str:
        hay = self._before + self._held + text
        written = len(self._before) + self._held_written  # hay[:written] is already out
        i = len(self._before)
        out: list[str] = []

        def emit(a: int, b: int) -> None:
            a = max(a, written)
            if b > a:
                out.append(hay[a:b])

        hold = -1  # first index >= i that must be held back (computed when i passes it)
        while i < len(hay):
            if self._value is not None:
                i = self._skip_value(hay, i, out)
                continue
            if hold < i:
                if final:
                    stop = self._literal_partial(hay, max(i, written))
                    if stop is not None and len(hay) - stop < _MIN_SECRET:
                        stop = None
                    hold = len(hay) if stop is None else stop
                else:
                    hold = self._partial(hay, i)
            m = self._pattern.search(hay, i)
            if m is not None and m.start() < hold:
                if m.lastgroup == "kv":
                    emit(i, m.end())
                    self._value = ""
                else:
                    emit(i, m.start())
                    out.append(MASK)
                i = m.end()
                continue
            emit(i, hold)
            if final and hold < len(hay):
                out.append(MASK)  # the stream ended inside a known secret
            i = hold
            break
        self._before = hay[i - 1:i] if i > 0 else self._before
        self._held = hay[i:]
        self._held_written = max(0, written - i)
        if final:
            self._before, self._held, self._held_written, self._value = "", "", 0, None
        return "".join(out)

    def _skip_value(self, hay: str, i: int, out: list[str]) -> int:
        """Consume the value after ``key=`` (masked once); the index after it."""
        if self._value == "":
            c = hay[i]
            if c.isspace():
                self._value = None
                return i
            out.append(MASK)
            if c in _QUOTES:
                self._value = c
                i += 1
            else:
                self._value = " "
        n = len(hay)
        if self._value == " ":
            i = _BARE_VALUE.match(hay, i).end()  # type: ignore[union-attr]
            if i < n:
                self._value = None
            return i
        quote = self._value
        i = (_IN_DOUBLE if quote == '"' else _IN_SINGLE).match(hay, i).end()  # type: ignore[union-attr]
        if i < n:
            self._value = None
            if hay[i] == quote:
                i += 1
        return i


def _is_word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")
