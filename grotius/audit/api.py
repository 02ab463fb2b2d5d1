"""Audit log and signature views: ``/audit`` page, ``/api/audit``, ``/api/signatures/{id}``.

The log itself lives in grotius/sharing/audit.py; this module only shows it, filtered by
partner, object or action, to the node's own users (never to partner accounts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ..exc import InvalidInput, NotFound
from ..sharing import audit, signing
from ..store import objects
from ..store.engine import MAX_INT64
from ..web import auth
from ..web.render import NavItem, page

router = APIRouter()
nav = [NavItem("Audit", "/audit", 80)]
templates = Path(__file__).parent / "templates"


def _entries(request: Request, partner: str | None, object_id: str | None, action: str | None,
             before: int | None, limit: int) -> list[audit.Entry]:
    # a sequence number beyond 64 bits cannot be bound as a query parameter
    if before is not None and not 0 <= before <= MAX_INT64:
        raise InvalidInput(f"before must be between 0 and {MAX_INT64}, got {before}", property="before")
    node = request.app.state.node
    return audit.entries(node.store, partner=partner or None, object_id=object_id or None,
                         action=action or None, before_seq=before, limit=limit)


@router.get("/api/audit", tags=["audit"], summary="Audit entries, newest first, filtered")
def api_audit(
    request: Request,
    partner: str | None = Query(None, description="Only entries about this partner"),
    object: str | None = Query(None, description="Only entries naming this STIX id"),
    action: str | None = Query(None, description="disclose, write, partner.add, ..."),
    before: int | None = Query(None, description="Entries with seq below this (paging)"),
    limit: int = Query(100, ge=1, le=1000),
    principal: auth.Principal = Depends(auth.require_user),
) -> dict[str, Any]:
    es = _entries(request, partner, object, action, before, limit)
    return {"entries": [e.to_dict() for e in es],
            "next_before": es[-1].seq if len(es) == limit else None}


@router.get("/api/audit/verify", tags=["audit"], summary="Verify the whole chain and checkpoints")
def api_audit_verify(request: Request, principal: auth.Principal = Depends(auth.require_admin)) -> dict[str, Any]:
    return audit.verify_node(request.app.state.node).to_dict()


def _signature(node: Any, obj: dict[str, Any]) -> dict[str, Any]:
    ring = signing.keyring(node)
    res = signing.check(obj, ring)
    return {"status": res.status, "signer": res.signer, "signer_name": ring.names.get(res.signer or ""),
            "key_id": res.key_id, "message": res.message}


@router.get("/api/signatures/{object_id}", tags=["audit"], summary="Who signed an object version, and whether it verifies")
def api_signature(request: Request, object_id: str, version: str | None = Query(None),
                  principal: auth.Principal = Depends(auth.require_user)) -> dict[str, Any]:
    node = request.app.state.node
    st = objects.get(node.store, object_id, version)
    if st is None:
        raise NotFound(f"no object {object_id} is held", object_id=object_id)
    return {"id": st.id, "version": st.version} | _signature(node, st.obj)


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request, partner: str | None = None, object: str | None = None,
    action: str | None = None, before: int | None = None, verify: int = 0,
    principal: auth.Principal = Depends(auth.require_user),
) -> HTMLResponse:
    node = request.app.state.node
    limit = 100
    es = _entries(request, partner, object, action, before, limit)
    report = audit.verify_node(node) if verify and principal.is_admin else None
    partners = [r[0] for r in node.store.query("SELECT DISTINCT partner FROM audit_log WHERE partner IS NOT NULL ORDER BY partner")]
    actions = [r[0] for r in node.store.query("SELECT DISTINCT action FROM audit_log ORDER BY action")]
    sig = None
    if object:
        st = objects.get(node.store, object)
        sig = _signature(node, st.obj) if st else None
    return page(request, "audit.html", {
        "entries": es, "partner": partner or "", "object": object or "", "action": action or "",
        "partners": partners, "actions": actions, "report": report, "signature": sig,
        "next_before": es[-1].seq if len(es) == limit else None, "head": audit.head(node.store)[0],
    }, principal=principal)
