"""CloudStack request signing: classic HMAC-SHA1 and signature version 3 (``expires``).

Follows ``ApiServer.verifyRequest``: every parameter except ``signature``, names sorted
case-sensitively as sent, values encoded like Java's ``URLEncoder`` (only ``A-Z a-z 0-9 . - * _``
kept, space as ``%20``), the whole string lower-cased *after* sorting, HMAC-SHA1 with the secret
key, standard Base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-*_")
_BYTE_ENC = [chr(b) if b in _SAFE else f"%{b:02X}" for b in range(256)]

EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"
"""The one format 4.x servers parse (no colon in the offset, no literal ``Z``)."""


def java_urlencode(value: str) -> str:
    """``URLEncoder.encode(value, "UTF-8")`` with ``+`` replaced by ``%20``; ``~`` -> ``%7E``."""
    return "".join(_BYTE_ENC[b] for b in value.encode("utf-8"))


def string_to_sign(params: Mapping[str, str]) -> str:
    """The lower-cased ``name=value&...`` string CloudStack hashes (``signature`` excluded)."""
    parts = [f"{k}={java_urlencode(str(params[k]))}" for k in sorted(params) if k != "signature"]
    return "&".join(parts).lower()


def sign(params: Mapping[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1 signature of ``params`` (put it in ``signature``, percent-encoded)."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign(params).encode("utf-8"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def expires_at(now: datetime | None = None, *, ttl: float = 600.0) -> str:
    """``expires`` value for signature version 3: UTC, ``ttl`` seconds ahead, ``+0000``."""
    now = now or datetime.now(UTC)
    return (now.astimezone(UTC) + timedelta(seconds=ttl)).strftime(EXPIRES_FORMAT)


def signed_params(
    params: Mapping[str, str],
    apikey: str,
    secret: str,
    *,
    version: int = 3,
    ttl: float = 600.0,
    now: datetime | None = None,
) -> dict[str, str]:
    """A copy of ``params`` with ``apiKey`` (+ v3 ``signatureVersion``/``expires``) and
    ``signature`` added. ``version`` other than 3 gives the classic signature."""
    out = {k: str(v) for k, v in params.items() if k != "signature"}
    out["apiKey"] = apikey
    if version == 3:
        out["signatureVersion"] = "3"
        out.setdefault("expires", expires_at(now, ttl=ttl))
    out["signature"] = sign(out, secret)
    return out


def encode_query(params: Mapping[str, str]) -> str:
    """Wire form of ``params``: every value (and the signature) fully percent-encoded."""
    return "&".join(f"{java_urlencode(k)}={java_urlencode(str(v))}" for k, v in params.items())
