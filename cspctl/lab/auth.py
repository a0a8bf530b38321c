"""Server-side authentication of the lab's management server, written independently of the
client (cspctl/cloudstack): request signatures (classic HMAC-SHA1 and version 3 with
``expires``), login sessions and their keys (docs/cloudstack.md §2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

# java.net.URLEncoder leaves exactly these bytes alone; space becomes "+", which the server
# then turns into "%20"; every other byte is %XX with upper-case hex.
_JAVA_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")
_STRICT_EXPIRES = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")


def java_url_encode(value: str) -> str:
    """``URLEncoder.encode(value, "UTF-8").replace("+", "%20")``."""
    out: list[str] = []
    for byte in value.encode("utf-8"):
        if byte in _JAVA_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("%20")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def string_to_sign(params: Sequence[tuple[str, str]]) -> str:
    """Names as sent, sorted case-sensitively (Java String order), values Java-encoded, then
    the whole string lower-cased. ``signature`` is left out; first value wins."""
    first: dict[str, str] = {}
    for name, value in params:
        if name.lower() == "signature":
            continue
        first.setdefault(name, value)
    # Java sorts UTF-16 code units; for the BMP that is code point order, like Python.
    joined = "&".join(f"{name}={java_url_encode(first[name])}" for name in sorted(first))
    return joined.lower()


def compute_signature(params: Sequence[tuple[str, str]], secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), string_to_sign(params).encode("utf-8"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_expires(value: str, *, lenient: bool) -> datetime | None:
    """Parse a v3 ``expires``. 4.x servers accept only ``yyyy-MM-dd'T'HH:mm:ssZ`` (``+0000``);
    newer ones (``lenient``) also ISO forms (``...Z``, ``+01:00``, fractions)."""
    if _STRICT_EXPIRES.match(value):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    if not lenient:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def verify_signed_request(params: Sequence[tuple[str, str]], secret: str, *, now: float,
                          lenient_expires: bool) -> bool:
    """Whether a request signed with an API key is authentic and not expired (§2.1, §2.2)."""
    lower: dict[str, str] = {}
    for name, value in params:
        lower.setdefault(name.lower(), value)
    signature = lower.get("signature")
    if not signature:
        return False
    if lower.get("signatureversion") == "3":
        expires = lower.get("expires")
        if not expires:
            return False
        when = parse_expires(expires, lenient=lenient_expires)
        if when is None or when.timestamp() <= now:
            return False
    expected = compute_signature(params, secret)
    return hmac.compare_digest(expected.encode(), signature.encode())


@dataclass
class LoginSession:
    """One logged-in web session: JSESSIONID cookie plus its session key."""

    jsessionid: str
    sessionkey: str
    username: str
    created: float
    last_used: float
    data: dict[str, str] = field(default_factory=dict)


class SessionStore:
    """Sessions by JSESSIONID, with CloudStack's idle timeout."""

    def __init__(self, timeout: float = 1800.0) -> None:
        self.timeout = timeout
        self._by_id: dict[str, LoginSession] = {}

    def create(self, username: str, now: float, *, jetty: bool) -> LoginSession:
        # Tomcat (4.x) ids: 32 upper-case hex; Jetty (4.11+): node0<random>.node0
        sid = "node0" + secrets.token_hex(12) + ".node0" if jetty else secrets.token_hex(16).upper()
        key = secrets.token_urlsafe(20)  # 20 random bytes -> 27 characters, as CloudStack
        session = LoginSession(sid, key, username, now, now)
        self._by_id[sid] = session
        return session

    def get(self, jsessionid: str | None, now: float) -> LoginSession | None:
        if not jsessionid:
            return None
        session = self._by_id.get(jsessionid)
        if session is None:
            return None
        if now - session.last_used > self.timeout:
            self._by_id.pop(jsessionid, None)
            return None
        return session

    def touch(self, session: LoginSession, now: float) -> None:
        session.last_used = now

    def drop(self, session: LoginSession) -> None:
        self._by_id.pop(session.jsessionid, None)

    def __len__(self) -> int:
        return len(self._by_id)
