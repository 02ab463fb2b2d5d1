"""REST endpoints of matching: the holder side of the PSI exchange (binary frames) and
the node's own view of past runs. Partners authenticate like TAXII clients."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from grotius.exc import Forbidden, InvalidInput
from grotius.matching import exchange
from grotius.sharing import partners
from grotius.web import auth

router = APIRouter(prefix="/api/match")
BINARY = "application/octet-stream"
MAX_FRAME = 64 * 1024 * 1024


PSI_PATH = "/api/match/psi/"


def setup(app: FastAPI) -> None:
    if partners.resolver not in auth.RESOLVERS:
        auth.RESOLVERS.insert(0, partners.resolver)
    # partner accounts authenticate only where a path polices them itself (TAXII, and
    # these PSI endpoints, which disclose no object: only masked points)
    if PSI_PATH not in partners.PARTNER_PATHS:
        partners.PARTNER_PATHS = (*partners.PARTNER_PATHS, PSI_PATH)


def _partner(request: Request) -> str:
    p = auth.require_principal(request)
    if p.kind != "partner":
        raise Forbidden("matching sessions are opened by partner nodes", principal=p.name)
    return p.name


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_FRAME:
        raise InvalidInput("frame too large", length=len(body), limit=MAX_FRAME)
    return body


@router.post("/psi/sessions")
async def start(request: Request) -> Response:
    node = request.app.state.node
    partner = _partner(request)
    out = await run_in_threadpool(exchange.holder_start, node, partner, await _body(request))
    return Response(out, media_type=BINARY)


@router.post("/psi/sessions/{sid}/masked")
async def answer(request: Request, sid: str) -> Response:
    node = request.app.state.node
    partner = _partner(request)
    out = await run_in_threadpool(exchange.holder_answer, node, partner, sid, await _body(request))
    return Response(out, media_type=BINARY)


@router.get("/psi/sessions/{sid}/masked")
async def masked(request: Request, sid: str, offset: int = 0) -> Response:
    node = request.app.state.node
    partner = _partner(request)
    out = await run_in_threadpool(exchange.holder_masked, node, partner, sid, offset)
    return Response(out, media_type=BINARY)


@router.post("/psi/sessions/{sid}/answers")
async def answers(request: Request, sid: str) -> dict[str, Any]:
    node = request.app.state.node
    partner = _partner(request)
    return await run_in_threadpool(exchange.holder_answers, node, partner, sid, await _body(request))


@router.get("/runs")
def runs(request: Request, limit: int = 50) -> list[dict[str, Any]]:
    """This node's matching runs (both roles), newest first; counts only."""
    auth.require_user(request)
    rows = request.app.state.node.store.query(
        "SELECT rid, session, partner, role, started_us, size, peer_size, hits, status "
        "FROM matching_runs ORDER BY rid DESC LIMIT ?",
        (max(1, min(limit, 500)),),
    )
    keys = ("rid", "session", "partner", "role", "started_us", "size", "peer_size", "hits", "status")
    return [dict(zip(keys, r)) for r in rows]
