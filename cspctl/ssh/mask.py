"""Mask secrets that system VMs print (``vmpassword=...`` in /var/cache/cloud/cmdline)."""

from __future__ import annotations

import re

_KV_SECRET = re.compile(r"(?i)\b(vmpassword|password|passwd|secretkey|apikey)=(\S+)")


def mask_secrets(text: str) -> str:
    """``vmpassword=s3cret`` -> ``vmpassword=***`` (what the journal and recordings keep)."""
    return _KV_SECRET.sub(lambda m: f"{m.group(1)}=***", text)
