"""Lab API commands about secondary storage (listImageStores), registered by api.py."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cspctl.lab.api import ApiServer
    from cspctl.lab.world import LabZone


def store_id(zone: LabZone) -> str:
    """A stable id for the zone's one NFS image store."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"imagestore/{zone.id}/{zone.nfs_url}"))


def image_store(zone: LabZone) -> dict[str, Any]:
    return {"id": store_id(zone), "name": f"nfs-{zone.name}", "url": zone.nfs_url,
            "protocol": "nfs", "providername": "NFS", "scope": "ZONE",
            "zoneid": zone.id, "zonename": zone.name, "readonly": False}


def list_image_stores(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    w = s.world
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    sid = s.uuid_param(cmd, p, "id", lambda v: any(store_id(z) == v for z in w.zones))
    rows = [z for z in w.zones if z.nfs_url and (zid is None or z.id == zid)
            and (sid is None or store_id(z) == sid)]
    return s.listing(cmd, p, rows, "imagestore", image_store)
