"""Request bodies read with a ceiling, so one upload cannot exhaust the server's memory."""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException


async def bounded_body(request: Request, limit: int, what: str) -> bytes:
    """The whole body, or 413 naming ``what`` and its limit once it is past ``limit``
    bytes (declared by Content-Length, or counted while streaming when it is absent)."""
    too_large = f"the body exceeds {what} ({limit} bytes)"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, too_large)
    return bytes(body)
