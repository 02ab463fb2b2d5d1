"""An alert's evidence graph as a self-contained SVG, drawn server-side.

Accounts are nodes, payments are arrows labelled with time and amount. Accounts are laid
out left to right by when money first reaches them (so flows read forwards), spread
vertically within a column; parallel payments between the same pair bend apart.
"""

from __future__ import annotations

import math
from html import escape

from .alerts import Alert

WIDTH_PER_COLUMN = 230
ROW = 90
MARGIN = 70
NODE_R = 22


def _layout(alert: Alert) -> dict[str, tuple[float, float]]:
    txs = alert.explanation.get("evidence", {}).get("transactions", [])
    # column: accounts first seen as payers start at 0; a payee goes one column right of
    # the payer that first reached it (time order), so flows read forwards
    col: dict[str, int] = {}
    for t in txs:
        a, b = t["from"], t["to"]
        col.setdefault(a, 0)
        col.setdefault(b, col[a] + 1)
    if alert.typology == "cycle":
        # a ring reads better than columns for money coming back
        n = len(alert.accounts)
        r = max(170.0, n * 55.0)
        return {a: (MARGIN + r + r * math.cos(2 * math.pi * i / n - math.pi / 2),
                    MARGIN + r + r * math.sin(2 * math.pi * i / n - math.pi / 2))
                for i, a in enumerate(alert.accounts)}
    columns: dict[int, list[str]] = {}
    for a in alert.accounts:
        columns.setdefault(col.get(a, 0), []).append(a)
    pos: dict[str, tuple[float, float]] = {}
    tallest = max(len(v) for v in columns.values())
    for c, accts in sorted(columns.items()):
        offset = (tallest - len(accts)) * ROW / 2
        for i, a in enumerate(accts):
            pos[a] = (MARGIN + c * WIDTH_PER_COLUMN, MARGIN + offset + i * ROW)
    return pos


def evidence_svg(alert: Alert) -> str:
    txs = alert.explanation.get("evidence", {}).get("transactions", [])
    pos = _layout(alert)
    w = max(x for x, _ in pos.values()) + MARGIN + 120
    h = max(y for _, y in pos.values()) + MARGIN + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="evidence-graph" data-alert="{escape(alert.id)}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(alert.typology)} alert {escape(alert.id)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    seen: dict[tuple[str, str], int] = {}
    for t in txs:
        a, b = t["from"], t["to"]
        (x1, y1), (x2, y2) = pos[a], pos[b]
        k = seen.get((a, b), 0) + seen.get((b, a), 0)
        seen[(a, b)] = seen.get((a, b), 0) + 1
        dx, dy = x2 - x1, y2 - y1
        d = math.hypot(dx, dy) or 1.0
        ux, uy = dx / d, dy / d
        sx, sy = x1 + ux * NODE_R, y1 + uy * NODE_R
        ex, ey = x2 - ux * NODE_R, y2 - uy * NODE_R
        bend = ((k + 1) // 2) * 26 * (1 if k % 2 else -1)
        cx, cy = (sx + ex) / 2 - uy * bend, (sy + ey) / 2 + ux * bend
        when = t["time"][:16].replace("T", " ")
        amount = f"{t['amount']} {t.get('currency', '')}".strip()
        # the label sits on the outer side of the curve's midpoint, two short lines
        mx, my = (sx + 2 * cx + ex) / 4, (sy + 2 * cy + ey) / 4
        side = -1 if bend > 0 else 1
        lx, ly = mx - uy * 14 * side, my + ux * 14 * side
        parts.append(
            f'<g class="payment" data-tx="{escape(t["id"])}"><path d="M {sx:.1f} {sy:.1f} Q {cx:.1f} {cy:.1f} {ex:.1f} {ey:.1f}" '
            f'fill="none" stroke="#555" stroke-width="1.4" marker-end="url(#arrow)"/>'
            f'<text x="{lx:.1f}" y="{ly - 2:.1f}" text-anchor="middle" fill="#222" font-size="10">'
            f'<tspan x="{lx:.1f}">{escape(when)}</tspan><tspan x="{lx:.1f}" dy="12">{escape(amount)}</tspan></text>'
            f"<title>payment {escape(t['id'])}: {escape(a)} → {escape(b)}, {escape(when)}, {escape(amount)}</title></g>"
        )
    for a, (x, y) in pos.items():
        parts.append(
            f'<g class="account" data-account="{escape(a)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{NODE_R}" '
            f'fill="#e8f0fe" stroke="#1a4d8f" stroke-width="1.5"/>'
            f'<text x="{x:.1f}" y="{y + NODE_R + 13:.1f}" text-anchor="middle" fill="#1a4d8f">{escape(a)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
