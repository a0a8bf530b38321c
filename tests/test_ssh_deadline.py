"""One deadline for a whole SSH command exchange (issue 9, finding 11): connecting through
every hop, opening the channel and running the command all end by ``timeout``, and the
message says how long it really took and where it was stuck."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from cspctl.sessionlog import Journal
from cspctl.ssh import HostKeyStore, SshPool, SshTimeout, direct_route


async def test_a_silent_server_is_cut_at_the_command_deadline(tmp_path: Path) -> None:
    # accepts TCP, never speaks SSH: the per-hop connect timeout (5 s) is longer than the
    # command's deadline (0.8 s), which must win
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    journal = Journal(tmp_path / "j.jsonl")
    try:
        async with SshPool(hostkeys=HostKeyStore(tmp_path / "k.json"), policy="accept-new",
                           connect_timeout=5.0, journal=journal) as pool:
            started = time.monotonic()
            with pytest.raises(SshTimeout) as info:
                await pool.run(direct_route("127.0.0.1", port, name="v-9-VM"), "uptime",
                               timeout=0.8)
            took = time.monotonic() - started
    finally:
        server.close()
    assert took < 0.8 + 0.5, took
    text = str(info.value)
    assert "\n" not in text
    m = re.search(r"did not finish within 0\.8s \(stopped after ([\d.]+) s, connecting on the "
                  r"route", text)
    assert m, text
    assert abs(float(m.group(1)) - took) < 0.2
    event = next(e for e in journal.events() if e["event"] == "ssh.command")
    assert event["outcome"] == f"error: {text}" and event["duration"] < 1.3
