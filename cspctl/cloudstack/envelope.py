"""Unwrap CloudStack JSON envelopes: success objects, lists, error envelopes, foreign bodies.

Pure functions (no I/O) so the recorded fixtures can be fed straight in.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from cspctl.cloudstack.errors import ApiError, AuthError, BadResponse
from cspctl.cloudstack.models import Model, response_key

M = TypeVar("M", bound=Model)

JSON_CONTENT_TYPES = ("application/json", "text/javascript", "application/x-javascript",
                      "text/json")

AUTH_STATUSES = frozenset({401, 531, 432})


def is_json_content_type(content_type: str | None) -> bool:
    """True for what CloudStack sends with ``response=json`` (4.x used ``text/javascript``)."""
    if not content_type:
        return False
    return content_type.split(";")[0].strip().lower() in JSON_CONTENT_TYPES


def find_inner(command: str, doc: Any) -> tuple[str, dict[str, Any]] | None:
    """The ``(<cmd>response key, inner object)`` of a decoded document, or None.

    Prefers the command's own response name, then ``errorresponse``, then any other
    ``...response`` key (tolerates extra top-level keys such as ``cloudstack-version``).
    """
    if not isinstance(doc, dict):
        return None
    for key in (response_key(command), "errorresponse"):
        if isinstance(doc.get(key), dict):
            return key, doc[key]
    lowered = {k.lower(): k for k in doc if isinstance(k, str)}
    if response_key(command) in lowered and isinstance(doc[lowered[response_key(command)]], dict):
        k = lowered[response_key(command)]
        return k, doc[k]
    for k, v in doc.items():
        if isinstance(k, str) and k.lower().endswith("response") and isinstance(v, dict):
            return k, v
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def error_from_inner(
    server: str, command: str, inner: dict[str, Any], http_status: int | None,
    hint: str | None = None,
) -> ApiError | None:
    """An ApiError/AuthError when ``inner`` is an error envelope, else None."""
    if "errortext" not in inner and "errorcode" not in inner:
        return None
    code = _int(inner.get("errorcode"))
    status = http_status if http_status and http_status != 200 else code
    cls = AuthError if (code in AUTH_STATUSES or status in AUTH_STATUSES) else ApiError
    text = inner.get("errortext")
    return cls(server, command, http_status=status, errorcode=code,
               cserrorcode=_int(inner.get("cserrorcode")),
               errortext=str(text) if text is not None else None, hint=hint)


def decode_body(
    server: str, command: str, status: int, content_type: str | None, body: bytes,
) -> tuple[str, dict[str, Any]]:
    """Decode a response body into its ``(key, inner)``; raises BadResponse for foreign bodies.

    Error envelopes are returned too; :func:`error_from_inner` tells them apart.
    """
    def bad(hint: str | None = None) -> BadResponse:
        snippet = body[:200].decode("utf-8", "replace")
        return BadResponse(server, command, status=status, content_type=content_type,
                           snippet=snippet, hint=hint)

    if not is_json_content_type(content_type):
        hint = None
        ct = (content_type or "").lower()
        if "html" in ct:
            hint = ("a proxy, load balancer or the web UI answered instead of the API: "
                    "check the profile URL ends in /client/api and the server is up")
        elif "xml" in ct:
            hint = "the server answered XML: is response=json being dropped by a proxy?"
        raise bad(hint)
    try:
        doc = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        raise bad("the body is not valid JSON") from None
    found = find_inner(command, doc)
    if found is None:
        raise bad("JSON without a CloudStack '...response' key")
    return found


def list_items(inner: dict[str, Any], entity: str) -> list[dict[str, Any]]:
    """Rows of a list response; a missing entity key (empty list, page past the end) is []."""
    rows = inner.get(entity)
    if rows is None:
        rows = inner.get(entity.lower())
    if rows is None:
        # tolerate an unexpected entity name: the only list-valued key
        lists = [v for k, v in inner.items() if isinstance(v, list) and k.lower() != "uuidlist"]
        rows = lists[0] if len(lists) == 1 else []
    if isinstance(rows, dict):
        rows = [rows]
    return [r for r in rows if isinstance(r, dict)]


def list_shape_problem(inner: dict[str, Any], entity: str) -> str | None:
    """Why a list response cannot be read as rows (``"systemvm": "oops"``), or None.

    A missing entity key is fine (an empty page); a value that is neither an object nor a list
    of objects, or a ``count`` that is not a number, is not: its rows would silently vanish.
    """
    key = entity if entity in inner else entity.lower()
    rows = inner.get(key)
    if rows is not None:
        if not isinstance(rows, list | dict):
            return f"'{key}' is {type(rows).__name__} {_preview(rows)}, not a list of objects"
        if isinstance(rows, list):
            odd = [r for r in rows if not isinstance(r, dict)]
            if odd:
                return (f"'{key}' holds {len(odd)} item{'s' if len(odd) != 1 else ''} that "
                        f"{'are' if len(odd) != 1 else 'is'} not an object "
                        f"(first: {_preview(odd[0])})")
    count = inner.get("count")
    if count is not None and (isinstance(count, bool) or _int(count) is None
                              or _int(count) < 0):  # type: ignore[operator]
        return f"'count' is {_preview(count)}, not a number of rows"
    return None


def _preview(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:40] + "…"


def list_count(inner: dict[str, Any]) -> int | None:
    """The ``count`` of a list response (total matches, not rows on the page)."""
    return _int(inner.get("count"))


def parse_list(inner: dict[str, Any], model: type[M]) -> list[M]:
    """Every row of a list response as ``model``."""
    return [model.from_api(r) for r in list_items(inner, model.object_name)]


def parse_single(inner: dict[str, Any], model: type[M]) -> M:
    """A single object wrapped in its object name (``{"capability": {...}}``) or unwrapped."""
    obj = inner.get(model.object_name)
    if isinstance(obj, list):
        obj = obj[0] if obj else {}
    return model.from_api(obj if isinstance(obj, dict) else inner)
