"""The node's web application: pages, REST API (/api/), and the routers areas add.

Areas plug in by having a module named in ``AREA_MODULES`` that defines ``router``
(a FastAPI APIRouter, included as is) and optionally ``nav`` (a list of
:class:`~grotius.web.render.NavItem`), ``templates`` (a folder added to the template
search path) and ``setup(app)`` (called once, e.g. to register an error renderer for a
path prefix). A module that does not exist yet is skipped, so an area's navigation entry
appears exactly when its router does.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from . import api, errors, pages
from .render import HERE, NavItem, make_env

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("grotius.web")

#: Area routers: one line per area module (missing modules are skipped).
AREA_MODULES: list[str] = [
    "grotius.taxii.api",
    "grotius.sharing.api",
    "grotius.correlate.api",
    "grotius.finance.api",
    "grotius.matching.api",
    "grotius.matching.entities_api",
    "grotius.matching.fuzzy_api",
    "grotius.matching.rfi_api",
    "grotius.audit.api",
]

CORE_NAV = [
    NavItem("Dashboard", "/", 10),
    NavItem("Search", "/search", 20),
    NavItem("Import", "/import", 90),
]

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def _area(name: str) -> ModuleType | None:
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:  # the area package itself does not exist
        return None
    return importlib.import_module(name)


def create_app(node: "Node", *, areas: list[str] | None = None) -> FastAPI:
    app = FastAPI(
        title=f"Grotius node {node.config.org}",
        version=__version__,
        description="REST API of a Grotius node. Authenticate with the session cookie (then "
        "send X-CSRF-Token on POST), HTTP Basic, or `Authorization: Bearer <token>` from "
        "POST /api/login. Every error has the shape "
        '`{"error": code, "message": text, "detail": {...}}`.',
        openapi_url="/api/openapi.json",
        docs_url=None,  # FastAPI's docs UI loads its scripts from a CDN; /api/docs is ours
        redoc_url=None,
    )
    app.state.node = node
    app.state.nav = list(CORE_NAV)
    app.state.basic_cache = {}  # see auth._basic
    errors.install(app)

    template_path = [HERE / "templates"]
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((HERE / "static" / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    for name in AREA_MODULES if areas is None else areas:
        mod = _area(name)
        if mod is None:
            continue
        if hasattr(mod, "router"):
            app.include_router(mod.router)
        app.state.nav.extend(getattr(mod, "nav", ()))
        if getattr(mod, "templates", None):
            template_path.append(Path(mod.templates))
        if hasattr(mod, "setup"):
            mod.setup(app)
    app.state.templates = make_env(template_path)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", _CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    importlib.import_module("grotius.sharing.sync").install(app)  # scheduled partner syncs
    return app
