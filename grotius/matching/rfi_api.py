"""Requests for information in the web app: the users' REST API (/api/match/requests),
the partner endpoints (/api/match/rfi/...) and the pages (/requests)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from grotius.exc import Forbidden, InvalidInput
from grotius.matching import requests as rfi
from grotius.node import Node
from grotius.sharing import partners
from grotius.web import auth
from grotius.web.api import ERRORS, get_node
from grotius.web.render import NavItem, page

router = APIRouter()
nav = [NavItem("Requests", "/requests", 27)]
templates = str(Path(__file__).parent / "templates")


#: how often a serving node fetches its partners' answers to its open requests
#: (GROTIUS_RFI_POLL_SECONDS; 0 turns it off)
POLL_SECONDS = 300.0
log = logging.getLogger("grotius.rfi")


def setup(app: FastAPI) -> None:
    if partners.resolver not in auth.RESOLVERS:
        auth.RESOLVERS.insert(0, partners.resolver)
    # partner accounts authenticate here: these endpoints police what they disclose
    if rfi.PARTNER_PREFIX not in partners.PARTNER_PATHS:
        partners.PARTNER_PATHS = (*partners.PARTNER_PATHS, rfi.PARTNER_PREFIX)
    try:
        every = float(os.environ.get("GROTIUS_RFI_POLL_SECONDS", POLL_SECONDS))
    except ValueError:
        log.warning("GROTIUS_RFI_POLL_SECONDS is not a number; polling every %s s", POLL_SECONDS)
        every = POLL_SECONDS
    if every <= 0:
        return
    stop = threading.Event()

    def poll() -> None:
        node = app.state.node
        while not stop.wait(every):
            try:
                for r in rfi.refresh_open(node):
                    if "error" in r:
                        log.warning("request %s: %s", r["request_id"], r["error"])
            except Exception:  # a poll failure must not end the loop; the next tick retries
                log.exception("fetching answers to requests for information failed")

    app.router.add_event_handler("startup", lambda: threading.Thread(target=poll, daemon=True,
                                                                     name="rfi-poll").start())
    app.router.add_event_handler("shutdown", stop.set)


def _partner(request: Request) -> auth.Principal:
    p = auth.require_principal(request)
    if p.kind != "partner":
        raise Forbidden("requests for information arrive from partner nodes", principal=p.name)
    return p


# -- partner endpoints ------------------------------------------------------------------


class ObjectsIn(BaseModel):
    objects: list[dict[str, Any]]


@router.post("/api/match/rfi/requests", tags=["requests"], responses=ERRORS,
             summary="Partner: a version of one of its requests (new, withdrawn, acknowledged)")
def partner_receive(body: ObjectsIn, request: Request, node: Node = Depends(get_node)) -> dict[str, Any]:
    return rfi.receive(node, _partner(request), body.objects)


@router.get("/api/match/rfi/requests/{rid}", tags=["requests"], responses=ERRORS,
            summary="Partner: this node's answer to its request, with the approved objects")
def partner_answer(rid: str, request: Request, node: Node = Depends(get_node)) -> dict[str, Any]:
    return rfi.answer_for(node, _partner(request), rid)


# -- users' REST API --------------------------------------------------------------------


class RequestIn(BaseModel):
    match: str = Field(description="id of the x-grotius-match run (this node asked)")
    values: list[str] = Field(default_factory=list, description="hit values asked about; empty = all hits")
    asked: str = Field(description="what is asked")
    legal_basis: str = Field(description=", ".join(rfi.LEGAL_BASES))
    legal_basis_text: str = ""
    urgency: str = Field("routine", description=", ".join(rfi.URGENCIES))
    deadline: str = Field(description="YYYY-MM-DD (end of day UTC) or an RFC 3339 timestamp")
    tlp: str = "amber"


class DecisionIn(BaseModel):
    decision: str = Field(description="approve or decline")
    objects: list[str] | None = Field(None, description="objects to disclose; omitted = every proposed "
                                      "object the agreement allows")
    drop: dict[str, list[str]] = Field(default_factory=dict, description="object id -> properties left out")
    reason: str = ""


class ReasonIn(BaseModel):
    reason: str = ""


def _decision(node: Node, rid: str, body: DecisionIn, by: str) -> dict[str, Any]:
    if body.decision not in ("approve", "decline"):
        raise InvalidInput(f"decision must be approve or decline, not {body.decision!r}", property="decision")
    return rfi.decide(node, rid, approve=body.decision == "approve", objects=body.objects, drop=body.drop,
                      reason=body.reason, by=by)


@router.get("/api/match/requests", tags=["requests"], responses=ERRORS,
            summary="Requests for information, both directions, newest first")
def api_list(direction: str = Query("", description="incoming or outgoing"),
             status: str = Query("", description="open, approved, partially-approved, declined, withdrawn, overdue"),
             principal: auth.Principal = Depends(auth.require_user),
             node: Node = Depends(get_node)) -> list[dict[str, Any]]:
    return rfi.list_requests(node, direction=direction or None, status=status or None)


@router.post("/api/match/requests", tags=["requests"], responses=ERRORS, status_code=201,
             summary="Turn hits of a run into a request to its partner (sent at once)")
def api_create(body: RequestIn, principal: auth.Principal = Depends(auth.csrf_protect),
               node: Node = Depends(get_node)) -> dict[str, Any]:
    auth.require_user_principal(principal)
    obj = rfi.create(node, body.match, body.values, asked=body.asked, legal_basis=body.legal_basis,
                     legal_basis_text=body.legal_basis_text, urgency=body.urgency, deadline=body.deadline,
                     tlp=body.tlp, by=principal.name)
    return rfi.detail(node, obj["id"])


@router.get("/api/match/requests/{rid}", tags=["requests"], responses=ERRORS,
            summary="One request: details, hits, decision, disclosed or proposed objects")
def api_get(rid: str, principal: auth.Principal = Depends(auth.require_user),
            node: Node = Depends(get_node)) -> dict[str, Any]:
    return rfi.detail(node, rid)


@router.post("/api/match/requests/{rid}/decision", tags=["requests"], responses=ERRORS,
             summary="Holder: approve (in full or in part) or decline with a reason")
def api_decide(rid: str, body: DecisionIn, principal: auth.Principal = Depends(auth.csrf_protect),
               node: Node = Depends(get_node)) -> dict[str, Any]:
    auth.require_user_principal(principal)
    return _decision(node, rid, body, principal.name)


@router.post("/api/match/requests/{rid}/refresh", tags=["requests"], responses=ERRORS,
             summary="Requester: send if undelivered, else fetch the holder's answer")
def api_refresh(rid: str, principal: auth.Principal = Depends(auth.csrf_protect),
                node: Node = Depends(get_node)) -> dict[str, Any]:
    auth.require_user_principal(principal)
    return rfi.refresh(node, rid)


@router.post("/api/match/requests/{rid}/withdraw", tags=["requests"], responses=ERRORS,
             summary="Requester: withdraw an open request")
def api_withdraw(rid: str, body: ReasonIn, principal: auth.Principal = Depends(auth.csrf_protect),
                 node: Node = Depends(get_node)) -> dict[str, Any]:
    auth.require_user_principal(principal)
    return rfi.withdraw(node, rid, body.reason, by=principal.name)


# -- pages ------------------------------------------------------------------------------


def _runs(node: Node) -> list[dict[str, Any]]:
    """This node's own hit/no-hit runs with hits: where a request starts."""
    import orjson

    out = []
    for (raw,) in node.store.query("SELECT raw FROM objects WHERE type = ? ORDER BY date_added DESC LIMIT 200",
                                   (rfi.MATCH_TYPE,)):
        m = orjson.loads(raw)
        if m.get("role") == "requester" and m.get("hits") and m.get("created_by_ref") == node.identity_id:
            out.append(m)
    return out


@router.get("/requests", response_class=HTMLResponse, include_in_schema=False)
def requests_page(request: Request, direction: str = "", status: str = "",
                  principal: auth.Principal = Depends(auth.require_user), node: Node = Depends(get_node)) -> Response:
    rows = rfi.list_requests(node, direction=direction or None, status=status or None)
    return page(request, "rfi_list.html", {
        "rows": rows, "direction": direction, "status": status, "runs": _runs(node),
        "statuses": (*rfi.STATUSES, "overdue"),
    }, principal=principal)


@router.get("/requests/new", response_class=HTMLResponse, include_in_schema=False)
def new_page(request: Request, match: str = "", principal: auth.Principal = Depends(auth.require_user),
             node: Node = Depends(get_node)) -> Response:
    runs = _runs(node)
    run = next((m for m in runs if m["id"] == match), None)
    if run is None:
        return RedirectResponse("/requests", status_code=303)
    return page(request, "rfi_new.html", {"run": run, "bases": rfi.LEGAL_BASES, "urgencies": rfi.URGENCIES,
                                          "error": None, "form": {}}, principal=principal)


@router.post("/requests", include_in_schema=False)
async def create_submit(request: Request, principal: auth.Principal = Depends(auth.csrf_protect),
                        node: Node = Depends(get_node)) -> Response:
    auth.require_user_principal(principal)
    form = await request.form()
    f = {k: str(form.get(k) or "") for k in ("match", "asked", "legal_basis", "legal_basis_text", "urgency",
                                             "deadline")}
    values = [str(v) for v in form.getlist("value")]
    if not values:
        raise InvalidInput("choose at least one hit to ask about", property="values")
    obj = await run_in_threadpool(
        rfi.create, node, f["match"], values, asked=f["asked"], legal_basis=f["legal_basis"],
        legal_basis_text=f["legal_basis_text"], urgency=f["urgency"] or "routine", deadline=f["deadline"],
        by=principal.name)
    return RedirectResponse(f"/requests/{obj['id']}", status_code=303)


@router.get("/requests/{rid}", response_class=HTMLResponse, include_in_schema=False)
def request_page(request: Request, rid: str, principal: auth.Principal = Depends(auth.require_user),
                 node: Node = Depends(get_node)) -> Response:
    return page(request, "rfi_request.html", {"d": rfi.detail(node, rid)}, principal=principal)


@router.post("/requests/{rid}/decision", include_in_schema=False)
async def decide_submit(request: Request, rid: str, principal: auth.Principal = Depends(auth.csrf_protect),
                        node: Node = Depends(get_node)) -> Response:
    auth.require_user_principal(principal)
    form = await request.form()
    drop: dict[str, list[str]] = {}
    for item in form.getlist("drop"):
        oid, _, prop = str(item).rpartition(":")
        drop.setdefault(oid, []).append(prop)
    decision = str(form.get("decision") or "")
    if decision == "decline":  # the approval checkboxes stay ticked on the form; they do not apply
        body = DecisionIn(decision=decision, reason=str(form.get("reason") or ""))
    else:
        body = DecisionIn(decision=decision, objects=[str(o) for o in form.getlist("object")], drop=drop,
                          reason=str(form.get("reason") or ""))
    await run_in_threadpool(_decision, node, rid, body, principal.name)
    return RedirectResponse(f"/requests/{rid}", status_code=303)


@router.post("/requests/{rid}/refresh", include_in_schema=False)
async def refresh_submit(request: Request, rid: str, principal: auth.Principal = Depends(auth.csrf_protect),
                         node: Node = Depends(get_node)) -> Response:
    auth.require_user_principal(principal)
    await run_in_threadpool(rfi.refresh, node, rid)
    return RedirectResponse(f"/requests/{rid}", status_code=303)


@router.post("/requests/{rid}/withdraw", include_in_schema=False)
async def withdraw_submit(request: Request, rid: str, principal: auth.Principal = Depends(auth.csrf_protect),
                          node: Node = Depends(get_node)) -> Response:
    auth.require_user_principal(principal)
    form = await request.form()
    await run_in_threadpool(rfi.withdraw, node, rid, str(form.get("reason") or ""), principal.name)
    return RedirectResponse(f"/requests/{rid}", status_code=303)
