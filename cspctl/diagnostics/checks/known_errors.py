"""Known errors: agent-log signatures mapped to their cause, fix, upstream issue and playbook.

The agent-log check reads /var/log/cloud.log and names every entry whose signature it finds.
Upstream numbers are apache/cloudstack issues and pull requests where operators reported
the same lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownError:
    """One log signature and what it means."""

    id: str
    signature: re.Pattern[str]
    cause: str
    fix: str
    upstream: tuple[int, ...] = ()
    playbook: str | None = None
    breaks_connection: bool = True
    """False for errors of the agent's work (downloads) rather than of its connection."""

    def describe(self) -> str:
        refs = ", ".join(f"apache/cloudstack#{n}" for n in self.upstream)
        return f"{self.cause}; {self.fix}" + (f" (reported upstream: {refs})" if refs else "")


KNOWN_ERRORS: tuple[KnownError, ...] = (
    KnownError(
        "keystore-trust-all",
        re.compile(r"Failed to load keystore, using trust all manager"),
        "the agent cannot read its keystore conf/cloud.jks, so it cannot present its "
        "certificate and the TLS handshake on 8250 fails",
        "re-issue the certificate (provisionCertificate); if that fails, destroy the VM",
        (9959, 3853), "provision-cert"),
    KnownError(
        "certificate-unknown",
        re.compile(r"certificate_unknown|PKIX path (?:building|validation) failed.*8250", re.I),
        "the management server does not trust the agent's certificate (or the other way round)",
        "re-issue the certificate (provisionCertificate) and check the CA "
        "(ca.plugin.root.auth.strictness)",
        (11081, 3853), "provision-cert"),
    KnownError(
        "ssl-handshake",
        re.compile(r"SSL Handshake failed|No trusted certificate found|"
                   r"certificate (?:has )?expired", re.I),
        "the TLS handshake with the management server fails: an expired or unreadable agent "
        "certificate, or a clock that makes it look not yet valid",
        "check the clocks and the agent certificate and keystore",
        (9959,), None),
    KnownError(
        "keystore-missing",
        re.compile(r"Unable to load keystore \S+.*(?:FileNotFound|No such file)"),
        "the agent cannot find ./certs/realhostip.keystore relative to its working directory — "
        "the directory was deleted under it",
        "see 'Java working directory intact'",
        (), "protect-assets"),
    KnownError(
        "patch-missing",
        re.compile(r"Could not find patch file"),
        "the management server could not copy the systemvm patch into the VM over "
        "link-local port 3922",
        "check from the hypervisor host that 3922 on the VM's link-local address answers",
        (8143, 6497), "recreate"),
    KnownError(
        "pkix",
        re.compile(r"unable to find valid certification path to requested target"),
        "a download's HTTPS certificate is not trusted by the keystore java uses "
        "(a stale realhostip.keystore)",
        "import the CA into the keystore or destroy the SSVM so it gets a fresh one",
        (9086, 9962), "recreate", breaks_connection=False),
    KnownError(
        "unreachable",
        re.compile(r"Unable to connect to remote|Connection refused|No route to host|"
                   r"Connection timed out", re.I),
        "the agent cannot open a connection to the management server on 8250",
        "check firewalls, routing and the host= address",
        (), None),
    KnownError(
        "disk",
        re.compile(r"No space left on device", re.I),
        "the agent cannot write: a file system is full",
        "free space (playbook free-disk)",
        (), "free-disk"),
)

CONNECTED = re.compile(r"Connected to \S+|Startup Response Received|SSL: Handshake done")
RECONNECTING = re.compile(r"Reconnecting\.\.\.")


def match(line: str) -> KnownError | None:
    """The first known error whose signature is in ``line``."""
    for known in KNOWN_ERRORS:
        if known.signature.search(line):
            return known
    return None


def by_id(error_id: str) -> KnownError:
    return next(k for k in KNOWN_ERRORS if k.id == error_id)


def classify_log(text: str) -> tuple[bool, dict[str, str]]:
    """(latest connection event is a success, known error id -> its latest line since then).

    Errors that do not break the connection (``breaks_connection=False``) are reported
    without turning a connected agent into a disconnected one.
    """
    connected = False
    problems: dict[str, str] = {}
    for line in text.splitlines():
        if CONNECTED.search(line):
            connected, problems = True, {}
            continue
        known = match(line)
        if known is not None:
            problems.pop(known.id, None)
            problems[known.id] = line.strip()
            connected = connected and not known.breaks_connection
        elif RECONNECTING.search(line):
            connected = False
    return connected, problems
