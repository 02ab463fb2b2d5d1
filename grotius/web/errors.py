"""One error shape for every failure: ``{"error": code, "message": str, "detail": {...}}``.

GrotiusError subclasses carry their own code and status; routing errors (404, 405),
FastAPI's request validation (422) and unexpected exceptions (500, logged, never shown)
are mapped to the same shape. Browsers asking for a page get a friendly HTML page with
the same content instead, and a 401 on a page sends them to the login form. An area can
claim a path prefix with its own renderer (TAXII answers in its own media type).
"""

from __future__ import annotations

import logging
from typing import Any, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..exc import GrotiusError

log = logging.getLogger("grotius.web")

#: (path prefix, renderer(request, status, payload) -> Response); first match wins
ErrorRenderer = Callable[[Request, int, dict[str, Any]], Response]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


def payload(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "detail": detail or {}}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


def respond(request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    for prefix, renderer in request.app.state.error_renderers:
        if request.url.path.startswith(prefix):
            return renderer(request, status, body)
    if _wants_html(request):
        if status == 401:
            # after logging in, come back to the page, not to a form's POST target
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.method != "GET":
                target = "/"
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        from .render import page

        return page(request, "error.html", {"status": status, "err": body}, status=status)
    return JSONResponse(body, status_code=status, headers=headers)


async def _grotius(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GrotiusError)
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return respond(request, exc.status, exc.to_dict())


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "error")
    if status == 404:
        message = f"nothing at {request.method} {request.url.path}"
        if exc.detail and exc.detail != "Not Found":
            message = str(exc.detail)
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    detail: dict[str, Any] = {"path": request.url.path, "method": request.method}
    headers = dict(exc.headers) if getattr(exc, "headers", None) else None
    return respond(request, status, payload(code, message, detail), headers)


def _loc(loc: Any) -> str:
    return ".".join(str(p) for p in loc)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": _loc(e.get("loc", ())), "message": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"location": "request", "message": "invalid"}
    message = f"invalid request: {first['location']}: {first['message']}"
    return respond(request, 422, payload("invalid_input", message, {"errors": errors}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return respond(
        request, 500,
        payload("internal_error", "the node failed to answer this request; the error is in its log",
                {"path": request.url.path}),
    )


def install(app: FastAPI) -> None:
    app.state.error_renderers = []
    app.add_exception_handler(GrotiusError, _grotius)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
