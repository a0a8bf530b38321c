"""HostKeyStore: keyed by VM id and address, re-created VMs vs changed keys, safe on disk."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cspctl.ssh import HostKeyStore, fingerprint
from cspctl.ssh.errors import HostKeyError
from tests.sshd import keygen


def pub(tmp_path: Path, name: str) -> str:
    return Path(f"{keygen(tmp_path / name)}.pub").read_text().strip()


def test_fingerprint_matches_ssh_keygen(tmp_path):
    key = keygen(tmp_path / "k")
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"],
                         capture_output=True, text=True, check=True).stdout
    assert fingerprint(Path(f"{key}.pub").read_text()) == out.split()[1]


def test_default_path_is_in_the_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CSPCTL_CONFIG_DIR", str(tmp_path / "cfg"))
    assert HostKeyStore().path == tmp_path / "cfg" / "known_systemvms.json"


def test_verdicts(tmp_path):
    store = HostKeyStore(tmp_path / "s.json")
    a, b = pub(tmp_path, "a"), pub(tmp_path, "b")
    assert store.check("id-1", "v-2-VM", "169.254.1.23", a).status == "new"
    store.trust("id-1", "169.254.1.23", a, "v-2-VM")
    assert store.lookup("id-1", "169.254.1.23") == " ".join(a.split()[:2])
    assert store.check("id-1", "v-2-VM", "169.254.1.23", a).status == "match"
    # same VM id on another address (moved host): still its key
    assert store.check("id-1", "v-2-VM", "169.254.9.9", a).status == "match"
    changed = store.check("id-1", "v-2-VM", "169.254.1.23", b)
    assert changed.status == "changed"
    assert changed.question.previous_fingerprint == fingerprint(a)
    assert "CHANGED" in changed.question.explain()
    recreated = store.check("id-2", "v-3-VM", "169.254.1.23", b)
    assert recreated.status == "recreated"
    assert recreated.question.explain().startswith(
        f"169.254.1.23 was v-2-VM (id id-1, key {fingerprint(a)}), now v-3-VM: "
        "a re-created VM has a new key"
    )
    store.trust("id-2", "169.254.1.23", b, "v-3-VM")
    (entry,) = store.entries()  # the old VM's entry for that address is gone
    assert entry["vm_id"] == "id-2" and entry["fingerprint"] == fingerprint(b)


def test_broken_store_is_an_error_not_an_empty_store(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    store = HostKeyStore(path)
    with pytest.raises(HostKeyError, match="cannot read"):
        store.check("id-1", "v-2-VM", "169.254.1.23", pub(tmp_path, "a"))
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(HostKeyError, match="not a cspctl host-key store"):
        store.lookup("id-1", "169.254.1.23")


WRITER = """
import base64, sys, time
from pathlib import Path
from cspctl.ssh.hostkeys import HostKeyStore
store_path, go, writer, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
store = HostKeyStore(Path(store_path))
while not go.exists():
    time.sleep(0.001)
for i in range(count):
    blob = base64.b64encode(f"key-{writer}-{i}".encode().ljust(51, b"k")).decode()
    store.trust(f"vm-{writer}-{i}", f"169.254.{writer}.{i}", f"ssh-ed25519 {blob}", f"v-{i}-VM")
"""


def test_concurrent_processes_lose_no_key(tmp_path):
    """16 processes trust 10 keys each at the same moment: all 160 are in the store."""
    store_path, go = tmp_path / "cfg" / "known_systemvms.json", tmp_path / "go"
    writers, count = 16, 10
    root = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(store_path), str(go), str(w),
                               str(count)], cwd=root, stderr=subprocess.PIPE, text=True)
             for w in range(writers)]
    time.sleep(1.0)  # every writer is waiting at the start line
    go.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    entries = HostKeyStore(store_path).entries()
    wanted = {f"vm-{w}-{i}" for w in range(writers) for i in range(count)}
    assert {e["vm_id"] for e in entries} == wanted
    assert len(entries) == writers * count
    blob = base64.b64encode(b"key-3-7".ljust(51, b"k")).decode()
    assert HostKeyStore(store_path).lookup("vm-3-7", "169.254.3.7") == f"ssh-ed25519 {blob}"
    assert (store_path.stat().st_mode & 0o777) == 0o600
    assert not [p for p in os.listdir(store_path.parent) if p.startswith(".known_systemvms.")]
