"""Alerts: evidence subgraph, features, score and the reasons for the score.

Everything here is computed in Python from the evidence rows the engine returns, sorted
by (time, input position), so the same rows give byte-identical alerts whatever engine
produced them. The score is a transparent sum: a base for matching the typology's
definition plus capped contributions from a few features, each listed in the explanation.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable

from .. import __version__
from .formats import format_amount
from .params import Params

#: namespace of alert ids: uuid5 over typology and sorted transaction ids
ALERT_NAMESPACE = uuid.UUID("6f0f3c39-5d7e-4f0a-9a8e-2f3c1b0d9e41")

DESCRIPTIONS = {
    "fan_in": "many accounts pay one account within a short window",
    "fan_out": "one account pays many accounts within a short window",
    "gather_scatter": "money gathered from many accounts into one and scattered from it to many",
    "scatter_gather": "one account pays several intermediaries who each pay the same destination",
    "cycle": "money returns to the account it left through a chain of time-ordered payments",
    "bipartite": "a group of accounts each pays the same group of accounts",
    "stack": "layered bipartite: recipients of one bipartite group pay on as the sources of another",
    "pass_through": "a chain of accounts each passing on most of what it received within hours",
    "structuring": "repeated payments just under a reporting threshold",
    "associates": "an account that deals with a fan-in's receiving account and shares counterparties with "
                  "several accounts of the fan-in group",
}


def associate_roles(key: str) -> tuple[str, str]:
    """(candidate, fan-in receiving account) from an associates alert key
    ``associates|<length of candidate>|<candidate><receiver>``."""
    n, rest = key.split("|", 2)[1:]
    return rest[: int(n)], rest[int(n):]


@dataclass
class Tx:
    tx_id: str
    seq: int
    src: str
    dst: str
    amount: Decimal
    currency: str
    amount_received: Decimal
    currency_received: str
    ts: int
    src_bank: str = ""
    dst_bank: str = ""
    payment_format: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.tx_id,
            "from": self.src,
            "to": self.dst,
            "amount": format_amount(self.amount),
            "currency": self.currency,
            "time": iso(self.ts),
        }
        if self.amount_received != self.amount or self.currency_received != self.currency:
            d["amount_received"] = format_amount(self.amount_received)
            d["currency_received"] = self.currency_received
        if self.src_bank or self.dst_bank:
            d["from_bank"], d["to_bank"] = self.src_bank, self.dst_bank
        if self.payment_format:
            d["payment_format"] = self.payment_format
        return d


@dataclass
class Alert:
    id: str
    typology: str
    score: float
    accounts: list[str]
    transactions: list[str]
    explanation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "typology": self.typology,
            "score": self.score,
            "accounts": self.accounts,
            "transactions": self.transactions,
            "explanation": self.explanation,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Alert":
        return cls(d["id"], d["typology"], d["score"], d["accounts"], d["transactions"], d.get("explanation", {}))


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_id(typology: str, tx_ids: Iterable[str]) -> str:
    return f"x-grotius-alert--{uuid.uuid5(ALERT_NAMESPACE, typology + '|' + ','.join(sorted(tx_ids)))}"


def _cv(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    if mean == 0:
        return 0.0
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return math.sqrt(var) / mean


def _clip(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def _features(typ: str, txs: list[Tx], params: Params, key: str = "") -> tuple[dict[str, Any], dict[str, tuple[float, float]]]:
    """Features of one alert, and per feature (strength in [0, 1], weight) for the score."""
    amounts = [float(t.amount) for t in txs]
    span = txs[-1].ts - txs[0].ts
    srcs = {t.src for t in txs}
    dsts = {t.dst for t in txs}
    f: dict[str, Any] = {"transactions": len(txs), "span_seconds": span}
    parts: dict[str, tuple[float, float]] = {}
    similarity = 1.0 - _clip(_cv(amounts))
    if typ in ("fan_in", "fan_out"):
        p = params.fan_in if typ == "fan_in" else params.fan_out
        anchor_side = dsts if typ == "fan_in" else srcs
        anchor = sorted(anchor_side)[0]
        n = len(srcs if typ == "fan_in" else dsts)
        f.update(account=anchor, counterparties=n)
        parts["counterparties"] = (_clip((n - p.min_counterparties) / max(p.min_counterparties, 1)), 0.2)
        parts["short_window"] = (_clip(1 - span / p.window), 0.15)
        parts["similar_amounts"] = (similarity, 0.15)
    elif typ == "gather_scatter":
        p1 = params.gather_scatter
        hub = sorted(srcs & dsts)[0] if srcs & dsts else ""
        ins = [t for t in txs if t.dst == hub]
        outs = [t for t in txs if t.src == hub]
        tin = sum((t.amount_received for t in ins), Decimal(0))
        tout = sum((t.amount for t in outs), Decimal(0))
        retention = float(tout / tin) if tin else 0.0
        f.update(account=hub, sources=len({t.src for t in ins}), destinations=len({t.dst for t in outs}),
                 amount_in=format_amount(tin), amount_out=format_amount(tout), passed_on=round(retention, 4))
        parts["passed_on"] = (_clip(1 - abs(1 - retention)), 0.25)
        parts["short_window"] = (_clip(1 - span / p1.window), 0.15)
        parts["counterparties"] = (_clip((min(f["sources"], f["destinations"]) - p1.min_in) / max(p1.min_in, 1)), 0.1)
    elif typ == "scatter_gather":
        p2 = params.scatter_gather
        origin = [a for a in srcs - dsts]
        target = [a for a in dsts - srcs]
        mids = (srcs & dsts)
        f.update(source=sorted(origin)[0] if origin else "", destination=sorted(target)[0] if target else "",
                 intermediaries=len(mids))
        parts["intermediaries"] = (_clip((len(mids) - p2.min_intermediaries) / max(p2.min_intermediaries, 1)), 0.2)
        parts["short_window"] = (_clip(1 - span / p2.window), 0.15)
        parts["similar_amounts"] = (similarity, 0.15)
    elif typ == "cycle":
        p3 = params.cycle
        retention = float(txs[-1].amount / txs[0].amount_received) if txs[0].amount_received else 0.0
        f.update(hops=len(txs), passed_on=round(retention, 4))
        parts["passed_on"] = (_clip(1 - abs(1 - retention)), 0.25)
        parts["short_window"] = (_clip(1 - span / p3.window), 0.15)
        parts["hops"] = (_clip((len(txs) - 2) / max(p3.max_hops - 2, 1)), 0.1)
    elif typ in ("bipartite", "stack"):
        pb = params.bipartite
        f.update(sources=len(srcs - dsts), destinations=len(dsts - srcs), intermediate=len(srcs & dsts))
        pairs = {(t.src, t.dst) for t in txs}
        ns, nd = len(srcs), len(dsts)
        density = len(pairs) / (ns * nd) if ns and nd else 0.0
        if typ == "stack":
            layers = (len(srcs - dsts) * len(srcs & dsts)) + (len(srcs & dsts) * len(dsts - srcs))
            density = len(pairs) / layers if layers else 0.0
        f["density"] = round(density, 4)
        parts["density"] = (_clip(density), 0.25)
        parts["short_window"] = (_clip(1 - span / pb.window), 0.1)
        parts["similar_amounts"] = (similarity, 0.15)
    elif typ == "pass_through":
        pp = params.pass_through
        retention = float(txs[-1].amount / txs[0].amount_received) if txs[0].amount_received else 0.0
        delays = [b.ts - a.ts for a, b in zip(txs, txs[1:])]
        f.update(length=len(txs), passed_on=round(retention, 4), longest_stay_seconds=max(delays) if delays else 0)
        parts["passed_on"] = (_clip(1 - abs(1 - retention)), 0.2)
        parts["fast"] = (_clip(1 - (max(delays) if delays else 0) / pp.max_delay), 0.15)
        parts["length"] = (_clip((len(txs) - pp.min_length) / max(pp.max_length - pp.min_length, 1)), 0.15)
    elif typ == "structuring":
        ps = params.structuring
        thr = float(ps.threshold)
        band = thr * float(ps.margin)
        near = sum(1 - (thr - a) / band for a in amounts) / len(amounts) if band else 1.0
        f.update(account=sorted(srcs)[0], threshold=format_amount(ps.threshold), nearness=round(near, 4))
        parts["near_threshold"] = (_clip(near), 0.2)
        parts["repeats"] = (_clip((len(txs) - ps.min_transactions) / max(ps.min_transactions, 1)), 0.2)
        parts["recipients"] = (_clip(1 - (len(dsts) - 1) / len(txs)), 0.1)
    elif typ == "associates":
        pa = params.associates
        x, anchor = associate_roles(key)
        with_anchor = sum(1 for t in txs if {t.src, t.dst} == {x, anchor})
        shared = sorted({t.dst if t.src == x else t.src for t in txs if x in (t.src, t.dst)} - {anchor})
        reach = {h: len({t.dst if t.src == h else t.src for t in txs if h in (t.src, t.dst)} - {x}) for h in shared}
        best = max(reach.values(), default=0)
        f.update(account=x, fan_in_account=anchor, shared_counterparties=shared, payments_with_fan_in_account=with_anchor,
                 group_accounts_reached=best)
        parts["shared_counterparties"] = (_clip((len(shared) - 1) / 2), 0.2)
        parts["group_reach"] = (_clip((best - pa.min_shared) / max(pa.min_shared, 1)), 0.15)
        parts["repeated_with_receiver"] = (_clip((with_anchor - 1) / 2), 0.15)
    total = Decimal(0)
    for t in txs:
        total += t.amount
    currencies = sorted({t.currency for t in txs})
    f.update(accounts=len(srcs | dsts), total_amount=format_amount(total), currencies=currencies)
    return f, parts


BASE_SCORE = 0.5


def build_alert(
    typ: str, txs: list[Tx], params: Params, engine: str, engine_version: str, input_format: str = "", key: str = ""
) -> Alert:
    """``key`` is the detector's name for the alert in this run (it carries the roles of
    accounts where the evidence alone does not)."""
    txs = sorted(txs, key=lambda t: (t.ts, t.seq))
    features, parts = _features(typ, txs, params, key)
    contributions = {k: round(s * w, 4) for k, (s, w) in parts.items()}
    score = round(min(1.0, BASE_SCORE + sum(contributions.values())), 4)
    accounts: list[str] = []
    for t in txs:
        for a in (t.src, t.dst):
            if a not in accounts:
                accounts.append(a)
    tx_ids = [t.tx_id for t in txs]
    drivers = sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))
    explanation = {
        "pattern": DESCRIPTIONS[typ],
        "evidence": {
            "accounts": accounts,
            "transactions": [t.to_dict() for t in txs],
            "first_time": iso(txs[0].ts),
            "last_time": iso(txs[-1].ts),
        },
        "features": features,
        "score": {
            "base": BASE_SCORE,
            "contributions": contributions,
            "drivers": [k for k, v in drivers if v > 0],
        },
        "parameters": _params_for(typ, params),
        "input_format": input_format,
        "engine": engine,
        "engine_version": engine_version,
        "grotius_version": __version__,
    }
    return Alert(alert_id(typ, tx_ids), typ, score, accounts, tx_ids, explanation)


def _params_for(typ: str, params: Params) -> dict[str, Any]:
    d = params.to_dict()
    if typ == "stack":
        return {"stack": d["stack"], "bipartite": d["bipartite"]}
    if typ == "associates":
        return {"associates": d["associates"], "fan_in": d["fan_in"]}
    return d[typ]


def _rank(alerts: list[Alert], members: Callable[[Alert], Iterable[str]]) -> list[tuple[str, float, int, list[str]]]:
    """Items by combined score 1 - prod(1 - s) over the alerts they appear in."""
    acc: dict[str, list[Alert]] = {}
    for a in alerts:
        for x in members(a):
            acc.setdefault(x, []).append(a)
    rows = []
    for x, al in acc.items():
        miss = 1.0
        for a in al:
            miss *= 1 - a.score
        rows.append((x, round(1 - miss, 4), len(al), sorted({a.typology for a in al})))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def rank_accounts(alerts: list[Alert]) -> list[tuple[str, float, int, list[str]]]:
    return _rank(alerts, lambda a: a.accounts)


def rank_transactions(alerts: list[Alert]) -> list[tuple[str, float, int, list[str]]]:
    return _rank(alerts, lambda a: a.transactions)
