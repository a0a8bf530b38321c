"""What HTTP, TLS and DNS tools answer: status codes, certificates, addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime


def parse_http_code(text: str) -> int | None:
    """``curl -s -o /dev/null -w '%{http_code}' URL`` (000 when nothing answered)."""
    match = re.search(r"\b(\d{3})\b", text)
    if not match:
        return None
    code = int(match.group(1))
    return code or None


def parse_wget_status(text: str) -> int | None:
    """``wget -q -S -O /dev/null URL``: the last ``HTTP/1.x NNN`` line."""
    codes = re.findall(r"HTTP/\d(?:\.\d)?\s+(\d{3})", text)
    return int(codes[-1]) if codes else None


@dataclass(frozen=True)
class TlsInfo:
    """What ``curl -skv`` tells about the server certificate."""

    subject: str | None
    expires: datetime | None
    verify_result: str | None


def parse_curl_tls(text: str) -> TlsInfo | None:
    """``curl -skv -o /dev/null https://…`` stderr: subject, expire date, verify result."""
    subject = expires = verify = None
    for line in text.splitlines():
        body = line.lstrip("*").strip()
        if body.startswith("subject:"):
            subject = body.split(":", 1)[1].strip()
        elif body.startswith("expire date:"):
            value = " ".join(body.split(":", 1)[1].split())
            for fmt in ("%b %d %H:%M:%S %Y %Z", "%b %d %H:%M:%S %Y"):
                try:
                    expires = datetime.strptime(value, fmt).replace(tzinfo=UTC)
                    break
                except ValueError:
                    continue
        elif body.startswith("SSL certificate verify result:"):
            verify = body.split(":", 1)[1].strip()
    if subject is None and expires is None:
        return None
    return TlsInfo(subject, expires, verify)


def parse_openssl_enddate(text: str) -> datetime | None:
    """``openssl x509 -noout -enddate``: ``notAfter=May 12 05:33:07 2027 GMT``."""
    match = re.search(r"notAfter=(.+)", text)
    if not match:
        return None
    value = " ".join(match.group(1).split())
    for fmt in ("%b %d %H:%M:%S %Y %Z", "%b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def parse_nslookup(text: str) -> list[str]:
    """Addresses answered by ``nslookup NAME`` (the server's own address is left out)."""
    addresses: list[str] = []
    after_name = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Name:"):
            after_name = True
        elif after_name and stripped.startswith("Address"):
            addresses.append(stripped.split(":", 1)[1].strip().split()[0])
    return addresses


def parse_getent_hosts(text: str) -> list[str]:
    """``getent hosts NAME``: ``151.101.2.132   cloudstack.apache.org`` lines."""
    return [line.split()[0] for line in text.splitlines()
            if len(line.split()) >= 2 and re.fullmatch(r"[0-9a-fA-F:.]+", line.split()[0])]


def parse_nameservers(text: str) -> list[str]:
    """``cat /etc/resolv.conf``."""
    return [
        line.split()[1]
        for line in text.splitlines()
        if line.strip().startswith("nameserver") and len(line.split()) > 1
    ]
