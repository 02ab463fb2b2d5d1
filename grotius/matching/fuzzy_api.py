"""The holder side of the fuzzy (encoded names) exchange, for partner nodes:
``POST /api/match/fuzzy/queries`` (JSON, see :mod:`grotius.matching.fuzzy`). Partners
authenticate like TAXII clients; the path discloses no object, only which of the
partner's own encoded entries matched."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from grotius.matching import fuzzy
from grotius.matching.api import _body, _partner
from grotius.sharing import partners
from grotius.web import auth

router = APIRouter(prefix=fuzzy.PREFIX)
FUZZY_PATH = fuzzy.PREFIX + "/"


def setup(app: FastAPI) -> None:
    if partners.resolver not in auth.RESOLVERS:
        auth.RESOLVERS.insert(0, partners.resolver)
    if FUZZY_PATH not in partners.PARTNER_PATHS:
        partners.PARTNER_PATHS = (*partners.PARTNER_PATHS, FUZZY_PATH)


@router.post("/queries", tags=["matching"], summary="A partner's encoded names: which of them match here")
async def queries(request: Request) -> dict[str, Any]:
    node = request.app.state.node
    partner = _partner(request)
    return await run_in_threadpool(fuzzy.holder_query, node, partner, await _body(request))
