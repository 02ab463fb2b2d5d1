"""Resolved entities in the web app: REST under /api/match/entities and the pages
/match/entities (list) and /match/entities/{id} (members, links and their evidence).

An entity carries the TLP of its most restrictive member, so a caller who may see the
entity may see every member it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from grotius.exc import NotFound
from grotius.matching import entities
from grotius.node import Node
from grotius.web import auth
from grotius.web.api import ERRORS, get_node
from grotius.web.render import NavItem, page

router = APIRouter()
nav = [NavItem("Entities", "/match/entities", 27)]
templates = str(Path(__file__).parent / "templates")


class RunIn(BaseModel):
    threshold: float = Field(entities.DEFAULT_THRESHOLD, gt=0, lt=1, description="match probability a link needs")


def _listing(principal: auth.Principal, node: Node) -> list[dict[str, Any]]:
    return entities.listing(node, tlp_max=principal.tlp_max)


def _entity(principal: auth.Principal, node: Node, entity_id: str) -> dict[str, Any]:
    for e in _listing(principal, node):
        if e["id"] == entity_id:
            return e
    raise NotFound(f"no entity {entity_id}", object_id=entity_id)


@router.get("/api/match/entities", tags=["matching"], responses=ERRORS,
            summary="Resolved entities (person and organisation records of this node that denote one entity)")
def api_entities(principal: auth.Principal = Depends(auth.require_principal),
                 node: Node = Depends(get_node)) -> list[dict[str, Any]]:
    auth.require_user_principal(principal)
    return _listing(principal, node)


@router.post("/api/match/entities/run", tags=["matching"], responses=ERRORS,
             summary="Resolve the store's records again; returns the run report")
async def api_run(body: RunIn, principal: auth.Principal = Depends(auth.csrf_protect),
                  node: Node = Depends(get_node)) -> dict[str, Any]:
    auth.require_user_principal(principal)
    result = await run_in_threadpool(entities.run, node, body.threshold)
    return result.to_dict()


@router.get("/match/entities", response_class=HTMLResponse, include_in_schema=False)
def entities_page(request: Request, principal: auth.Principal = Depends(auth.require_principal),
                  node: Node = Depends(get_node)) -> Response:
    auth.require_user_principal(principal)
    return page(request, "entities.html", {"rows": _listing(principal, node)}, principal=principal)


@router.get("/match/entities/{entity_id}", response_class=HTMLResponse, include_in_schema=False)
def entity_page(request: Request, entity_id: str, principal: auth.Principal = Depends(auth.require_principal),
                node: Node = Depends(get_node)) -> Response:
    auth.require_user_principal(principal)
    e = _entity(principal, node, entity_id)
    names = {m["object_ref"]: m["name"] for m in e["members"]}
    return page(request, "entity.html", {"e": e, "names": names}, principal=principal)
