"""The lab's clock: real time for the management server, per-node offsets, scaled durations."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo


class LabClock:
    """Wall-clock time of the simulated cloud.

    ``now()`` is the management server's UTC epoch time (real time plus ``offset``); a node
    whose clock drifts reads ``node_now(its_offset)``. ``time_scale`` shrinks every simulated
    duration (reboot ~30 s, destroy ~60 s...) so tests run in a fraction of a second.
    """

    def __init__(self, time_scale: float = 1.0, *, offset: float = 0.0,
                 server_timezone: str = "UTC") -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self.time_scale = time_scale
        self.offset = offset
        self.server_timezone = server_timezone

    def now(self) -> float:
        """Management-server time, UTC epoch seconds."""
        return time.time() + self.offset

    def node_now(self, offset: float = 0.0) -> float:
        """Time on a node whose clock is ``offset`` seconds away from the management server."""
        return self.now() + offset

    def scaled(self, seconds: float) -> float:
        """Real seconds a simulated duration takes."""
        return seconds * self.time_scale

    async def sleep(self, seconds: float) -> None:
        """Sleep a simulated duration (scaled)."""
        await asyncio.sleep(self.scaled(seconds))

    @property
    def tz(self) -> tzinfo:
        """Time zone of the management server's JVM (dates in API answers use it)."""
        return UTC if self.server_timezone == "UTC" else ZoneInfo(self.server_timezone)

    def api_date(self, ts: float | None = None) -> str:
        """CloudStack's ``yyyy-MM-dd'T'HH:mm:ssZ`` in the server's zone, e.g. ``...+0900``."""
        moment = self.now() if ts is None else ts
        return datetime.fromtimestamp(moment, self.tz).strftime("%Y-%m-%dT%H:%M:%S%z")
