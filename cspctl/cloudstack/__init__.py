"""Async Apache CloudStack API client: signing, login, envelopes, pagination, async jobs
(``caller``: the request path, retries and errors; ``paging``: complete listings;
``client``: the typed commands).

::

    async with CloudStackClient(url, apikey=key, secretkey=secret, journal=journal) as api:
        for vm in await api.list_system_vms(zoneid=zone_id):   # every page, agentstate joined
            print(vm.name, vm.state, vm.agentstate)
        await api.reboot_system_vm(vm.id, deadline=600, on_progress=print)

Every failure is a :class:`CloudStackError` (a ``CspctlError``) whose ``str()`` is one line:
``host:port command: what happened; hint: what to do``.
"""

import sys

# httpx imports its command-line module (click, rich, pygments: half of a cold start) when
# click is installed; cspctl never uses it. ``None`` in sys.modules makes that import fail,
# which httpx expects (it then defines a stub ``httpx.main``).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from cspctl.cloudstack.client import CloudStackClient
from cspctl.cloudstack.errors import (
    ApiConnectError,
    ApiError,
    ApiTimeout,
    AuthError,
    BadResponse,
    CloudStackError,
    JobFailed,
    JobTimeout,
    PartialListing,
    TlsError,
    TransportError,
)
from cspctl.cloudstack.jobs import PollPolicy
from cspctl.cloudstack.models import (
    Alert,
    AsyncJob,
    Capabilities,
    Configuration,
    Event,
    Host,
    ManagementServer,
    Model,
    Pod,
    SystemVm,
    Zone,
)

__all__ = [
    "Alert",
    "ApiConnectError",
    "ApiError",
    "ApiTimeout",
    "AsyncJob",
    "AuthError",
    "BadResponse",
    "Capabilities",
    "CloudStackClient",
    "CloudStackError",
    "Configuration",
    "Event",
    "Host",
    "JobFailed",
    "JobTimeout",
    "ManagementServer",
    "Model",
    "PartialListing",
    "Pod",
    "PollPolicy",
    "SystemVm",
    "TlsError",
    "TransportError",
    "Zone",
]
