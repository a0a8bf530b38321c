"""What a simulated system VM or hypervisor host is made of: specs, fault flags, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class VmFault(StrEnum):
    """Fault flags of a system VM: state the OS model reads (the one place they are named).

    Scenarios give them to a VM's template (`World.vm_faults`), so a VM re-created from the
    template (destroy) gets them again; repairs clear them (`SystemVmOS.set_fault`).
    """

    EARLY_CONFIG_RERUN = "early-config-rerun"
    """cloud-early-config runs again after the agent started: java's cwd becomes `(deleted)`."""
    MGMT_PORT_BLOCKED = "mgmt-port-blocked"
    """The management server's agent port (8250) is unreachable (packets dropped)."""
    CLOCK_DRIFT = "clock-drift"
    """The VM clock is off; the size comes from `VmSpec.clock_offset` (default 3 h when unset)."""
    DISK_FULL = "disk-full"
    """`/` is 100 % used, mostly by /var/log."""
    CERT_EXPIRED = "cert-expired"
    """4.11+ agent certificate `conf/cloud.crt` has expired: the TLS handshake to 8250 fails."""
    SSVM_STORAGE = "ssvm-storage"
    """Secondary storage (NFS) is not mounted on the SSVM."""
    AGENT_OLD = "agent-old"
    """The agent (template) is older than the management server, which closes its connection."""


ALL_FAULTS = frozenset(VmFault)

CONSOLEPROXY = "consoleproxy"
SECONDARYSTORAGEVM = "secondarystoragevm"
SYSVINIT = "sysvinit"
SYSTEMD = "systemd"
DEFAULT_DRIFT = 3 * 3600.0


class LabClock(Protocol):
    """Anything that tells the lab's current time (epoch seconds)."""

    def now(self) -> float: ...


@dataclass(frozen=True)
class ExecResult:
    """The outcome of one command line: what an SSH exec channel returns."""

    stdout: str
    stderr: str
    status: int
    duration: float = 0.0
    """Simulated wall time the command would have taken (e.g. a connect timeout), seconds."""


@dataclass
class VmSpec:
    """Everything needed to build one system VM from its template."""

    name: str
    vm_type: str = CONSOLEPROXY
    era: str = SYSVINIT
    cloudstack_version: str = "4.8.0"
    cmdline: dict[str, str] | str | None = None
    timezone: str = "UTC"
    clock_offset: float = 0.0
    mgmt_host: str = "10.1.1.10"
    mgmt_port: int = 8250
    linklocal_ip: str = "169.254.1.23"
    private_ip: str = "10.1.1.55"
    public_ip: str = "203.0.113.20"
    netmask: str = "255.255.255.0"
    gateway: str = "203.0.113.1"
    private_gateway: str = "10.1.1.1"
    dns1: str = "8.8.8.8"
    internal_dns1: str = "10.1.1.2"
    vm_id: int = 2
    zone_id: int = 1
    pod_id: int = 1
    secondary_storage_url: str = "nfs://10.1.1.5/export/secondary"
    premium: bool = False
    console_cert_subject: str = "CN=*.realhostip.com"
    console_cert_issuer: str = "C=US; O=GeoTrust, Inc.; CN=RapidSSL CA"
    console_cert_not_before: float = 1_332_288_000.0
    """2012-03-21; with the default not_after: the old realhostip.com certificate (expired)."""
    console_cert_not_after: float = 1_427_241_599.0
    memory_mb: int = 1024
    disk_kb: int = 2_064_208
    faults: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_cpvm(self) -> bool:
        return self.vm_type == CONSOLEPROXY

    @property
    def short_type(self) -> str:
        """The `type=` value of the cmdline: consoleproxy or secstorage."""
        return "consoleproxy" if self.is_cpvm else "secstorage"

    def cmdline_pairs(self) -> dict[str, str]:
        """The /var/cache/cloud/cmdline pairs in emission order (docs/cloudstack.md §7.2)."""
        if isinstance(self.cmdline, dict):
            return dict(self.cmdline)
        if isinstance(self.cmdline, str):
            return dict(p.split("=", 1) for p in self.cmdline.split() if "=" in p)
        vid = str(self.vm_id)
        pairs: dict[str, str] = {"template": "domP", "type": self.short_type,
                                 "host": self.mgmt_host, "port": str(self.mgmt_port),
                                 "name": self.name}
        if self.is_cpvm and self.premium:
            pairs["premium"] = "true"
        pairs.update(zone=str(self.zone_id), pod=str(self.pod_id))
        if self.is_cpvm:
            pairs.update(guid=f"Proxy.{vid}", proxy_vm=vid)
        else:
            pairs.update(guid=f"{self.name}", workers="5",
                         resource="org.apache.cloudstack.storage.resource."
                                  "NfsSecondaryStorageResource",
                         instance="SecStorage", sslcopy="true", role="templateProcessor",
                         mtu="1500")
        pairs["disable_rp_filter"] = "true"
        pairs.update(eth0ip=self.linklocal_ip, eth0mask="255.255.0.0",
                     eth1ip=self.private_ip, eth1mask=self.netmask,
                     mgmtcidr=_cidr(self.private_ip, self.netmask),
                     localgw=self.private_gateway,
                     eth2ip=self.public_ip, eth2mask=self.netmask, gateway=self.gateway,
                     internaldns1=self.internal_dns1, dns1=self.dns1)
        return pairs

    def cmdline_text(self) -> str:
        if isinstance(self.cmdline, str):
            return self.cmdline.strip()
        return " ".join(f"{k}={v}" for k, v in self.cmdline_pairs().items())


@dataclass
class HostSpec:
    """A KVM hypervisor host as the lab shows it."""

    hostname: str
    ip: str
    timezone: str = "Asia/Tokyo"
    distro: str = "centos7"
    clock_offset: float = 0.0
    kernel: str = "3.10.0-1160.el7.x86_64"
    memory_mb: int = 65_536
    cpus: int = 16


def _cidr(ip: str, mask: str) -> str:
    """10.1.1.55 + 255.255.255.0 -> 10.1.1.0/24."""
    octets = [int(a) & int(b) for a, b in zip(ip.split("."), mask.split("."), strict=False)]
    bits = sum(bin(int(b)).count("1") for b in mask.split("."))
    return ".".join(str(o) for o in octets) + f"/{bits}"
