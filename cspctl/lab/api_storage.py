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


SYSTEM_DISPLAYTEXT = "SystemVM Template (KVM)"


def template_row(s: ApiServer, tpl: Any, zone: LabZone) -> dict[str, Any]:
    w = s.world
    return {"id": tpl.id, "name": tpl.name, "displaytext": SYSTEM_DISPLAYTEXT,
            "zoneid": zone.id, "zonename": zone.name, "isready": True,
            "status": "Download Complete", "templatetype": "SYSTEM", "hypervisor": "KVM",
            "format": "QCOW2", "ostypename": "Debian GNU/Linux 11 (64-bit)",
            "account": "system", "ispublic": False, "isfeatured": False,
            "crossZones": False, "created": w.clock.api_date(w.mgmt.started)}


def list_templates(s: ApiServer, cmd: str, p: dict[str, str]) -> dict[str, Any]:
    """System VM templates, one row per zone (the lab has no user templates)."""
    w = s.world
    which = s.required(cmd, p, "templatefilter").lower()
    zid = s.uuid_param(cmd, p, "zoneid", lambda v: any(z.id == v for z in w.zones))
    tid = s.uuid_param(cmd, p, "id", lambda v: v in w.templates)
    if which not in ("system", "all"):
        return {}
    rows = [(t, z) for t in w.templates.values() for z in w.zones
            if (zid is None or z.id == zid) and (tid is None or t.id == tid)
            and (p.get("name") is None or t.name == p["name"])]
    return s.listing(cmd, p, rows, "template", lambda row: template_row(s, *row))
