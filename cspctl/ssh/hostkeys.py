"""cspctl's own store of system VM host keys, keyed by VM id and address.

System VMs get new keys when re-created and link-local addresses are reused across VMs and
hosts, so ~/.ssh/known_hosts misfires for them. This store remembers which key each VM *id*
had at which address, tells a re-created VM (same address, new id) from a changed key (same
id, new key), and never turns checking off.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cspctl.config import config_dir
from cspctl.ssh.errors import HostKeyError

POLICIES = ("ask", "accept-new", "strict")
LOCK_WAIT = 10.0
"""Seconds to wait for another process's update of the store before giving up."""


def normalize_key(public_key: str) -> str:
    """``ssh-ed25519 AAAA... comment`` -> ``ssh-ed25519 AAAA...`` (comment dropped)."""
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise ValueError(f"not an OpenSSH public key line: {public_key[:40]!r}")
    return f"{parts[0]} {parts[1]}"


def fingerprint(public_key: str) -> str:
    """OpenSSH SHA256 fingerprint of a public key line: ``SHA256:...`` (no padding)."""
    blob = base64.b64decode(normalize_key(public_key).split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def key_type(public_key: str) -> str:
    return normalize_key(public_key).split()[0]


@dataclass(frozen=True)
class HostKeyQuestion:
    """What the UI shows when a system VM key needs the operator's decision."""

    vm_id: str | None
    vm_name: str | None
    address: str
    fingerprint: str
    key_type: str
    previous_fingerprint: str | None = None
    reason: str = "new"  # "new" | "recreated" | "changed"
    previous_vm_id: str | None = None
    previous_vm_name: str | None = None
    public_key: str = ""

    def explain(self) -> str:
        """One operator-readable line (no advice; callers add what to do)."""
        who = self.vm_name or self.vm_id or self.address
        if self.reason == "changed":
            return (
                f"host key of {who} (id {self.vm_id}, {self.address}) CHANGED: trusted "
                f"{self.previous_fingerprint}, now offered {self.fingerprint} ({self.key_type}); "
                "if the VM was not re-created this may be an attack"
            )
        prefix = ""
        if self.reason == "recreated":
            prev = self.previous_vm_name or "another VM"
            prefix = (
                f"{self.address} was {prev} (id {self.previous_vm_id}, key "
                f"{self.previous_fingerprint}), now {who}: a re-created VM has a new key; "
            )
        return (
            f"{prefix}first contact with {who} ({self.address}): "
            f"{self.key_type} key {self.fingerprint}"
        )


HostKeyAsk = Callable[[HostKeyQuestion], Awaitable[bool]]


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking an offered key against the store."""

    status: str  # "match" | "new" | "recreated" | "changed"
    question: HostKeyQuestion | None = None


class HostKeyStore:
    """JSON file of trusted system VM keys: entries of vm_id, vm_name, address, key.

    Every change is a read-modify-write under an exclusive ``flock`` on ``<store>.lock``
    beside the file (and the file itself is replaced atomically), so cspctl processes that
    trust keys at the same time lose none of them; readers never need the lock.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path).expanduser() if path else config_dir() / "known_systemvms.json"
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's lock: this process's threads, then other processes (flock)."""
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise HostKeyError(
                    f"cannot lock cspctl's system VM host keys {self.lock_path}: "
                    f"{exc.strerror or exc}"
                ) from None
            try:
                deadline = time.monotonic() + LOCK_WAIT
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise HostKeyError(
                                f"{self.lock_path} is still locked after {LOCK_WAIT:g} s by "
                                "another cspctl process; retry, or remove the lock file if "
                                "no cspctl is running"
                            ) from None
                        time.sleep(0.005)
                yield
            finally:
                os.close(fd)  # releases the flock

    def _load(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            # never treat a broken store as empty: that would trust any key on next contact
            raise HostKeyError(
                f"cannot read cspctl's system VM host keys {self.path}: {exc}; fix or move "
                "the file away (keys are then trusted again on first contact)"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("entries", []), list):
            raise HostKeyError(
                f"{self.path} is not a cspctl host-key store (expected {{\"entries\": [...]}}); "
                "fix or move the file away"
            )
        entries = data.get("entries", [])
        return [e for e in entries if isinstance(e, dict) and e.get("key")]

    def _save(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".known_systemvms.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": 1, "entries": entries}, fh, indent=1)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def entries(self) -> list[dict[str, Any]]:
        return self._load()

    def lookup(self, vm_id: str, address: str) -> str | None:
        """The trusted key line for this VM id at this address (or, failing that, any address)."""
        entries = self._load()
        for e in entries:
            if e.get("vm_id") == vm_id and e.get("address") == address:
                return str(e["key"])
        for e in entries:
            if vm_id and e.get("vm_id") == vm_id:
                return str(e["key"])
        return None

    def by_address(self, address: str) -> dict[str, Any] | None:
        for e in self._load():
            if e.get("address") == address:
                return e
        return None

    def trust(
        self, vm_id: str, address: str, public_key: str, vm_name: str | None = None
    ) -> None:
        """Remember ``public_key`` for this VM id and address (replacing older entries for
        the same id, and for the same address under another id: that VM is gone)."""
        key = normalize_key(public_key)
        with self._locked():
            entries = [
                e
                for e in self._load()
                if not ((vm_id and e.get("vm_id") == vm_id) or e.get("address") == address)
            ]
            entries.append(
                {
                    "vm_id": vm_id,
                    "vm_name": vm_name,
                    "address": address,
                    "key": key,
                    "fingerprint": fingerprint(key),
                    "trusted_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
            self._save(entries)

    def check(
        self, vm_id: str | None, vm_name: str | None, address: str, public_key: str
    ) -> Verdict:
        """Compare an offered key with what the store knows about this VM id and address."""
        key = normalize_key(public_key)
        vid = vm_id or ""
        fp, kt = fingerprint(key), key_type(key)
        known = self.lookup(vid, address) if vid else None
        if known is None and not vid:
            entry = self.by_address(address)
            known = str(entry["key"]) if entry and not entry.get("vm_id") else None
        if known is not None:
            if normalize_key(known) == key:
                return Verdict("match")
            return Verdict(
                "changed",
                HostKeyQuestion(vm_id, vm_name, address, fp, kt, fingerprint(known),
                                "changed", public_key=key),
            )
        other = self.by_address(address)
        if other is not None and other.get("vm_id") and other.get("vm_id") != vid:
            return Verdict(
                "recreated",
                HostKeyQuestion(
                    vm_id, vm_name, address, fp, kt, other.get("fingerprint"), "recreated",
                    previous_vm_id=other.get("vm_id"), previous_vm_name=other.get("vm_name"),
                    public_key=key,
                ),
            )
        return Verdict("new", HostKeyQuestion(vm_id, vm_name, address, fp, kt, public_key=key))
