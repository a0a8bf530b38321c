"""Parsers for the plain Linux output the checks read (formats: docs/cloudstack.md §7 and §9).

Remote commands stay what an operator would type; all interpretation happens here, where it
can be unit-tested on real-format samples.

One module per kind of output (sockets, network, processes, resources, clock, release); every
parser is importable from here (``from cspctl.diagnostics import parse; parse.parse_df(...)``).
"""

from __future__ import annotations

from cspctl.diagnostics.parse.clock import (
    TimeZone,
    parse_epoch,
    parse_log_date_lines,
    parse_tz_offset,
)
from cspctl.diagnostics.parse.network import (
    TlsInfo,
    parse_curl_tls,
    parse_getent_hosts,
    parse_http_code,
    parse_nameservers,
    parse_nslookup,
    parse_openssl_enddate,
    parse_wget_status,
)
from cspctl.diagnostics.parse.processes import (
    Cwd,
    ServiceState,
    cmdline_hosts,
    parse_cmdline,
    parse_cwd,
    parse_domstate,
    parse_pids,
    parse_ps_lstart,
    parse_service_status,
    parse_systemctl_show,
)
from cspctl.diagnostics.parse.release import (
    mentions,
    parse_release,
    parse_version,
    same_release,
)
from cspctl.diagnostics.parse.resources import (
    DfRow,
    Memory,
    Mount,
    immutable,
    parse_df,
    parse_free,
    parse_ls_sizes,
    parse_lsattr,
    parse_mounts,
)
from cspctl.diagnostics.parse.sockets import (
    Socket,
    established_to,
    parse_listening_ports,
    parse_sockets,
)

__all__ = [
    "Cwd",
    "DfRow",
    "Memory",
    "Mount",
    "ServiceState",
    "Socket",
    "TimeZone",
    "TlsInfo",
    "cmdline_hosts",
    "established_to",
    "immutable",
    "mentions",
    "parse_cmdline",
    "parse_curl_tls",
    "parse_cwd",
    "parse_df",
    "parse_domstate",
    "parse_epoch",
    "parse_free",
    "parse_getent_hosts",
    "parse_http_code",
    "parse_listening_ports",
    "parse_log_date_lines",
    "parse_ls_sizes",
    "parse_lsattr",
    "parse_mounts",
    "parse_nameservers",
    "parse_nslookup",
    "parse_openssl_enddate",
    "parse_pids",
    "parse_ps_lstart",
    "parse_release",
    "parse_service_status",
    "parse_sockets",
    "parse_systemctl_show",
    "parse_tz_offset",
    "parse_version",
    "parse_wget_status",
    "same_release",
]
