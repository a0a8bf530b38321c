"""What a system VM sees outside itself: addresses and routes, which hosts and ports answer
(under its faults), HTTP and TLS on its own ports, its mounts (the SSVM's NFS share) and disk
use. `SystemVmOS` (systemvm.py) builds on it."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from typing import Any

from . import template
from .agent import NFS_MOUNT_ID, AgentVm
from .base import Proc
from .fs import Dir, File, FsError
from .spec import VmFault

DNS_TABLE = {
    "cloudstack.apache.org": "151.101.2.132", "apache.org": "151.101.2.132",
    "www.apache.org": "151.101.2.132", "download.cloudstack.org": "185.199.108.153",
    "google.com": "142.250.196.110", "www.google.com": "142.250.196.132",
}
BASE_USED_KB = 812_344
"""What the template's files use of `/` (df), before logs grow."""


class NetworkedVm(AgentVm):
    """Network and storage view of a system VM (see the module docstring)."""

    def addresses(self) -> list[str]:
        s = self.spec
        return ["127.0.0.1", s.linklocal_ip, s.private_ip, s.public_ip]

    def mounts(self) -> list[tuple[str, str, str, str]]:
        rows = [("rootfs", "/", "rootfs", "rw")] if self.sysv else []
        rows += [("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
                 ("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
                 ("udev", "/dev", "devtmpfs", "rw,relatime,size=10240k,nr_inodes=125873,mode=755"),
                 ("tmpfs", "/run", "tmpfs", "rw,nosuid,noexec,relatime,size=101588k,mode=755"),
                 ("/dev/vda1", "/", "ext4", "rw,relatime,errors=remount-ro,data=ordered")]
        if self.sysv:
            rows.append(("tmpfs", "/run/shm", "tmpfs", "rw,nosuid,nodev,noexec,relatime,"
                                                         "size=203160k"))
        else:
            rows.append(("tmpfs", "/dev/shm", "tmpfs", "rw,nosuid,nodev"))
        if self.nfs_mounted:
            server, export = self._nfs()
            rows.append((f"{server}:{export}", f"/mnt/SecStorage/{NFS_MOUNT_ID}", "nfs",
                         f"rw,relatime,vers=3,rsize=524288,wsize=524288,namlen=255,hard,proto="
                         f"tcp,timeo=600,retrans=2,sec=sys,mountaddr={server},mountvers=3,"
                         f"mountport=892,mountproto=udp,local_lock=none,addr={server}"))
        return rows

    def df_rows(self) -> list[tuple[str, str, int, int]]:
        s = self.spec
        used = BASE_USED_KB
        logs = self.fs.lookup("/var/log")
        assert isinstance(logs, Dir)
        for _, node in self.fs.walk(logs, "/var/log"):
            if isinstance(node, File) and node.fixed_size and node.fixed_size > 1 << 20:
                used += node.fixed_size // 1024
        used = min(used, s.disk_kb)
        rows = [("/dev/vda1", "/", s.disk_kb, used),
                ("udev", "/dev", 10_240, 0), ("tmpfs", "/run", 101_588, 212)]
        if self.sysv:
            rows.append(("tmpfs", "/run/lock", 5_120, 0))
            rows.append(("tmpfs", "/run/shm", 203_160, 0))
        else:
            rows.append(("tmpfs", "/dev/shm", 507_940, 0))
        if self.nfs_mounted:
            server, export = self._nfs()
            rows.append((f"{server}:{export}", f"/mnt/SecStorage/{NFS_MOUNT_ID}", 515_928_064,
                         61_210_624))
        return rows

    def resolve(self, name: str, dns_only: bool = False) -> str | None:
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            return name
        if not dns_only:
            if name in ("localhost", "localhost.localdomain"):
                return "127.0.0.1"
            if name == self.spec.name:
                return self.spec.private_ip
        if name.endswith("realhostip.com"):
            return None
        return DNS_TABLE.get(name)

    def _known_up(self) -> set[str]:
        s = self.spec
        up = {s.mgmt_host, s.gateway, s.private_gateway, s.dns1, s.internal_dns1, "169.254.0.1",
              *DNS_TABLE.values()}
        if VmFault.SSVM_STORAGE not in self.faults:
            up.add(self._nfs()[0])
        return up

    def ping_ok(self, ip: str) -> bool:
        return self.running and (ip in self.addresses() or ip.startswith("127.")
                                 or ip in self._known_up())

    def tcp_connect(self, host: str, port: int) -> str:
        ip = self.resolve(host)
        if ip is None:
            return "resolve"
        s = self.spec
        if ip in self.addresses() or ip.startswith("127."):
            return "open" if any(p == port for _, p, _, _ in self.listening()) else "refused"
        if ip == s.mgmt_host:
            if port == s.mgmt_port:
                return "timeout" if VmFault.MGMT_PORT_BLOCKED in self.faults else "open"
            return "open" if port in (8080, 22, 443) else "refused"
        if ip == self._nfs()[0]:
            if VmFault.SSVM_STORAGE in self.faults:
                return "timeout"
            return "open" if port in (111, 2049, 892, 22) else "refused"
        if ip in (s.dns1, s.internal_dns1):
            return "open" if port == 53 else "refused"
        if ip in DNS_TABLE.values():
            return "open" if port in (80, 443) else "timeout"
        return "timeout"

    def connections(self) -> list[tuple[str, str, int, str, int, Proc | None, int]]:
        java = self.java_proc
        if java is None:
            return []
        s = self.spec
        if self.agent_connected:
            return [("ESTAB", s.private_ip, 41_234, s.mgmt_host, s.mgmt_port, java, 55)]
        if VmFault.MGMT_PORT_BLOCKED in self.faults:
            return [("SYN-SENT", s.private_ip, 41_236, s.mgmt_host, s.mgmt_port, java, 55)]
        return []

    def http_request(self, scheme: str, host: str, port: int, method: str, path: str
                     ) -> tuple[int, str, dict[str, str], str] | str:
        res = self.tcp_connect(host, port)
        if res != "open":
            return res
        ip = self.resolve(host) or host
        date = dt.datetime.fromtimestamp(self.now(), dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        if ip in self.addresses() or ip.startswith("127."):
            owner = next((p for a, pt, p, _ in self.listening() if pt == port), None)
            if owner is not None and owner.comm == "java":
                return self._console_http(owner, port, path, date, method)
            if owner is not None and owner.comm == "apache2":
                return self._apache_http(path, date, method)
            return 400, "Bad Request", {"Date": date, "Content-Length": "0"}, ""
        if ip == self.spec.mgmt_host and port == 8080:
            body = ('<html><head><meta http-equiv="refresh" content="0;url=/client/"></head>'
                    "</html>\n")
            return 200, "OK", {"Date": date, "Content-Type": "text/html",
                               "Content-Length": str(len(body))}, body if method != "HEAD" else ""
        return 404, "Not Found", {"Date": date, "Content-Length": "0"}, ""

    def _console_http(self, java: Proc, port: int, path: str, date: str, method: str
                      ) -> tuple[int, str, dict[str, str], str]:
        """ConsoleProxyResourceHandler: /resource/<folder>/<file> relative to java's cwd."""
        none = {"Date": date, "Content-length": "0"}
        path = path.split("?", 1)[0]
        if port == 80 or port == 443:
            if path.startswith("/resource/"):
                rel = path[len("/resource/"):]
                folder = rel.split("/", 1)[0]
                if ".." in rel.split("/") or folder not in ("applet", "logs", "images", "js",
                                                            "css", "html"):
                    return 403, "Forbidden", none, ""
                try:
                    node = self.fs._walk(java.cwd or self.fs.root, rel.split("/"), rel, True, 0)
                except FsError:
                    return 404, "Not Found", none, ""
                if not isinstance(node, File):
                    return 404, "Not Found", none, ""
                body = node.read()
                ext = posixpath.splitext(rel)[1]
                headers = {"Date": date, "Content-type": template.MIME.get(ext, "text/html"),
                           "Content-length": str(node.size),
                           "Cache-Control": "max-age=86400"}
                return 200, "OK", headers, body if method != "HEAD" else ""
            if path.startswith(("/ajax", "/getscreen", "/ajaximg")):
                return 200, "OK", {"Date": date, "Content-type": "text/html",
                                   "Content-length": "0"}, ""
        body = "<h1>404 Not Found</h1>No context found for request"
        return 404, "Not Found", {"Date": date, "Content-type": "text/html",
                                  "Content-length": str(len(body))}, body

    def _apache_http(self, path: str, date: str, method: str
                     ) -> tuple[int, str, dict[str, str], str]:
        server = "Apache/2.2.22 (Debian)" if self.sysv else "Apache/2.4.38 (Debian)"
        if path in ("/", "/index.html"):
            body = "<html><body><h1>It works!</h1></body></html>\n"
            return 200, "OK", {"Date": date, "Server": server, "Content-Length": str(len(body)),
                               "Content-Type": "text/html"}, body if method != "HEAD" else ""
        body = "<html><head><title>404 Not Found</title></head></html>\n"
        return 404, "Not Found", {"Date": date, "Server": server,
                                  "Content-Length": str(len(body)),
                                  "Content-Type": "text/html; charset=iso-8859-1"}, body

    def tls_certificate(self, port: int) -> dict[str, Any] | None:
        if port not in (443, 8443):
            return None
        s = self.spec
        return {"subject": s.console_cert_subject, "issuer": s.console_cert_issuer,
                "not_before": s.console_cert_not_before, "not_after": s.console_cert_not_after}

    def ip_addr_text(self) -> str:
        s = self.spec
        nics = [("eth0", s.linklocal_ip, 16, "169.254.255.255", "0e:00:a9:fe:01:17")]
        nics.append(("eth1", s.private_ip, _bits(s.netmask), _bcast(s.private_ip, s.netmask),
                     "1e:00:4a:00:00:37"))
        nics.append(("eth2", s.public_ip, _bits(s.netmask), _bcast(s.public_ip, s.netmask),
                     "1e:00:8c:00:00:14"))
        out = super().ip_addr_text()
        for i, (name, ip, bits, bcast, mac) in enumerate(nics, 2):
            out += (f"{i}: {name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast "
                    f"state UP group default qlen 1000\n    link/ether {mac} brd "
                    f"ff:ff:ff:ff:ff:ff\n    inet {ip}/{bits} brd {bcast} scope global {name}\n"
                    "       valid_lft forever preferred_lft forever\n")
        return out

    def routes(self) -> list[str]:
        s = self.spec
        return [f"default via {s.gateway} dev eth2",
                f"{_net(s.private_ip, s.netmask)}/{_bits(s.netmask)} dev eth1 proto kernel scope "
                f"link src {s.private_ip}",
                f"169.254.0.0/16 dev eth0 proto kernel scope link src {s.linklocal_ip}",
                f"{_net(s.public_ip, s.netmask)}/{_bits(s.netmask)} dev eth2 proto kernel scope "
                f"link src {s.public_ip}"]

    def route_table(self) -> list[tuple[str, str, str, str, str]]:
        s = self.spec
        return [("0.0.0.0", s.gateway, "0.0.0.0", "UG", "eth2"),
                (_net(s.private_ip, s.netmask), "0.0.0.0", s.netmask, "U", "eth1"),
                ("169.254.0.0", "0.0.0.0", "255.255.0.0", "U", "eth0"),
                (_net(s.public_ip, s.netmask), "0.0.0.0", s.netmask, "U", "eth2")]


def _bits(mask: str) -> int:
    return sum(bin(int(b)).count("1") for b in mask.split("."))


def _net(ip: str, mask: str) -> str:
    return ".".join(str(int(a) & int(b)) for a, b in zip(ip.split("."), mask.split("."),
                                                         strict=False))


def _bcast(ip: str, mask: str) -> str:
    return ".".join(str((int(a) & int(b)) | (255 - int(b)))
                    for a, b in zip(ip.split("."), mask.split("."), strict=False))
