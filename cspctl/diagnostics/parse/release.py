"""Versions: ``/etc/cloudstack-release``, version tuples and their comparison; names in text."""

from __future__ import annotations

import re

from cspctl.versions import parse_version

__all__ = ["mentions", "parse_release", "parse_version", "same_release"]


def parse_release(text: str) -> str | None:
    """``/etc/cloudstack-release``: ``Cloudstack Release 4.8.0 Mon Feb ...`` -> ``4.8.0``."""
    match = re.search(r"(\d+\.\d+(?:\.\d+)*)", text)
    return match.group(1) if match else None


def same_release(a: str | None, b: str | None, parts: int = 3) -> bool | None:
    """Compare two versions on their first ``parts`` components (None if one is unknown)."""
    va, vb = parse_version(a), parse_version(b)
    if not va or not vb:
        return None
    pad_a = (va + (0,) * parts)[:parts]
    pad_b = (vb + (0,) * parts)[:parts]
    return pad_a == pad_b


def mentions(text: str, name: str) -> bool:
    """Does free text name this VM as a whole word (``v-2-VM`` but not ``v-22-VM``)?"""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None
