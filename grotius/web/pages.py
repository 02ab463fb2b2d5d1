"""Server-rendered pages: login, dashboard, search, object, import."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import collections, users
from ..exc import AuthError
from ..ingest import ingest, read
from ..node import Node
from ..stix import grading
from ..store import objects
from . import auth, describe, stats
from .api import get_node, search_query, visible
from .render import page
from .search import SearchQuery, facets, run

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only same-site paths: "//host" and "/\host" would leave the site
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _login_page(request: Request, *, error: str | None = None, status: int = 200, next_: str = "/") -> Response:
    token = auth.new_login_csrf()
    resp = page(request, "login.html", {"login_csrf": token, "error": error, "next": next_}, status=status,
                principal=None)
    resp.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", path="/login",
                    secure=request.url.scheme == "https", max_age=3600)
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_=_safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
    node: Node = Depends(get_node),
) -> Response:
    auth.check_login_csrf(request, csrf_token)
    try:
        user = users.authenticate(node.store, username, password)
    except AuthError as e:
        return _login_page(request, error=e.message, status=401, next_=_safe_next(next))
    token, _ = auth.create_session(node, user)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    auth.set_session_cookie(resp, request, token)
    resp.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(
    request: Request, principal: auth.Principal = Depends(auth.csrf_protect), node: Node = Depends(get_node)
) -> Response:
    token = request.cookies.get(auth.COOKIE)
    if token:
        auth.end_session(node, token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(auth.COOKIE, path="/")
    return resp


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, principal: auth.Principal = Depends(auth.require_user), node: Node = Depends(get_node)
) -> Response:
    def link(**params: str) -> str:
        return "/search?" + urlencode(params)

    return page(request, "dashboard.html", {
        "stats": stats.counts(node.store), "recent": stats.recent(node.store, 15),
        "collections": collections.list_all(node.store),
        "type_link": lambda r: link(type=r["key"]),
        "tlp_link": lambda r: link(tlp=r["key"]),
        "org_link": lambda r: link(created_by=r["ref"] or "none"),
    }, principal=principal)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    query: SearchQuery = Depends(search_query),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> Response:
    result = run(node.store, query, principal.tlp_max)
    base = query.params()

    def page_url(n: int) -> str:
        return "/search?" + urlencode({**base, "page": n}, doseq=True)

    export_params: dict[str, Any] = {"latest": "true"}
    if query.types:
        export_params["type"] = query.types
    return page(request, "search.html", {
        "query": query, "result": result, "facets": facets(node.store), "page_url": page_url,
        "export_url": "/api/export?" + urlencode(export_params, doseq=True),
        "api_url": "/api/objects?" + urlencode({**base, "page": query.page}, doseq=True),
    }, principal=principal)


@router.get("/objects/{object_id}", response_class=HTMLResponse)
def object_page(
    request: Request,
    object_id: str,
    version: str | None = None,
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> Response:
    st = visible(principal, objects.get(node.store, object_id, version), object_id)
    history = describe.history(node.store, object_id)
    latest = history[0]["version"] if history else st.version
    props = describe.properties(st.obj)
    ref_ids = [v for _, kind, v in props if kind == "ref"] + [
        x for _, kind, v in props if kind == "refs" for x in v
    ]
    return page(request, "object.html", {
        "st": st, "meta": describe.meta(node, st), "props": props,
        "names": describe.names_of(node.store, ref_ids), "rel": describe.relationships(node.store, st),
        "history": history, "is_latest": st.version == latest,
        "marking_names": describe.names_of(node.store, st.obj.get("object_marking_refs") or []),
    }, principal=principal)


@router.post("/objects/{object_id}/grade")
def grade_submit(
    request: Request,
    object_id: str,
    reliability: str = Form(...),
    credibility: str = Form(...),
    note: str = Form(""),
    principal: auth.Principal = Depends(auth.csrf_protect),
    node: Node = Depends(get_node),
) -> Response:
    auth.require_user_principal(principal)
    grading.set_grade(node, object_id, f"{reliability}{credibility}", note=note, by=principal.name)
    return RedirectResponse(f"/objects/{object_id}#grade", status_code=303)


@router.get("/import", response_class=HTMLResponse)
def import_form(
    request: Request, principal: auth.Principal = Depends(auth.require_user), node: Node = Depends(get_node)
) -> Response:
    return page(request, "import.html", {"collections": collections.list_all(node.store), "summary": None},
                principal=principal)


@router.post("/import", response_class=HTMLResponse)
def import_submit(
    request: Request,
    file: UploadFile = File(...),
    collection: str = Form(""),
    allow_dangling: bool = Form(False),
    principal: auth.Principal = Depends(auth.csrf_protect),
    node: Node = Depends(get_node),
) -> Response:
    auth.require_user_principal(principal)
    data = file.file.read()
    summary = ingest(node, read(data), collection=collection or None, strict_refs=not allow_dangling)
    return page(request, "import.html", {
        "collections": collections.list_all(node.store), "summary": summary,
        "filename": file.filename or "upload", "size": len(data),
    }, status=200 if summary.ok else 422, principal=principal)


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """The OpenAPI document as a readable page, without any script from elsewhere."""
    spec = request.app.openapi()
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": op.get("description", ""), "tags": op.get("tags", []),
                        "params": op.get("parameters", []),
                        "body": bool(op.get("requestBody"))})
    ops.sort(key=lambda o: (o["tags"][:1], o["path"], o["method"]))
    return page(request, "api_docs.html", {"ops": ops, "spec": spec})
