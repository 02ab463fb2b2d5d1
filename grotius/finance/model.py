"""A learned transaction score on graph features, evaluated with the AMLworld protocol.

Features per payment (computed in the same portable SQL on either engine, after the
detectors ran): amount, hour, payment format, currency change, bank change, daily fan-in
and fan-out of both ends, the payer's incoming and the payee's outgoing activity that
day (pass-through), and one flag per typology detector that put the payment in an alert.
The model is scikit-learn's HistGradientBoostingClassifier (no GPU, no C++ library of our
own). Protocol (Altman et al., AMLworld): payments ordered by time, first 60 % train, next
20 % validation (picks the decision threshold), last 20 % test; the reported number is
the F1 of the laundering (minority) class on the test part.
"""

from __future__ import annotations

import math
from typing import Any

from ..exc import ConfigError, InvalidInput
from .engines import Engine
from .params import TYPOLOGIES

BASE_FEATURES = (
    "log_amount", "hour", "format", "currency_change", "bank_change",
    "src_out_n", "src_out_k", "dst_in_n", "dst_in_k", "src_in_n", "dst_out_n", "src_total", "dst_total",
)


def feature_rows(engine: Engine, typologies: tuple[str, ...]) -> tuple[list[str], list[list[float]], list[int], list[str]]:
    """(feature names, rows, labels, tx ids) ordered by time."""
    day = "CAST(floor(ts / 86400) AS BIGINT)"
    engine.create("fx_d", f"SELECT tx_id, src, dst, ts, {day} AS d FROM tx")
    engine.create("fx_so", "SELECT src AS acct, d, count(*) AS n, count(DISTINCT dst) AS k FROM fx_d GROUP BY src, d")
    engine.create("fx_di", "SELECT dst AS acct, d, count(*) AS n, count(DISTINCT src) AS k FROM fx_d GROUP BY dst, d")
    engine.create("fx_tot", "SELECT acct, count(*) AS n FROM (SELECT src AS acct FROM tx UNION ALL SELECT dst AS acct FROM tx) x GROUP BY acct")
    flags = ", ".join(f"CASE WHEN f_{t}.tx_id IS NULL THEN 0 ELSE 1 END AS f_{t}" for t in typologies)
    joins = " ".join(f"LEFT JOIN (SELECT DISTINCT tx_id FROM m_{t}) f_{t} ON f_{t}.tx_id = t.tx_id" for t in typologies)
    rows = engine.fetch(
        "SELECT t.tx_id, t.label, CAST(t.amount AS DOUBLE), CAST(floor((t.ts % 86400) / 3600) AS BIGINT), t.payment_format, "
        "CASE WHEN t.currency = t.currency_received THEN 0 ELSE 1 END, CASE WHEN t.src_bank = t.dst_bank THEN 0 ELSE 1 END, "
        "coalesce(so.n, 0), coalesce(so.k, 0), coalesce(di.n, 0), coalesce(di.k, 0), "
        "coalesce(si.n, 0), coalesce(dout.n, 0), coalesce(ts_.n, 0), coalesce(td.n, 0)"
        + (", " + flags if flags else "")
        + " FROM tx t JOIN fx_d x ON x.tx_id = t.tx_id "
        "LEFT JOIN fx_so so ON so.acct = t.src AND so.d = x.d "
        "LEFT JOIN fx_di di ON di.acct = t.dst AND di.d = x.d "
        "LEFT JOIN fx_di si ON si.acct = t.src AND si.d = x.d "
        "LEFT JOIN fx_so dout ON dout.acct = t.dst AND dout.d = x.d "
        "LEFT JOIN fx_tot ts_ ON ts_.acct = t.src LEFT JOIN fx_tot td ON td.acct = t.dst "
        + joins
        + " ORDER BY t.ts, t.seq"
    )
    formats: dict[str, int] = {}
    X: list[list[float]] = []
    y: list[int] = []
    ids: list[str] = []
    for r in rows:
        if r[1] not in ("0", "1"):
            raise InvalidInput(f"transaction {r[0]} has no laundering label; training needs labelled data")
        code = formats.setdefault(r[4] or "", len(formats))
        X.append([math.log1p(float(r[2])), float(r[3]), float(code), *(float(v) for v in r[5:])])
        y.append(int(r[1]))
        ids.append(r[0])
    names = [*BASE_FEATURES, *(f"in_{t}" for t in typologies)]
    return names, X, y, ids


def _f1(y: Any, p: Any, thr: float) -> tuple[float, float, float]:
    pred = p >= thr
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return f1, prec, rec


def train_and_evaluate(engine: Engine, typologies: tuple[str, ...] = TYPOLOGIES, seed: int = 0) -> dict[str, Any]:
    try:
        import numpy as np
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:
        raise ConfigError("training needs scikit-learn: install grotius[finance-ml]") from None
    names, X, y, _ids = feature_rows(engine, typologies)
    n = len(y)
    a, b = int(n * 0.6), int(n * 0.8)
    if sum(y[:a]) == 0 or sum(y[a:b]) == 0 or sum(y[b:]) == 0:
        raise InvalidInput("each of the temporal train/validation/test parts needs laundering examples")
    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y)
    clf = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.08, max_leaf_nodes=63, class_weight="balanced",
        categorical_features=[names.index("format")], random_state=seed,
    )
    from threadpoolctl import threadpool_limits

    # OpenMP threads spin while waiting; on a shared machine one thread is faster and steadier
    with threadpool_limits(limits=1):
        clf.fit(Xa[:a], ya[:a])
        pv = clf.predict_proba(Xa[a:b])[:, 1]
        pt = clf.predict_proba(Xa[b:])[:, 1]
    yv, yt = ya[a:b], ya[b:]
    grid = np.unique(np.quantile(pv, np.linspace(0.5, 1.0, 401)))
    thr = float(max(grid, key=lambda t: (_f1(yv, pv, t)[0], -t))) if len(grid) else 0.5
    vf, vp, vr = _f1(yv, pv, thr)
    tf, tp, tr = _f1(yt, pt, thr)
    return {
        "protocol": "temporal 60/20/20 split by time; threshold chosen on validation; minority-class F1 on test",
        "model": "sklearn HistGradientBoostingClassifier(class_weight=balanced)",
        "features": names,
        "transactions": {"train": a, "validation": b - a, "test": n - b},
        "laundering": {"train": int(sum(y[:a])), "validation": int(sum(y[a:b])), "test": int(sum(y[b:]))},
        "threshold": round(thr, 6),
        "validation": {"f1": round(vf, 4), "precision": round(vp, 4), "recall": round(vr, 4)},
        "test": {"f1": round(tf, 4), "precision": round(tp, 4), "recall": round(tr, 4)},
    }
