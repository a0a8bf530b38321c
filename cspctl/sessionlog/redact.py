"""Keep secrets out of everything cspctl writes: journal, exports, errors, screens."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

SECRET_KEYS = frozenset(
    {
        "apikey",
        "secretkey",
        "password",
        "sessionkey",
        "signature",
        "cookie",
        "set-cookie",
        "jsessionid",
        "authorization",
        "vmpassword",
        "passphrase",
        "privatekey",
        "token",
    }
)


def is_secret_key(name: str) -> bool:
    """True for parameter/field names that carry credentials (case-insensitive)."""
    return name.lower().replace("_", "") in SECRET_KEYS


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with every credential value replaced by ``***``."""
    return {k: (MASK if is_secret_key(k) else v) for k, v in params.items()}


_QUERY_SECRET = re.compile(
    r"(?i)\b(apikey|secretkey|password|sessionkey|signature|jsessionid)=([^&\s;\"']+)"
)


def _mask_value(m: re.Match[str]) -> str:
    return f"{m.group(1)}={MASK}"


class Scrubber:
    """Removes known secret values (and ``key=value`` credentials) from free text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._literal: re.Pattern[str] | None = None
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        """Remember a secret value; values shorter than 4 chars are ignored (too noisy)."""
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.add(secret)
            # one pattern for every known value, longest first (as replacing them one by one,
            # longest first, would): one pass over the text however many secrets there are
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._literal = re.compile("|".join(re.escape(v) for v in ordered))

    @property
    def secrets(self) -> frozenset[str]:
        """The known secret values (for maskers that work on a stream, like recordings)."""
        return frozenset(self._secrets)

    def __call__(self, text: str) -> str:
        if "=" in text:  # the query pattern needs one
            text = _QUERY_SECRET.sub(_mask_value, text)
        if self._literal is not None:
            text = self._literal.sub(MASK, text)
        return text

    def scrub_obj(self, obj: Any) -> Any:
        """Recursively redact a JSON-able object: secret keys masked, strings scrubbed."""
        if isinstance(obj, Mapping):
            return {
                k: (MASK if is_secret_key(str(k)) else self.scrub_obj(v)) for k, v in obj.items()
            }
        if isinstance(obj, list | tuple):
            return [self.scrub_obj(v) for v in obj]
        if isinstance(obj, str):
            return self(obj)
        if obj is None or isinstance(obj, bool | int | float):
            return obj
        # anything else (Path, URL, exception, datetime...) would be str()-ed by the JSON
        # writer after scrubbing: turn it into text now so its secrets are scrubbed too
        return self(str(obj))
