"""The trained account score as a file, and scoring new, unlabelled accounts with it.

``analyse --labels … --train`` saves the model fitted on all labelled accounts with what
it needs to be applied elsewhere: the feature names (a file from another Grotius version
whose features differ is refused, never silently misread), the medians that drivers are
measured against, and the thresholds of the out-of-fold operating points, so that
"flagged at recall>=0.95" means the same threshold wherever the model travels.

The file is a joblib pickle: loading it runs code, so it must be a local artifact the
analyst trained, never a file received from a partner (docs/finance.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..exc import ConfigError, InvalidInput, NotFound
from .alerts import Alert
from .engines import Engine

KIND = "grotius-account-model"
FILE_VERSION = 1
FILE_NAME = "account_model.joblib"


def bundle(clf: Any, names: list[str], median: Any, evaluation: dict[str, Any]) -> dict[str, Any]:
    import sklearn

    from .. import __version__

    return {
        "kind": KIND, "file_version": FILE_VERSION, "grotius_version": __version__,
        "sklearn_version": sklearn.__version__, "features": list(names), "model": clf,
        "median": [float(v) for v in median],
        "trained_on": {"accounts": evaluation["accounts"], "positives": evaluation["positives"],
                       "seed": evaluation["seed"]},
        "operating_points": {t: (dict(op) if op else None) for t, op in evaluation["operating_points"].items()},
    }


def save(model: dict[str, Any], path: Path) -> None:
    import joblib

    joblib.dump(model, path)


def load(path: Path) -> dict[str, Any]:
    """A model file written by :func:`save`, checked against this version's features."""
    from .account_model import FEATURES

    p = Path(path)
    if not p.is_file():
        raise NotFound(f"account model file {p} does not exist", file=str(p))
    try:
        import joblib
    except ImportError:
        raise ConfigError("scoring with an account model needs scikit-learn: install grotius[finance-ml]") from None
    try:
        model = joblib.load(p)
    except Exception as e:  # a damaged pickle can fail in any way; the file is what is wrong
        raise InvalidInput(f"account model file {p} cannot be read: {type(e).__name__}: {e}", file=str(p)) from None
    if not isinstance(model, dict) or model.get("kind") != KIND:
        raise InvalidInput(f"account model file {p} is not a Grotius account model "
                           f"(write one with `grotius finance analyse --labels … --train`)", file=str(p))
    if model.get("file_version") != FILE_VERSION:
        raise InvalidInput(f"account model file {p} has file version {model.get('file_version')!r}; "
                           f"this Grotius reads version {FILE_VERSION}", file=str(p))
    if model.get("features") != list(FEATURES):
        theirs, ours = list(model.get("features") or []), list(FEATURES)
        missing = [f for f in ours if f not in theirs]
        extra = [f for f in theirs if f not in ours]
        raise InvalidInput(
            f"account model file {p} was trained on other features (Grotius {model.get('grotius_version')}) than "
            f"this version computes: " + (f"missing {', '.join(missing)}; " if missing else "")
            + (f"unknown {', '.join(extra)}; " if extra else "")
            + ("" if missing or extra else "same names in another order; ") + "retrain it with this version",
            file=str(p))
    return model


def flag_column(target: str) -> str:
    return f"flagged_{target}"


def score_accounts(engine: Engine, alerts: list[Alert], model: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, one row per account of the loaded transactions: score, flags at the saved
    operating points, drivers). Accounts whose only payments are to themselves are scored too."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from .account_model import account_features, contributions, drivers, pair_table

    everyone = [r[0] for r in engine.fetch("SELECT src FROM tx UNION SELECT dst FROM tx")]
    g = pair_table(engine, everyone)
    names, X = account_features(g, alerts)
    clf = model["model"]
    with threadpool_limits(limits=1):
        scores = clf.predict_proba(X)[:, 1] if len(X) else np.zeros(0)
        contrib = contributions(clf, X, np.array(model["median"])) if len(X) else np.zeros((0, len(names)))
    points = {t: op["threshold"] for t, op in model["operating_points"].items() if op}
    alerted = {x for a in alerts for x in a.accounts}
    rows = []
    for i, a in enumerate(g.accounts):
        row: dict[str, Any] = {"account": a, "score": float(scores[i])}
        for t, thr in points.items():
            row[flag_column(t)] = int(scores[i] >= thr)
        row["in_alert"] = int(a in alerted)
        row["drivers"] = drivers(names, X[i], contrib[i])
        rows.append(row)
    summary = {
        "model_grotius_version": model["grotius_version"],
        "model_sklearn_version": model["sklearn_version"],
        "trained_on": model["trained_on"],
        "accounts": len(rows),
        "mean_score": round(float(scores.mean()), 6) if len(rows) else None,
        "operating_points": {
            t: ({"threshold": op["threshold"], "flagged": sum(r[flag_column(t)] for r in rows),
                 "out_of_fold_precision": op["precision"], "out_of_fold_recall": op["recall"]} if op else None)
            for t, op in model["operating_points"].items()
        },
    }
    return summary, rows


def against_labels(rows: list[dict[str, Any]], labels: dict[str, int], points: dict[str, Any]) -> dict[str, Any]:
    """How the applied scores do on data whose labels the model never saw: precision and
    recall at each saved threshold, average precision, over the labelled accounts."""
    import numpy as np
    from sklearn.metrics import average_precision_score

    scored = [r for r in rows if r["account"] in labels]
    y = np.array([1 if labels[r["account"]] else 0 for r in scored])
    s = np.array([r["score"] for r in scored])
    out: dict[str, Any] = {"accounts": len(scored), "positives": int(y.sum()),
                           "average_precision": round(float(average_precision_score(y, s)), 4) if 0 < y.sum() < len(y) else None}
    for t, op in points.items():
        if op:
            hit = s >= op["threshold"]
            tp = int(y[hit].sum())
            out[t] = {"threshold": op["threshold"], "flagged": int(hit.sum()),
                      "precision": round(tp / max(int(hit.sum()), 1), 6), "recall": round(tp / max(int(y.sum()), 1), 6)}
    return out
