"""TAXII 2.1 media types, content negotiation, timestamps and error resources."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ..exc import InvalidInput

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"

_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
    413: "Request Entity Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error",
}


def _params(media: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in media.split(";")]
    params: dict[str, str] = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        params[k.strip().lower()] = v.strip().strip('"')
    return parts[0].lower(), params


def acceptable(accept: str | None) -> bool:
    """Whether an Accept header admits TAXII 2.1 JSON.

    ``application/taxii+json`` without a version means the latest, i.e. 2.1; ``*/*``
    and ``application/*`` (curl, browsers) are served too; everything else (TAXII 2.0's
    ``application/vnd.oasis.taxii+json``, ``application/json``, a version other than
    2.1) gets 406.
    """
    if accept is None or not accept.strip():
        return True
    for media in accept.split(","):
        base, params = _params(media)
        q = params.get("q", "1")
        try:
            if float(q) <= 0:
                continue
        except ValueError:
            continue
        if base in ("*/*", "application/*"):
            return True
        if base == "application/taxii+json" and params.get("version", "2.1") == "2.1":
            return True
    return False


def check_accept(request: Request) -> None:
    if not acceptable(request.headers.get("accept")):
        raise HTTPException(
            406, f"this server answers only {TAXII}; the request's Accept header "
            f"({request.headers.get('accept')!r}) does not admit it",
        )


def check_content_type(request: Request) -> None:
    ct = request.headers.get("content-type")
    base, params = _params(ct or "")
    if base != "application/taxii+json" or params.get("version", "2.1") != "2.1":
        raise HTTPException(
            415, f"POST bodies must be {TAXII} (got Content-Type {ct!r})",
        )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=TAXII, headers=headers)


def raw_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=TAXII, headers=headers)


def error_resource(request: Request, status: int, payload: dict[str, Any]) -> Response:
    """Grotius's error shape rendered as a TAXII 2.1 error message (section 3.6.1)."""
    body: dict[str, Any] = {
        "title": _TITLES.get(status, "Error"),
        "description": payload.get("message", ""),
        "error_code": payload.get("error", "error"),
        "http_status": str(status),
    }
    if payload.get("detail"):
        body["details"] = payload["detail"]
    headers: dict[str, str] = {}
    rid = getattr(request.state, "request_id", None)
    if rid:
        headers["X-Request-ID"] = rid
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="grotius-taxii", Bearer realm="grotius-taxii"'
    return json_response(body, status, headers)


# -- timestamps -------------------------------------------------------------------------


def ts(us: int) -> str:
    """Microseconds since the epoch as a TAXII timestamp (microsecond precision, so a
    date_added read back as added_after selects exactly what follows it)."""
    dt = datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{us % 1_000_000:06d}Z"


_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")


def parse_ts(text: str, what: str) -> int:
    """An RFC 3339 timestamp to microseconds since the epoch (sub-microseconds dropped)."""
    m = _TS.match(text.strip())
    try:
        if m is None:
            raise ValueError
        tz = m.group(4)
        dt = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{'+00:00' if tz in 'Zz' else tz}")
    except ValueError:
        raise InvalidInput(
            f"{what} {text!r} is not an RFC 3339 timestamp such as 2026-01-31T12:00:00.000Z",
            property=what,
        ) from None
    micros = int(((m.group(3) or "") + "000000")[:6])
    return int(dt.timestamp()) * 1_000_000 + micros
