"""Recall and precision of alerts against planted instances or labelled accounts.

An instance counts as found when one alert of its typology holds at least ``cover`` of its
transactions. An alert counts as correct when at least half of its transactions are
planted laundering (of any typology): layered patterns legitimately show up as several
typologies, e.g. the gathering half of a gather-scatter is a correct fan-in alert.
"""

from __future__ import annotations

from typing import Any

from .alerts import Alert

COVER = 0.8


def against_instances(alerts: list[Alert], instances: list[dict[str, Any]], cover: float = COVER) -> dict[str, dict[str, Any]]:
    by_tx: dict[str, list[int]] = {}
    for i, inst in enumerate(instances):
        for t in inst["transactions"]:
            by_tx.setdefault(t, []).append(i)
    found: set[int] = set()
    correct_alerts: dict[str, int] = {}
    total_alerts: dict[str, int] = {}
    for a in alerts:
        txs = set(a.transactions)
        hits: dict[int, int] = {}
        for t in txs:
            for i in by_tx.get(t, ()):
                hits[i] = hits.get(i, 0) + 1
        good = [i for i, h in hits.items() if h >= cover * len(instances[i]["transactions"])]
        total_alerts[a.typology] = total_alerts.get(a.typology, 0) + 1
        if 2 * sum(1 for t in txs if t in by_tx) >= len(txs):
            correct_alerts[a.typology] = correct_alerts.get(a.typology, 0) + 1
        found.update(i for i in good if instances[i]["typology"] == a.typology)
    out: dict[str, dict[str, Any]] = {}
    for typ in sorted({i["typology"] for i in instances} | set(total_alerts)):
        idx = [i for i, inst in enumerate(instances) if inst["typology"] == typ]
        n_found = sum(1 for i in idx if i in found)
        n_alerts = total_alerts.get(typ, 0)
        out[typ] = {
            "instances": len(idx),
            "found": n_found,
            "recall": round(n_found / len(idx), 4) if idx else None,
            "alerts": n_alerts,
            "correct_alerts": correct_alerts.get(typ, 0),
            "precision": round(correct_alerts.get(typ, 0) / n_alerts, 4) if n_alerts else None,
        }
    return out


def against_accounts(alerts: list[Alert], labels: dict[str, int]) -> dict[str, Any]:
    flagged = {a for al in alerts for a in al.accounts}
    positive = {a for a, v in labels.items() if v}
    tp = len(flagged & positive)
    return {
        "labelled_accounts": len(positive),
        "flagged_accounts": len(flagged),
        "true_positives": tp,
        "recall": round(tp / len(positive), 4) if positive else None,
        "precision": round(tp / len(flagged), 4) if flagged else None,
    }
