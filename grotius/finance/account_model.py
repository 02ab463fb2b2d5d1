"""A learned account score from graph features, evaluated out of fold.

For data labelled per account (AMLSim ``nodes.csv`` ``isFraud``), every account gets
features from the payment graph and from the detectors' alerts, and a gradient-boosting
model is evaluated by stratified k-fold cross-validation: each account's score comes
from the model of the one fold that did not train on it, so the precision-recall curve
and the operating points are honest estimates. Labels are only ever the target: no
feature reads an account's own label, another account's label or AMLSim's ``fraudStep``.

The engine computes one aggregate per ordered pair of accounts (payments, total, smallest
amount); everything else is computed here with numpy/scipy from that table and from the
alerts, which both engines produce identically, so the features do not depend on the
engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from ..exc import ConfigError, InvalidInput
from .alerts import Alert
from .engines import Engine

FOLDS = 5
RECALL_TARGET = 0.95
PRECISION_TARGET = 0.9
#: chosen on the AMLSim example (docs/finance.md): shallow trees, no early stopping
MODEL_PARAMS: dict[str, Any] = {
    "max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 40, "early_stopping": False,
}

FEATURES: dict[str, str] = {
    "out_n": "payments made",
    "in_n": "payments received",
    "out_k": "distinct payees",
    "in_k": "distinct payers",
    "deg": "distinct counterparties",
    "imb_k": "distinct payees minus distinct payers",
    "imb_n": "payments made minus payments received",
    "min_out": "smallest payment made",
    "min_in": "smallest payment received",
    "mean_amt": "mean amount of all its payments",
    "tri": "triangles: pairs of its counterparties that deal with each other",
    "maxsup": "most counterparties shared with one counterparty",
    "sup2": "counterparties sharing at least two counterparties with it",
    "mut": "counterparties it both pays and is paid by",
    "nb_tri": "counterparties that are in a triangle",
    "nb_mut": "counterparties with a two-way relation",
    "nb_maxtri": "most triangles of one counterparty",
    "nb_deg_mean": "mean number of counterparties of its counterparties",
    "in_sup": "payers that share a counterparty with it",
    "out_sup": "payees that share a counterparty with it",
    "flagged": "in any detector alert",
    "is_receiver": "receiving account of a fan-in alert",
    "nb_flag": "counterparties in alerts",
    "nb_flag_share": "share of its counterparties in alerts",
    "nb_flag_w": "counterparties in alerts, each weighted by 1 / its number of counterparties",
    "two_flag": "paths of two steps to accounts in alerts",
    "tri_flag": "triangles with a counterparty through an account in an alert",
    "maxsup_flag": "most alerted accounts shared with one counterparty",
    "nb_flag_sup": "counterparties in alerts that share a counterparty with it",
    "nb_recv": "counterparties that receive a fan-in",
    "pays_recv": "fan-in receivers it pays",
    "paid_by_recv": "fan-in receivers that pay it",
    "max_reach": "most accounts of one fan-in group among its counterparties",
    "max_reach_frac": "largest share of one fan-in group among its counterparties",
    "h_reach": "most accounts of one fan-in group reached by one of its counterparties",
    "h_reach_with_recv": "as h_reach, for groups whose receiver it deals with, not counting the receiver",
    "min_gsize_near": "smallest fan-in group whose receiver it deals with",
    "ppr_flag": "personalised PageRank from the accounts in alerts (x accounts)",
    "ppr_recv": "personalised PageRank from the fan-in receivers (x accounts)",
}


@dataclass
class Graph:
    """Accounts 0..N-1 and one row per ordered pair (src != dst) with payments."""

    accounts: list[str]
    src: Any  # numpy int arrays / float arrays, one entry per pair
    dst: Any
    n: Any
    total: Any
    smallest: Any


def pair_table(engine: Engine, extra_accounts: Iterable[str] = ()) -> Graph:
    import numpy as np

    rows = engine.fetch(
        "SELECT src, dst, count(*), CAST(sum(amount) AS DOUBLE), CAST(min(amount) AS DOUBLE) "
        "FROM tx WHERE src <> dst GROUP BY src, dst ORDER BY src, dst"
    )
    names = sorted({r[0] for r in rows} | {r[1] for r in rows} | set(extra_accounts))
    ix = {a: i for i, a in enumerate(names)}
    return Graph(
        names,
        np.array([ix[r[0]] for r in rows], dtype=np.int64),
        np.array([ix[r[1]] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.float64),
        np.array([r[4] for r in rows], dtype=np.float64),
    )


def account_features(g: Graph, alerts: list[Alert]) -> tuple[list[str], Any]:
    """(feature names, matrix with one row per account of ``g``)."""
    import numpy as np
    import scipy.sparse as sp

    N = len(g.accounts)
    ix = {a: i for i, a in enumerate(g.accounts)}
    F: dict[str, Any] = {}

    def per(idx: Any, w: Any = None) -> Any:
        return np.bincount(idx, weights=w, minlength=N).astype(np.float64)

    A = sp.csr_matrix((np.ones(len(g.src)), (g.src, g.dst)), shape=(N, N))
    U = ((A + A.T) > 0).astype(np.float64).tocsr()
    deg = np.asarray(U.sum(1)).ravel()
    deg1 = np.maximum(deg, 1)
    F["out_n"], F["in_n"] = per(g.src, g.n), per(g.dst, g.n)
    F["out_k"], F["in_k"], F["deg"] = per(g.src), per(g.dst), deg
    F["imb_k"], F["imb_n"] = F["out_k"] - F["in_k"], F["out_n"] - F["in_n"]
    for name, idx in (("min_out", g.src), ("min_in", g.dst)):
        m = np.full(N, np.inf)
        np.minimum.at(m, idx, g.smallest)
        F[name] = np.where(np.isinf(m), np.nan, m)  # no payment: missing, not zero
    F["mean_amt"] = (per(g.src, g.total) + per(g.dst, g.total)) / np.maximum(F["out_n"] + F["in_n"], 1)

    C = (U @ U).multiply(U).tocsr()  # per edge: counterparties the two share
    F["tri"] = np.asarray(C.sum(1)).ravel() / 2
    F["maxsup"] = _rowmax(C)
    F["sup2"] = np.asarray((C >= 2).sum(1)).ravel().astype(np.float64)
    F["mut"] = np.asarray(A.multiply(A.T).sum(1)).ravel()
    F["nb_tri"], F["nb_mut"] = U @ (F["tri"] > 0), U @ (F["mut"] > 0)
    F["nb_maxtri"] = _rowmax(U @ sp.diags(F["tri"]))
    F["nb_deg_mean"] = (U @ deg) / deg1
    shared = (C > 0).astype(np.float64)
    F["in_sup"] = np.asarray(shared.multiply(A.T).sum(1)).ravel()
    F["out_sup"] = np.asarray(shared.multiply(A).sum(1)).ravel()

    flag = np.zeros(N)
    receiver = np.zeros(N)
    groups: list[tuple[int, list[int]]] = []
    for a in alerts:
        members = [ix[x] for x in a.accounts if x in ix]
        flag[members] = 1
        if a.typology == "fan_in":
            m = ix.get(str(a.explanation.get("features", {}).get("account")))
            if m is not None:
                receiver[m] = 1
                groups.append((m, sorted(set(members))))
    F["flagged"], F["is_receiver"] = flag, receiver
    F["nb_flag"] = U @ flag
    F["nb_flag_share"] = F["nb_flag"] / deg1
    F["nb_flag_w"] = U @ (flag / deg1)
    F["two_flag"] = U @ (U @ flag)
    Tf = (U @ sp.diags(flag) @ U).multiply(U).tocsr()
    F["tri_flag"] = np.asarray(Tf.sum(1)).ravel()
    F["maxsup_flag"] = _rowmax(Tf)
    F["nb_flag_sup"] = np.asarray(((Tf + C) > 0).multiply(U.multiply(flag[None, :])).sum(1)).ravel()
    F["nb_recv"], F["pays_recv"], F["paid_by_recv"] = U @ receiver, A @ receiver, A.T @ receiver
    F.update(_group_reach(U, groups, N))
    P = sp.diags(1 / deg1) @ U
    for name, seed in (("ppr_flag", flag), ("ppr_recv", receiver)):
        F[name] = _ppr(P, seed) * N
    names = list(FEATURES)
    return names, np.column_stack([np.asarray(F[k], dtype=np.float64) for k in names])


def _rowmax(M: Any) -> Any:
    import numpy as np

    return np.asarray(M.max(1).todense()).ravel().astype(np.float64)


def _ppr(P: Any, seed: Any, alpha: float = 0.15, steps: int = 30) -> Any:
    import numpy as np

    if not seed.sum():
        return np.zeros(len(seed))
    r0 = seed / seed.sum()
    r = r0.copy()
    for _ in range(steps):
        r = alpha * r0 + (1 - alpha) * (P.T @ r)
    return r


def _group_reach(U: Any, groups: list[tuple[int, list[int]]], N: int) -> dict[str, Any]:
    """How much of one fan-in group an account, or one of its counterparties, deals with.

    AMLSim draws a group's accounts from one account's neighbourhood, so members whose
    laundering payments are not visible still share counterparties with the group."""
    import numpy as np
    import scipy.sparse as sp

    out = {k: np.zeros(N) for k in ("max_reach", "max_reach_frac", "h_reach", "h_reach_with_recv")}
    out["min_gsize_near"] = np.full(N, np.nan)
    if not groups:
        return out
    k = len(groups)
    rows = [x for _, g in groups for x in g]
    cols = [j for j, (_, g) in enumerate(groups) for _ in g]
    G = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(N, k))
    size = np.maximum(np.asarray(G.sum(0)).ravel(), 1)
    recv = np.array([m for m, _ in groups])
    R = (U @ G).tocsr()  # accounts of group j among x's counterparties
    out["max_reach"] = _rowmax(R)
    out["max_reach_frac"] = _rowmax(R @ sp.diags(1 / size))
    near = (U @ sp.csr_matrix((np.ones(k), (recv, np.arange(k))), shape=(N, k))).tolil().rows
    Rl = R.tolil()
    reach = [dict(zip(Rl.rows[i], Rl.data[i])) for i in range(N)]
    Ul = U.tolil().rows
    for x in range(N):
        best = best_m = 0.0
        mine = set(near[x])
        for h in Ul[x]:
            for j, c in reach[h].items():
                best = max(best, c)
                if j in mine and h != recv[j]:
                    best_m = max(best_m, c)
        out["h_reach"][x], out["h_reach_with_recv"][x] = best, best_m
        if mine:
            out["min_gsize_near"][x] = min(size[j] for j in mine)
    return out


def fold_of(y: Any, folds: int = FOLDS, seed: int = 0) -> Any:
    """Stratified fold number of each account (the same data and seed give the same folds)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    fold = np.full(len(y), -1, dtype=np.int64)
    for f, (_, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        fold[test] = f
    return fold


def out_of_fold(X: Any, y: Any, fold: Any, seed: int = 0) -> tuple[Any, Any, list[Any]]:
    """(scores, contributions, training index sets): each account scored by the model of
    the one fold that left it out. A contribution is how much the model's log-odds drop
    when that feature is set to its median over all accounts (positive: the value raised
    the score); log-odds, because near a score of 1 probabilities hardly move."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    scores = np.zeros(len(y))
    contrib = np.zeros(X.shape)
    trained_on: list[Any] = []
    median = np.nanmedian(X, axis=0)
    # OpenMP threads spin while waiting; on a shared machine one thread is faster and steadier
    with threadpool_limits(limits=1):
        for f in range(int(fold.max()) + 1):
            train, test = np.where(fold != f)[0], np.where(fold == f)[0]
            trained_on.append(train)
            clf = HistGradientBoostingClassifier(random_state=seed, **MODEL_PARAMS).fit(X[train], y[train])
            scores[test] = clf.predict_proba(X[test])[:, 1]
            contrib[test] = contributions(clf, X[test], median)
    return scores, contrib, trained_on


def fit_all(X: Any, y: Any, seed: int = 0) -> Any:
    """The model to apply to new data: the same settings, fitted on every labelled account."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return HistGradientBoostingClassifier(random_state=seed, **MODEL_PARAMS).fit(X, y)


def contributions(clf: Any, Xt: Any, median: Any) -> Any:
    """Per account and feature: the model's log-odds minus its log-odds with that feature
    set to ``median`` (positive: the value raised the score)."""
    import numpy as np

    contrib = np.zeros(Xt.shape)
    logit = clf.decision_function(Xt)
    for j in range(Xt.shape[1]):
        if np.isnan(median[j]):
            continue
        Xj = Xt.copy()
        Xj[:, j] = median[j]
        contrib[:, j] = logit - clf.decision_function(Xj)
    return contrib


def drivers(names: list[str], x: Any, c: Any) -> str:
    """The (at most three) features that raised one account's score most: ``name=value (+c)``."""
    import numpy as np

    top = [j for j in np.argsort(-c, kind="stable")[:3] if c[j] > 0]
    return "; ".join(f"{names[j]}={_num(x[j])} ({c[j]:+.2f})" for j in top)


def curve(y: Any, scores: Any) -> list[dict[str, float]]:
    """Precision and recall when flagging every account scoring at least each threshold."""
    import numpy as np

    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], np.cumsum(y[order])
    positives = max(int(y.sum()), 1)
    last = np.r_[s[1:] != s[:-1], True]  # a threshold flags all accounts tied at it
    out = []
    prev_tp = -1
    for i in np.where(last)[0]:
        if t[i] == prev_tp:
            continue
        prev_tp = int(t[i])
        out.append({"threshold": float(s[i]), "flagged": int(i + 1), "true_positives": int(t[i]),
                    "precision": round(float(t[i] / (i + 1)), 6), "recall": round(float(t[i] / positives), 6)})
    return out


def operating_points(points: list[dict[str, float]]) -> dict[str, dict[str, float] | None]:
    at_recall = next((p for p in points if p["recall"] >= RECALL_TARGET), None)
    precise = [p for p in points if p["precision"] >= PRECISION_TARGET]
    return {
        f"recall>={RECALL_TARGET}": at_recall,  # the highest threshold that reaches the recall
        f"precision>={PRECISION_TARGET}": max(precise, key=lambda p: p["recall"]) if precise else None,
    }


def train_accounts(
    engine: Engine, alerts: list[Alert], labels: dict[str, int], seed: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(evaluation, one row per labelled account with its out-of-fold score and drivers,
    the model fitted on all labelled accounts as an ``account_file`` bundle)."""
    try:
        import numpy as np
        from sklearn.metrics import average_precision_score
    except ImportError:
        raise ConfigError("training needs scikit-learn: install grotius[finance-ml]") from None
    accounts = sorted(labels)
    y = np.array([1 if labels[a] else 0 for a in accounts])
    if y.sum() < FOLDS or (len(y) - y.sum()) < FOLDS:
        raise InvalidInput(f"account training needs at least {FOLDS} labelled and {FOLDS} unlabelled accounts "
                           f"(have {int(y.sum())} and {int(len(y) - y.sum())})")
    g = pair_table(engine, accounts)
    names, Xall = account_features(g, alerts)
    row = {a: i for i, a in enumerate(g.accounts)}
    X = Xall[[row[a] for a in accounts]]
    fold = fold_of(y, FOLDS, seed)
    scores, contrib, _ = out_of_fold(X, y, fold, seed)
    points = curve(y, scores)
    alerted = {x for a in alerts for x in a.accounts}
    rows = [{"account": a, "score": float(scores[i]), "fold": int(fold[i]), "label": int(y[i]),
             "in_alert": int(a in alerted), "drivers": drivers(names, X[i], contrib[i])}
            for i, a in enumerate(accounts)]
    evaluation = {
        "protocol": f"stratified {FOLDS}-fold cross-validation over labelled accounts; every account scored "
                    "by the model of the fold that did not train on it",
        "model": "sklearn HistGradientBoostingClassifier(" + ", ".join(f"{k}={v}" for k, v in MODEL_PARAMS.items()) + ")",
        "features": {k: FEATURES[k] for k in names},
        "accounts": len(y), "positives": int(y.sum()), "folds": FOLDS, "seed": seed,
        "average_precision": round(float(average_precision_score(y, scores)), 4),
        "operating_points": operating_points(points),
        "pr_curve": points,
    }
    from .account_file import bundle

    model = bundle(fit_all(X, y, seed), names, np.nanmedian(X, axis=0), evaluation)
    return evaluation, rows, model


def _num(v: float) -> str:
    if math.isnan(v):
        return "none"
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"
