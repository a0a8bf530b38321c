"""Async Apache CloudStack API client: signing, login, envelopes, pagination, async jobs."""

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
    "Pod",
    "PollPolicy",
    "SystemVm",
    "TlsError",
    "TransportError",
    "Zone",
]
