"""Leads in the web app: REST API under /api/leads and the leads inbox pages.

A lead is visible to a caller exactly when its TLP is (a lead's TLP is the most
restrictive of its two sides); each side is shown only if the caller may see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from grotius.correlate import hook, leads
from grotius.exc import InvalidInput, NotFound
from grotius.node import Node
from grotius.stix import markings
from grotius.store.engine import MAX_INT64
from grotius.web import auth, render
from grotius.web.api import ERRORS, get_node
from grotius.web.render import NavItem, page

router = APIRouter()
nav = [NavItem("Leads", "/leads", 25)]
templates = str(Path(__file__).parent / "templates")
#: leads on one page of the inbox
PER_PAGE = 50


def _may_see(principal: auth.Principal, tlp: str) -> bool:
    return principal.tlp_max is None or markings.allows(principal.tlp_max, tlp)


def _lead_for(principal: auth.Principal, node: Node, lead_id: str) -> dict[str, Any]:
    row = node.store.query_one("SELECT tlp FROM correlate_leads WHERE lead_id = ?", (lead_id,))
    if row is None or not _may_see(principal, row[0]):
        raise NotFound(f"no lead {lead_id}", object_id=lead_id)
    data = leads.both_sides(node, leads.get(node, lead_id))
    data["tlp"] = row[0]
    for side in ("incoming", "held"):
        if not _may_see(principal, data["lead"][side]["tlp"]):
            data[side] = None
    return data


def _min_score(text: str) -> float | None:
    """A ``min_score`` parameter: empty for none, else a number from 0 to 1."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:  # NaN fails too
        raise InvalidInput(f"min_score must be a number from 0 to 1, got {text!r}", property="min_score")
    return value


class StatusIn(BaseModel):
    status: str = Field(description="new, accepted or dismissed")
    reason: str = Field("", description="why; required to dismiss")


@router.get("/api/leads", tags=["leads"], summary="The leads inbox, filtered and sorted",
            responses={**ERRORS, 200: {"description": "one page of leads; the X-Total-Count header holds how "
                                       "many match the filters in all", "headers": {"X-Total-Count": {
                                           "schema": {"type": "integer"}}}}})
def api_leads(
    response: Response,
    status: str = Query("new", description="new, accepted, dismissed, suppressed or all"),
    sort: str = Query("score", description="score, recent or oldest"),
    source: str = Query("", description="only leads involving this source"),
    min_score: str = Query("", description="only leads scoring at least this (0 to 1)"),
    q: str = Query("", description="text in the lead's summary"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> list[dict[str, Any]]:
    filters: dict[str, Any] = {"status": status, "source": source or None, "min_score": _min_score(min_score),
                               "q": q or None, "tlp_max": principal.tlp_max}
    page = leads.inbox(node, sort=sort, limit=limit, offset=offset, **filters)
    response.headers["X-Total-Count"] = str(leads.count(node, **filters))
    return page


@router.get("/api/leads/{lead_id}", tags=["leads"], responses=ERRORS, summary="A lead with both sides' objects")
def api_lead(lead_id: str, principal: auth.Principal = Depends(auth.require_principal),
             node: Node = Depends(get_node)) -> dict[str, Any]:
    return _lead_for(principal, node, lead_id)


@router.post("/api/leads/{lead_id}/status", tags=["leads"], responses=ERRORS,
             summary="Accept, dismiss (with a reason) or re-open a lead")
def api_lead_status(lead_id: str, body: StatusIn, principal: auth.Principal = Depends(auth.csrf_protect),
                    node: Node = Depends(get_node)) -> dict[str, Any]:
    auth.require_user_principal(principal)
    _lead_for(principal, node, lead_id)
    return leads.set_status(node, lead_id, body.status, body.reason, by=principal.name)


@router.get("/api/correlate/check", tags=["leads"], responses=ERRORS,
            summary="What the node holds for one value (warninglisted matches included)")
def api_check(value: str, kind: str = "", principal: auth.Principal = Depends(auth.require_principal),
              node: Node = Depends(get_node)) -> dict[str, Any]:
    out = hook.check(node, value, kind or None)
    if principal.tlp_max is not None:
        out["matches"] = [m for m in out["matches"] if _object_visible(principal, node, m["object_ref"])]
    return out


def _object_visible(principal: auth.Principal, node: Node, object_id: str) -> bool:
    row = node.store.query_one("SELECT tlp FROM objects WHERE id = ? ORDER BY version DESC LIMIT 1", (object_id,))
    return row is not None and _may_see(principal, row[0])


# -- pages ------------------------------------------------------------------------------


@router.get("/leads", response_class=HTMLResponse, include_in_schema=False)
def leads_page(
    request: Request,
    status: str = "new",
    sort: str = "score",
    source: str = "",
    q: str = "",
    min_score: str = "",
    page: int = Query(1, ge=1, le=MAX_INT64 // PER_PAGE),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> Response:
    filters: dict[str, Any] = {"status": status, "source": source or None, "min_score": _min_score(min_score), "q": q or None,
               "tlp_max": principal.tlp_max}
    total = leads.count(node, **filters)
    pages = max(1, -(-total // PER_PAGE))
    rows = leads.inbox(node, sort=sort, limit=PER_PAGE, offset=(page - 1) * PER_PAGE, **filters)
    # the status counts and source choices, too, come only from leads the caller may see
    visible, cleared = leads.tlp_clause(principal.tlp_max)
    counts = dict(node.store.query(f"SELECT status, COUNT(*) FROM correlate_leads WHERE {visible} GROUP BY status", cleared))
    sources = sorted({s for (ss,) in node.store.query(f"SELECT DISTINCT sources FROM correlate_leads WHERE {visible}", cleared)
                      for s in ss.split("\n")})
    base = {k: v for k, v in {"status": status, "sort": sort, "source": source, "q": q, "min_score": min_score}.items() if v}

    def page_url(n: int) -> str:
        return "/leads?" + urlencode({**base, "page": n})

    api_url = "/api/leads?" + urlencode({**base, "limit": PER_PAGE, "offset": (page - 1) * PER_PAGE})
    return render.page(request, "leads.html", {
        "rows": rows, "status": status, "sort": sort, "source": source, "q": q, "min_score": min_score,
        "counts": counts, "sources": sources, "statuses": ("new", "accepted", "dismissed", "suppressed", "all"),
        "api_url": api_url, "total": total, "page": page, "pages": pages, "page_url": page_url,
    }, principal=principal)


@router.get("/leads/{lead_id}", response_class=HTMLResponse, include_in_schema=False)
def lead_page(request: Request, lead_id: str, principal: auth.Principal = Depends(auth.require_principal),
              node: Node = Depends(get_node)) -> Response:
    data = _lead_for(principal, node, lead_id)
    refs = [data["lead"][s].get("originator_ref") for s in ("incoming", "held")]
    names = {}
    for ref in filter(None, refs):
        row = node.store.query_one("SELECT raw FROM objects WHERE id = ? ORDER BY version DESC LIMIT 1", (ref,))
        if row:
            names[ref] = orjson.loads(row[0]).get("name")
    return page(request, "lead.html", {"d": data, "lead": data["lead"], "names": names}, principal=principal)


@router.post("/leads/{lead_id}/status", include_in_schema=False)
def lead_status_submit(
    request: Request,
    lead_id: str,
    status: str = Form(...),
    reason: str = Form(""),
    principal: auth.Principal = Depends(auth.csrf_protect),
    node: Node = Depends(get_node),
) -> Response:
    auth.require_user_principal(principal)
    _lead_for(principal, node, lead_id)
    leads.set_status(node, lead_id, status, reason, by=principal.name)
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)
