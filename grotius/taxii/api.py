"""The TAXII 2.1 server (OASIS TAXII 2.1, sections 4 and 5), under ``/taxii2/``.

Every read goes through :func:`grotius.sharing.policy.disclose` (TLP 2.0 and the
agreement; audited), every write through :func:`grotius.ingest.ingest` (validated;
audited by the ingest hook). Errors are TAXII error messages in the TAXII media type.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from .. import collections as cols
from ..exc import AuthError, Forbidden, InvalidInput, NotFound
from ..ingest import Item, ingest
from ..sharing import audit, partners, policy
from ..store.objects import Stored
from ..web import auth
from ..web.body import bounded_body
from . import media, query, status
from .media import ts

PREFIX = "/taxii2"
#: API roots this node offers: name -> (title, description)
API_ROOTS: dict[str, tuple[str, str]] = {
    "api": ("Grotius sharing", "Collections this node shares under its agreements"),
}
MAX_CONTENT_LENGTH = 64 * 1024 * 1024

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def setup(app: FastAPI) -> None:
    """TAXII errors in the TAXII media type; partner accounts (and cached user Basic
    logins) resolved before the web's own resolvers."""
    app.state.error_renderers.append((PREFIX + "/", media.error_resource))
    app.state.error_renderers.append((PREFIX, media.error_resource))
    if partners.resolver not in auth.RESOLVERS:
        auth.RESOLVERS.insert(0, partners.resolver)


# -- request context --------------------------------------------------------------------


@dataclass
class Ctx:
    node: Any
    principal: Any
    request_id: str


def _ctx(request: Request) -> Ctx:
    media.check_accept(request)
    p = auth.resolve(request)
    if p is None:
        raise AuthError("TAXII needs HTTP Basic credentials or a Bearer token")
    if p.kind not in ("user", "partner"):
        raise Forbidden("this account may not use TAXII", principal=p.name)
    rid = str(uuid.uuid4())
    request.state.request_id = rid
    return Ctx(request.app.state.node, p, rid)


def _root(api_root: str) -> tuple[str, str]:
    r = API_ROOTS.get(api_root)
    if r is None:
        raise NotFound(f"no API root {api_root!r} on this server", api_root=api_root)
    return r


@dataclass(frozen=True)
class Col:
    cid: int
    name: str
    title: str
    description: str
    id: str


def _collections(ctx: Ctx) -> list[tuple[Col, bool, bool]]:
    out = []
    for cid, name, title, desc in ctx.node.store.query(
        "SELECT cid, name, title, description FROM collections ORDER BY name"
    ):
        c = Col(int(cid), name, title, desc, cols.collection_uuid(name))
        r, w = policy.can_read(ctx.principal, name), policy.can_write(ctx.principal, name)
        if r or w:
            out.append((c, r, w))
    return out


def _collection(ctx: Ctx, ident: str, *, read: bool = False, write: bool = False) -> Col:
    for c, r, w in _collections(ctx):
        if ident in (c.id, c.name):
            if read and not r:
                raise Forbidden(f"you may not read collection {c.id}", collection=c.id)
            if write and not w:
                raise Forbidden(f"you may not add to collection {c.id}", collection=c.id)
            return c
    raise NotFound(f"no collection {ident!r} for you in this API root", collection=ident)


def _col_resource(c: Col, r: bool, w: bool) -> dict[str, Any]:
    return {
        "id": c.id, "title": c.title, "description": c.description, "alias": c.name,
        "can_read": r, "can_write": w, "media_types": [media.STIX],
    }


def _headers(ctx: Ctx, sent: list[tuple[Stored, Any]] | list[Stored]) -> dict[str, str]:
    h = {"X-Request-ID": ctx.request_id}
    if sent:
        first = sent[0][0] if isinstance(sent[0], tuple) else sent[0]
        last = sent[-1][0] if isinstance(sent[-1], tuple) else sent[-1]
        h["X-TAXII-Date-Added-First"] = ts(first.date_added)
        h["X-TAXII-Date-Added-Last"] = ts(last.date_added)
    return h


def _version_text(st: Stored) -> str:
    """The version as the object states it (modified, else created), else date_added."""
    v = st.obj.get("modified") or st.obj.get("created")
    return v if isinstance(v, str) else ts(st.date_added)


def _params(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in request.query_params.multi_items():
        if k in out:
            raise InvalidInput(f"query parameter {k!r} given twice; separate values with commas", property=k)
        out[k] = v
    return out


# -- discovery, API root, status --------------------------------------------------------


@router.get("/")
def discovery(request: Request) -> Response:
    ctx = _ctx(request)
    base = str(request.base_url).rstrip("/") + PREFIX
    roots = [f"{base}/{name}/" for name in API_ROOTS]
    return media.json_response({
        "title": f"Grotius node {ctx.node.config.org}",
        "description": "TAXII 2.1 server of a Grotius node; sharing under TLP 2.0 agreements.",
        "contact": ctx.node.config.org,
        "default": roots[0],
        "api_roots": roots,
    }, headers={"X-Request-ID": ctx.request_id})


@router.get("/{api_root}/")
def api_root(request: Request, api_root: str) -> Response:
    ctx = _ctx(request)
    title, desc = _root(api_root)
    return media.json_response({
        "title": title, "description": desc,
        "versions": [media.TAXII], "max_content_length": MAX_CONTENT_LENGTH,
    }, headers={"X-Request-ID": ctx.request_id})


@router.get("/{api_root}/status/{status_id}/")
@router.get("/{api_root}/status/{status_id}")
def get_status(request: Request, api_root: str, status_id: str) -> Response:
    ctx = _ctx(request)
    _root(api_root)
    owner = None if ctx.principal.kind == "user" else _owner(ctx)
    return media.raw_response(status.load(ctx.node.store, status_id, owner, api_root),
                              headers={"X-Request-ID": ctx.request_id})


def _owner(ctx: Ctx) -> str:
    return f"{ctx.principal.kind}:{ctx.principal.name}"


# -- collections ------------------------------------------------------------------------


@router.get("/{api_root}/collections/")
def list_collections(request: Request, api_root: str) -> Response:
    ctx = _ctx(request)
    _root(api_root)
    found = [_col_resource(c, r, w) for c, r, w in _collections(ctx)]
    return media.json_response({"collections": found} if found else {},
                               headers={"X-Request-ID": ctx.request_id})


@router.get("/{api_root}/collections/{collection_id}/")
def get_collection(request: Request, api_root: str, collection_id: str) -> Response:
    ctx = _ctx(request)
    _root(api_root)
    for c, r, w in _collections(ctx):
        if collection_id in (c.id, c.name):
            return media.json_response(_col_resource(c, r, w), headers={"X-Request-ID": ctx.request_id})
    raise NotFound(f"no collection {collection_id!r} for you in this API root", collection=collection_id)


# -- objects ----------------------------------------------------------------------------


def _page(ctx: Ctx, col: Col, f: query.Filters, endpoint: str, object_id: str | None = None
          ) -> tuple[list[tuple[Stored, dict[str, Any]]], bool, str | None]:
    clear = policy.clearance(ctx.node, ctx.principal, "taxii")
    rows, more = query.page(ctx.node.store, col.cid, f, policy.sql_filter(clear), object_id=object_id)
    sent = policy.disclose(
        ctx.node, ctx.principal, [r.stored for r in rows], channel="taxii",
        request_id=ctx.request_id, endpoint=endpoint, collection=col.name, clear=clear,
    )
    nxt = query.encode_next(rows[-1].date_added) if more and rows else None
    return sent, more, nxt


def _envelope(sent: list[tuple[Stored, dict[str, Any]]], more: bool, nxt: str | None) -> bytes:
    parts = [b'{"more":', b"true" if more else b"false"]
    if nxt:
        parts += [b',"next":', orjson.dumps(nxt)]
    if sent:
        parts.append(b',"objects":[')
        parts.append(b",".join(
            st.raw.encode() if obj is st.obj else orjson.dumps(obj) for st, obj in sent
        ))
        parts.append(b"]")
    parts.append(b"}")
    return b"".join(parts)


@router.get("/{api_root}/collections/{collection_id}/objects/")
def get_objects(request: Request, api_root: str, collection_id: str) -> Response:
    ctx = _ctx(request)
    _root(api_root)
    col = _collection(ctx, collection_id, read=True)
    f = query.parse(_params(request))
    sent, more, nxt = _page(ctx, col, f, "objects")
    return media.raw_response(_envelope(sent, more, nxt), headers=_headers(ctx, sent))


@router.get("/{api_root}/collections/{collection_id}/manifest/")
def get_manifest(request: Request, api_root: str, collection_id: str) -> Response:
    ctx = _ctx(request)
    _root(api_root)
    col = _collection(ctx, collection_id, read=True)
    f = query.parse(_params(request))
    sent, more, nxt = _page(ctx, col, f, "manifest")
    body: dict[str, Any] = {"more": more}
    if nxt:
        body["next"] = nxt
    if sent:
        body["objects"] = [
            {"id": st.id, "date_added": ts(st.date_added), "version": _version_text(st),
             "media_type": media.STIX}
            for st, _ in sent
        ]
    return media.json_response(body, headers=_headers(ctx, sent))


def _exists_for(ctx: Ctx, col: Col, object_id: str) -> bool:
    """Whether the principal may know that this object is in the collection."""
    clear = policy.clearance(ctx.node, ctx.principal, "taxii")
    f = query.Filters(limit=50, versions=["all"])
    while True:
        rows, more = query.page(ctx.node.store, col.cid, f, policy.sql_filter(clear), object_id=object_id)
        if policy.disclose(ctx.node, ctx.principal, [r.stored for r in rows], clear=clear, audit=False):
            return True
        if not more:
            return False
        f.after = rows[-1].date_added


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def get_object(request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
    ctx = _ctx(request)
    _root(api_root)
    col = _collection(ctx, collection_id, read=True)
    f = query.parse(_params(request), allowed=("added_after", "limit", "next", "match[version]",
                                                "match[spec_version]"))
    sent, more, nxt = _page(ctx, col, f, "object", object_id)
    if not sent and not _exists_for(ctx, col, object_id):
        raise NotFound(f"no object {object_id} in collection {col.id} for you", object_id=object_id)
    return media.raw_response(_envelope(sent, more, nxt), headers=_headers(ctx, sent))


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/")
def get_versions(request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
    ctx = _ctx(request)
    _root(api_root)
    col = _collection(ctx, collection_id, read=True)
    f = query.parse(_params(request), default_version="all",
                    allowed=("added_after", "limit", "next", "match[spec_version]"))
    sent, more, nxt = _page(ctx, col, f, "versions", object_id)
    if not sent and not _exists_for(ctx, col, object_id):
        raise NotFound(f"no object {object_id} in collection {col.id} for you", object_id=object_id)
    body: dict[str, Any] = {"more": more}
    if nxt:
        body["next"] = nxt
    if sent:
        body["versions"] = [_version_text(st) for st, _ in sent]
    return media.json_response(body, headers=_headers(ctx, sent))


@router.delete("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def delete_object(request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
    """Removes versions from the collection (the node keeps every version it received).
    A partner may remove only versions it supplied itself."""
    ctx = _ctx(request)
    _root(api_root)
    col = _collection(ctx, collection_id, read=True, write=True)
    f = query.parse(_params(request), default_version="all",
                    allowed=("match[version]", "match[spec_version]"))
    f.limit = query.MAX_LIMIT
    clear = policy.clearance(ctx.node, ctx.principal, "taxii")
    visible: list[Stored] = []
    while True:
        rows, more = query.page(ctx.node.store, col.cid, f, policy.sql_filter(clear), object_id=object_id)
        visible += [st for st, _ in policy.disclose(
            ctx.node, ctx.principal, [r.stored for r in rows], clear=clear, audit=False)]
        if not more:
            break
        f.after = rows[-1].date_added
    if not visible:
        if not _exists_for(ctx, col, object_id):
            raise NotFound(f"no object {object_id} in collection {col.id} for you", object_id=object_id)
        return media.raw_response(b"", headers={"X-Request-ID": ctx.request_id})
    if ctx.principal.kind == "partner":
        foreign = [st for st in visible if st.source != ctx.principal.name]
        if foreign:
            raise Forbidden(
                f"{len(foreign)} matching version(s) of {object_id} were not supplied by "
                f"{ctx.principal.name}; a partner may delete only what it added",
                object_id=object_id,
            )
    with ctx.node.store.transaction() as tx:
        pks = [st.pk for st in visible]
        for i in range(0, len(pks), 500):
            chunk = pks[i: i + 500]
            tx.execute(
                f"DELETE FROM collection_items WHERE cid = ? AND pk IN ({','.join('?' * len(chunk))})",
                [col.cid, *chunk],
            )
        audit.record(
            tx, "taxii.delete", actor=f"taxii:{_owner(ctx)}",
            partner=ctx.principal.name if ctx.principal.kind == "partner" else None,
            objects=[(st.id, st.version) for st in visible], request_id=ctx.request_id,
            agreement=clear.agreement, detail={"collection": col.name},
        )
    return media.raw_response(b"", headers={"X-Request-ID": ctx.request_id})


@router.post("/{api_root}/collections/{collection_id}/objects/")
async def add_objects(request: Request, api_root: str, collection_id: str) -> Response:
    ctx = await run_in_threadpool(_ctx, request)
    _root(api_root)
    media.check_content_type(request)
    col = await run_in_threadpool(_collection, ctx, collection_id, write=True)
    body = await bounded_body(request, MAX_CONTENT_LENGTH, "this API root's max_content_length")
    result = await run_in_threadpool(_add, ctx, col, api_root, body)
    return media.json_response(result, 202, headers={"X-Request-ID": ctx.request_id})


def _add(ctx: Ctx, col: Col, api_root: str, body: bytes) -> dict[str, Any]:
    requested = time.time_ns() // 1000
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidInput(f"the body is not JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        raise InvalidInput('the body must be a TAXII envelope: {"objects": [...]}', property="objects")
    items = [Item(i, obj=o) for i, o in enumerate(doc["objects"])]
    source = ctx.principal.name if ctx.principal.kind == "partner" else None
    with audit.acting_as(f"taxii:{_owner(ctx)}"):
        summary = ingest(ctx.node, items, collection=col.name, source=source, strict_refs=False, quiet=True)
    st = status.build(items, summary, requested)
    status.save(ctx.node.store, st, _owner(ctx), api_root)
    return st
