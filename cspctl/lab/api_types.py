"""What the lab's API server and its command handlers share: the error answer, the command
record, the credentials and CloudStack's fixed error texts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cspctl.lab.api import ApiServer

GENERIC_401 = "unable to verify user credentials and/or request signature"
UNKNOWN_432 = "The given command does not exist or it is not available for user"
INTERNAL_530 = "Internal error executing command, please contact your system administrator"


class ApiFailure(Exception):
    """An error answer: HTTP status = errorcode; ``cserrorcode`` None for auth failures."""

    def __init__(self, status: int, text: str, cserrorcode: int | None = 9999,
                 key: str | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.cserrorcode = cserrorcode
        self.key = key


@dataclass
class Credentials:
    apikey: str
    secretkey: str
    username: str
    password: str
    domain: str = "/"


@dataclass(frozen=True)
class Command:
    handler: Callable[[ApiServer, str, dict[str, str]], Any]
    since: str = "0"
    is_async: bool = False


