"""Financial alerts in the web app: REST API under /api/finance and two pages, the alert
list and an alert's evidence (the graph drawn server-side as SVG, and the payments).

Alerts are read from the node's store (``x-grotius-alert`` objects put there by
``grotius finance analyse --home``), so a caller sees exactly the alerts its TLP allows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from grotius.exc import NotFound
from grotius.node import Node
from grotius.stix import markings
from grotius.store import objects
from grotius.store.engine import MAX_INT64
from grotius.web import auth, render
from grotius.web.api import ERRORS, get_node
from grotius.web.render import NavItem, page

from .alerts import Alert
from .export import ALERT_TYPE
from .svg import evidence_svg

router = APIRouter()
nav = [NavItem("Alerts", "/finance", 30)]
templates = str(Path(__file__).parent / "templates")


#: alerts on one page of the alert list
PER_PAGE = 50
_LATEST = "NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id AND n.version > o.version)"


def _field(node: Node, name: str) -> str:
    """SQL for one top-level property of the stored alert (its STIX JSON)."""
    if node.store.dialect == "postgresql":
        return f"(o.raw::json ->> '{name}')"
    return f"json_extract(o.raw, '$.{name}')"


def _where(principal: auth.Principal, node: Node, typology: str = "",
           min_score: float | None = None) -> tuple[str, list[Any]]:
    where, params = ["o.type = ?", _LATEST], [ALERT_TYPE]
    if principal.tlp_max is not None:
        cleared = markings.cleared(principal.tlp_max)
        where.append(f"o.tlp IN ({','.join('?' * len(cleared))})")
        params += cleared
    if typology:
        where.append(f"{_field(node, 'typology')} = ?")
        params.append(typology)
    if min_score is not None:
        where.append(f"{_score(node)} >= ?")
        params.append(min_score)
    return " AND ".join(where), params


def _score(node: Node) -> str:
    cast = "DOUBLE PRECISION" if node.store.dialect == "postgresql" else "REAL"
    return f"CAST({_field(node, 'score')} AS {cast})"


def _alerts(principal: auth.Principal, node: Node, typology: str = "", min_score: float | None = None, *,
            limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the alerts the caller may see, best first, and how many there are in all."""
    where, params = _where(principal, node, typology, min_score)
    rows = node.store.query(
        f"SELECT o.tlp, o.source, o.raw FROM objects o WHERE {where} "
        f"ORDER BY {_score(node)} DESC, o.id LIMIT ? OFFSET ?", (*params, int(limit), int(offset)))
    total = node.store.query_one(f"SELECT COUNT(*) FROM objects o WHERE {where}", params)
    return [{**objects.loads(raw), "tlp": tlp, "source": source} for tlp, source, raw in rows], int(total[0]) if total else 0


def _alert(principal: auth.Principal, node: Node, alert_id: str) -> tuple[dict[str, Any], str]:
    st = objects.get(node.store, alert_id)
    if st is None or st.type != ALERT_TYPE or (principal.tlp_max is not None and not markings.allows(principal.tlp_max, st.tlp)):
        raise NotFound(f"no alert {alert_id}", object_id=alert_id)
    return st.obj, st.tlp


def _as_alert(o: dict[str, Any]) -> Alert:
    expl = dict(o.get("explanation", {}))
    ev = dict(expl.get("evidence", {}))
    # stored STIX uses from_account/to_account/tx_id; the drawing uses the alert file's names
    ev["transactions"] = [
        {("from" if k == "from_account" else "to" if k == "to_account" else "id" if k == "tx_id" else k): v
         for k, v in t.items()}
        for t in ev.get("transactions", [])
    ]
    expl["evidence"] = ev
    return Alert(o["id"], o["typology"], o["score"], o["accounts"], o["transactions"], expl)


@router.get("/api/finance/alerts", tags=["finance"], responses=ERRORS, summary="Money-laundering alerts, best first")
def api_alerts(
    typology: str = Query("", description="only this typology, e.g. cycle"),
    min_score: float | None = Query(None, ge=0, le=1),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: auth.Principal = Depends(auth.require_principal),
    node: Node = Depends(get_node),
) -> list[dict[str, Any]]:
    return _alerts(principal, node, typology, min_score, limit=limit, offset=offset)[0]


@router.get("/api/finance/alerts/{alert_id}", tags=["finance"], responses=ERRORS, summary="One alert with its evidence")
def api_alert(alert_id: str, principal: auth.Principal = Depends(auth.require_principal),
              node: Node = Depends(get_node)) -> dict[str, Any]:
    obj, tlp = _alert(principal, node, alert_id)
    return {**obj, "tlp": tlp}


@router.get("/api/finance/alerts/{alert_id}/graph.svg", tags=["finance"], responses=ERRORS,
            summary="The alert's evidence graph as SVG")
def api_alert_svg(alert_id: str, principal: auth.Principal = Depends(auth.require_principal),
                  node: Node = Depends(get_node)) -> Response:
    obj, _ = _alert(principal, node, alert_id)
    return Response(evidence_svg(_as_alert(obj)), media_type="image/svg+xml")


@router.get("/finance", response_class=HTMLResponse, include_in_schema=False)
def alerts_page(request: Request, typology: str = "", page: int = Query(1, ge=1, le=MAX_INT64 // PER_PAGE),
                principal: auth.Principal = Depends(auth.require_principal),
                node: Node = Depends(get_node)) -> Response:
    rows, total = _alerts(principal, node, typology, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    where, params = _where(principal, node)
    typologies = sorted(t for (t,) in node.store.query(
        f"SELECT DISTINCT {_field(node, 'typology')} FROM objects o WHERE {where}", params) if t)

    def page_url(n: int) -> str:
        return "/finance?" + urlencode({**({"typology": typology} if typology else {}), "page": n})

    return render.page(request, "finance_alerts.html", {
        "rows": rows, "total": total, "typology": typology, "typologies": typologies,
        "page": page, "pages": max(1, -(-total // PER_PAGE)), "page_url": page_url,
    }, principal=principal)


@router.get("/finance/alerts/{alert_id}", response_class=HTMLResponse, include_in_schema=False)
def alert_page(request: Request, alert_id: str, principal: auth.Principal = Depends(auth.require_principal),
               node: Node = Depends(get_node)) -> Response:
    obj, tlp = _alert(principal, node, alert_id)
    alert = _as_alert(obj)
    return page(request, "finance_alert.html", {
        "a": obj, "level": tlp, "svg": Markup(evidence_svg(alert)),
        "txs": alert.explanation.get("evidence", {}).get("transactions", []),
        "features": alert.explanation.get("features", {}),
        "contributions": alert.explanation.get("score", {}).get("contributions", {}),
    }, principal=principal)
