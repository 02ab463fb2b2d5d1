"""Financial alerts in the web app: REST API under /api/finance and two pages, the alert
list and an alert's evidence (the graph drawn server-side as SVG, and the payments).

Alerts are read from the node's store (``x-grotius-alert`` objects put there by
``grotius finance analyse --home``), so a caller sees exactly the alerts its TLP allows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from grotius.exc import NotFound
from grotius.node import Node
from grotius.stix import markings
from grotius.store import objects
from grotius.web import auth
from grotius.web.api import ERRORS, get_node
from grotius.web.render import NavItem, page

from .alerts import Alert
from .export import ALERT_TYPE
from .svg import evidence_svg

router = APIRouter()
nav = [NavItem("Alerts", "/finance", 30)]
templates = str(Path(__file__).parent / "templates")


def _alerts(principal: auth.Principal, node: Node, typology: str = "", min_score: float | None = None) -> list[dict[str, Any]]:
    out = []
    for st in objects.iter_objects(node.store, types=(ALERT_TYPE,), tlp_max=principal.tlp_max, latest_only=True):
        o = st.obj
        if typology and o.get("typology") != typology:
            continue
        if min_score is not None and float(o.get("score", 0)) < min_score:
            continue
        out.append({**o, "tlp": st.tlp, "source": st.source})
    out.sort(key=lambda o: (-float(o.get("score", 0)), o["id"]))
    return out


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
    return _alerts(principal, node, typology, min_score)[offset: offset + limit]


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
def alerts_page(request: Request, typology: str = "", principal: auth.Principal = Depends(auth.require_principal),
                node: Node = Depends(get_node)) -> Response:
    rows = _alerts(principal, node, typology)
    typologies = sorted({r["typology"] for r in _alerts(principal, node)})
    return page(request, "finance_alerts.html", {"rows": rows[:500], "total": len(rows), "typology": typology,
                                                 "typologies": typologies}, principal=principal)


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
