"""The REST API under /api/: what the pages do, as JSON. Documented at /api/openapi.json."""

from __future__ import annotations

import tempfile
from typing import Any, Iterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from .. import collections, users
from ..exc import NotFound
from ..ingest import ingest, read
from ..node import Node
from ..stix import grading, markings
from ..store import objects
from ..store.objects import Stored
from . import auth, describe, stats
from .body import bounded_body
from .errors import payload
from .search import SearchQuery, facets, run


class ErrorOut(BaseModel):
    """The one error shape of every failed request."""

    error: str = Field(description="machine-readable code, e.g. not_found, invalid_input, forbidden")
    message: str = Field(description="what was wrong, for a human")
    detail: dict[str, Any] = Field(default_factory=dict, description="where: position, object_id, property, ...")


ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut, "description": d}
    for s, d in (
        (400, "bad input"), (401, "not logged in"), (403, "not allowed or CSRF token missing"),
        (404, "not found"), (422, "invalid request or rejected objects"), (500, "node failure"),
    )
}

router = APIRouter(prefix="/api", responses=ERRORS)

#: the largest body /api/import takes; the CLI reads files of any size the store takes
IMPORT_MAX_BYTES = 256 * 1024 * 1024


def get_node(request: Request) -> Node:
    return request.app.state.node  # type: ignore[no-any-return]


def search_query(
    q: str = Query("", description="STIX id, or a substring of the object's JSON (name, pattern, value, ...)"),
    type: list[str] = Query([], description="STIX type(s)"),
    tlp: list[str] = Query([], description="TLP level(s): clear, green, amber, amber+strict, red"),
    marking: str = Query("", description="id of a marking-definition the object carries"),
    source: str = Query("", description="partner the version came from, or 'local'"),
    created_by: str = Query("", description="identity id of the creator, or 'none'"),
    time_field: str = Query("date_added", description="date_added (when this node stored it) or modified"),
    since: str = Query("", description="from this date or RFC 3339 timestamp (inclusive)"),
    until: str = Query("", description="up to this date or timestamp (inclusive)"),
    all_versions: bool = Query(False, description="search every version, not only the latest"),
    page: int = Query(1, ge=1),
    per_page: int = Query(50, ge=1, le=500),
) -> SearchQuery:
    return SearchQuery(
        q=q, types=type, tlp=tlp, marking=marking, source=source, created_by=created_by, time_field=time_field,
        since=since, until=until, all_versions=all_versions, page=page, per_page=per_page,
    )


def visible(principal: auth.Principal, st: Stored | None, object_id: str) -> Stored:
    """The version, if this caller may see it; an object above the caller's TLP does not exist for it."""
    if st is None or (principal.tlp_max is not None and not markings.allows(principal.tlp_max, st.tlp)):
        raise NotFound(f"no object {object_id} is held", object_id=object_id)
    return st


# -- auth -------------------------------------------------------------------------------


class LoginIn(BaseModel):
    username: str
    password: str


@router.post("/login", tags=["auth"], summary="Log in; sets the session cookie and returns a bearer token")
def login(body: LoginIn, request: Request, node: Node = Depends(get_node)) -> JSONResponse:
    user = users.authenticate(node.store, body.username, body.password)
    token, csrf = auth.create_session(node, user)
    resp = JSONResponse({
        "user": user.username, "role": user.role, "token": token, "csrf_token": csrf,
        "expires_in": auth.SESSION_SECONDS,
    })
    auth.set_session_cookie(resp, request, token)
    return resp


@router.post("/logout", tags=["auth"], summary="End the current session")
def logout(
    request: Request, principal: auth.Principal = Depends(auth.csrf_protect), node: Node = Depends(get_node)
) -> JSONResponse:
    token = request.cookies.get(auth.COOKIE) if principal.via == "session" else None
    if principal.via == "bearer":
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if token:
        auth.end_session(node, token)
    resp = JSONResponse({"logged_out": principal.name})
    resp.delete_cookie(auth.COOKIE, path="/")
    return resp


@router.get("/me", tags=["auth"], summary="Who the request is authenticated as")
def me(principal: auth.Principal = Depends(auth.require_principal)) -> dict[str, Any]:
    return {"name": principal.name, "kind": principal.kind, "role": principal.role, "via": principal.via,
            "csrf_token": principal.csrf}


# -- objects ----------------------------------------------------------------------------


@router.get("/objects", tags=["objects"], summary="Search objects (latest versions unless all_versions)")
def search_objects(
    query: SearchQuery = Depends(search_query),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> dict[str, Any]:
    res = run(node.store, query, principal.tlp_max)
    return {
        "total": res.total, "total_is_lower_bound": res.capped, "page": res.page,
        "per_page": res.per_page, "pages": res.pages, "items": [h.to_dict() for h in res.hits],
    }


@router.get("/objects/{object_id}", tags=["objects"], summary="One object: latest version, or ?version=")
def get_object(
    object_id: str,
    version: str | None = Query(None, description="the version (modified timestamp) to read"),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> dict[str, Any]:
    st = visible(principal, objects.get(node.store, object_id, version), object_id)
    return {"object": st.obj, "meta": describe.meta(node, st)}


@router.get("/objects/{object_id}/versions", tags=["objects"], summary="Version history, newest first")
def object_versions(
    object_id: str,
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> dict[str, Any]:
    hist = describe.history(node.store, object_id)
    if principal.tlp_max is not None:
        hist = [h for h in hist if markings.allows(principal.tlp_max, h["tlp"])]
    if not hist:
        raise NotFound(f"no object {object_id} is held", object_id=object_id)
    for h in hist:
        h.pop("pk")
    return {"id": object_id, "versions": hist}


@router.get("/objects/{object_id}/relationships", tags=["objects"],
            summary="Relationships and references in both directions")
def object_relationships(
    object_id: str,
    version: str | None = Query(None),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> dict[str, Any]:
    st = visible(principal, objects.get(node.store, object_id, version), object_id)
    rel = describe.relationships(node.store, st)
    return {"id": object_id, **{k: [e.to_dict() for e in v] for k, v in rel.items()}}


class GradeIn(BaseModel):
    grade: str = Field(description="Admiralty grade: reliability A-F and credibility 1-6, e.g. B2")
    note: str = Field("", description="why this grade")


@router.post("/objects/{object_id}/grade", tags=["objects"], summary="Attach this node's Admiralty grade")
def grade_object(
    object_id: str,
    body: GradeIn,
    principal: auth.Principal = Depends(auth.csrf_protect),
    node: Node = Depends(get_node),
) -> dict[str, Any]:
    auth.require_user_principal(principal)
    g = grading.set_grade(node, object_id, body.grade, note=body.note, by=principal.name)
    return {"id": object_id, "grade": str(g), "label": g.label, "confidence": g.confidence,
            "graded_by": principal.name}


# -- import / export --------------------------------------------------------------------


@router.post(
    "/import", tags=["import/export"],
    summary="Import a STIX bundle, JSON array or JSON lines (request body)",
    description="200 with the summary when every object was stored or already held; 422 in "
    "the error shape, with the summary as detail, when some were rejected (the good ones are stored); "
    f"413 for a body over {IMPORT_MAX_BYTES // 2**20} MiB (the CLI imports larger files).",
    responses={413: {"model": ErrorOut, "description": "body too large"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    }}},
)
async def import_objects(
    request: Request,
    collection: str | None = Query(None, description="also add the objects to this TAXII collection"),
    allow_dangling: bool = Query(False, description="accept relationships whose ends are not held"),
    principal: auth.Principal = Depends(auth.csrf_protect),
    node: Node = Depends(get_node),
) -> JSONResponse:
    auth.require_user_principal(principal)
    data = await bounded_body(request, IMPORT_MAX_BYTES, "the import limit of the web API; import larger files "
                              "with `grotius import`")
    from starlette.concurrency import run_in_threadpool

    summary = await run_in_threadpool(
        lambda: ingest(node, read(data), collection=collection, strict_refs=not allow_dangling)
    )
    body = summary.to_dict()
    if summary.ok:
        return JSONResponse(body)
    return JSONResponse(
        payload("rejected", f"{summary.rejected} object(s) rejected; {summary.stored} stored, "
                f"{summary.unchanged} already held", body),
        status_code=422,
    )


@router.get("/export", tags=["import/export"], summary="Export a STIX 2.1 bundle (same filters as the CLI)",
            response_class=Response, responses={200: {"content": {"application/stix+json": {}}}})
def export_bundle(
    type: list[str] = Query([], description="only these STIX types"),
    since: str | None = Query(None, description="only versions added after this RFC 3339 timestamp"),
    tlp_max: str | None = Query(None, description="highest TLP to include"),
    latest: bool = Query(False, description="only the latest version of each object"),
    grade_tags: bool = Query(False, description="add Admiralty grades as MISP admiralty-scale labels"),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> StreamingResponse:
    from ..export import parse_since, write_bundle

    level = markings.level(tlp_max) if tlp_max else None
    if principal.tlp_max is not None:
        level = principal.tlp_max if level is None else min(level, principal.tlp_max, key=markings.RANK.__getitem__)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    write_bundle(
        node.store, spool, types=[t for t in type if t], since_us=parse_since(since) if since else None,
        tlp_max=level, latest_only=latest, grade_tags=grade_tags,
    )
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while block := spool.read(1 << 16):
                yield block
        finally:
            spool.close()

    return StreamingResponse(
        chunks(), media_type="application/stix+json;version=2.1",
        headers={"content-disposition": 'attachment; filename="grotius-export.json"'},
    )


# -- overview ---------------------------------------------------------------------------


@router.get("/stats", tags=["overview"], summary="Dashboard counts and recent activity")
def get_stats(
    principal: auth.Principal = Depends(auth.require_principal), node: Node = Depends(get_node)
) -> dict[str, Any]:
    auth.require_user_principal(principal)
    return {**stats.counts(node.store), "recent": stats.recent(node.store)}


@router.get("/facets", tags=["overview"], summary="Types, markings and sources held (search choices)")
def get_facets(
    principal: auth.Principal = Depends(auth.require_principal), node: Node = Depends(get_node)
) -> dict[str, Any]:
    auth.require_user_principal(principal)
    f = facets(node.store)
    return {"types": f["types"], "markings": [{"id": i, "name": n} for i, n in f["markings"]],
            "sources": f["sources"]}


@router.get("/collections", tags=["overview"], summary="TAXII collections with object counts")
def get_collections(
    principal: auth.Principal = Depends(auth.require_principal), node: Node = Depends(get_node)
) -> dict[str, Any]:
    auth.require_user_principal(principal)
    return {"collections": collections.list_all(node.store)}
