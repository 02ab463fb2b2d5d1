"""How far account recall on the AMLSim sample can go, and at what precision.

Measures, on ``../shared/data/amlsim/20K_fanin200`` (labels used only to score, except
in the supervised part, which says so):

1. the pipeline: repeated-transfer fan-in alone, then with the ``associates`` expansion;
2. the accounts still missed: how many flagged counterparties they have, against the
   unflagged unlabelled accounts, i.e. what flagging "every account with >= k flagged
   counterparties" would give;
3. a supervised upper view: HistGradientBoosting on eleven per-account features (degree,
   payments in and out, mean amount, flagged counterparties and their share, flagged
   accounts two steps away, payments to and from fan-in receivers, how many accounts of
   a group the account or one of its counterparties deals with), 5-fold stratified cross-validation over the accounts not yet
   flagged (labels are used here, with a proper split), read at several recall targets.

    .venv/bin/python benchmarks/finance_amlsim.py [--data ../shared/data/amlsim/20K_fanin200]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grotius.finance.evaluate import against_accounts  # noqa: E402
from grotius.finance.formats import read_amlsim_accounts  # noqa: E402
from grotius.finance.params import Params  # noqa: E402
from grotius.finance.pipeline import analyse  # noqa: E402

STAGE1 = ("fan_in.min_counterparties=1", "fan_in.min_repeats=2", "fan_in.window=300d")


def run(data: Path, typologies: tuple[str, ...], sets: tuple[str, ...] = ()) -> list:
    params = Params(typologies=typologies)
    for s in (*STAGE1, *sets):
        params.set(s)
    return analyse(data, "amlsim", None, params=params).alerts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/amlsim/20K_fanin200")
    args = ap.parse_args()
    labels = read_amlsim_accounts(args.data)
    fraud = {a for a, v in labels.items() if v}
    print(f"{len(labels):,} accounts, {len(fraud)} labelled")

    print("\n1. pipeline (flagged = every account of every alert)")
    for name, typs, sets in (
        ("repeated-transfer fan-in", ("fan_in",), ()),
        ("+ associates (min_shared 2)", ("fan_in", "associates"), ()),
        ("+ associates (min_shared 3)", ("fan_in", "associates"), ("associates.min_shared=3",)),
        ("+ associates (+ repeated, 2)", ("fan_in", "associates"), ("associates.min_payments_with_receiver=2",)),
    ):
        m = against_accounts(run(args.data, typs, sets), labels)
        print(f"   {name:30} recall {m['recall']:.4f}  precision {m['precision']:.4f}  "
              f"({m['true_positives']} of {m['flagged_accounts']} flagged)")
    alerts = run(args.data, ("fan_in", "associates"))
    flagged = {a for al in alerts for a in al.accounts}
    fan_in_groups = [set(al.accounts) for al in alerts if al.typology == "fan_in"]

    adj: dict[str, set[str]] = defaultdict(set)
    out_n: Counter[str] = Counter()
    in_n: Counter[str] = Counter()
    paid: Counter[str] = Counter()
    payees: dict[str, set[str]] = defaultdict(set)
    with (args.data / "transactions.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            s, d = row["sourceNodeId"], row["targetNodeId"]
            out_n[s] += 1
            in_n[d] += 1
            paid[s] += float(row["value"])
            payees[s].add(d)
            if s != d:
                adj[s].add(d)
                adj[d].add(s)

    print("\n2. accounts not flagged, by number of flagged counterparties")
    missed = fraud - flagged
    normal = set(labels) - fraud - flagged
    tp0, fl0 = len(flagged & fraud), len(flagged)
    by = {name: Counter(min(len(adj[a] & flagged), 5) for a in group) for name, group in (("missed", missed), ("normal", normal))}
    print("   flagged counterparties:   " + "  ".join(f"{k}{'+' if k == 5 else ''}" .rjust(6) for k in range(6)))
    for name, c in by.items():
        print(f"   {name:24}" + "  ".join(str(c[k]).rjust(6) for k in range(6)))
    for k in (1, 2, 3):
        add_tp = sum(v for j, v in by["missed"].items() if j >= k)
        add_fp = sum(v for j, v in by["normal"].items() if j >= k)
        tp, fl = tp0 + add_tp, fl0 + add_tp + add_fp
        print(f"   also flag >= {k} flagged counterparties: recall {tp / len(fraud):.4f}  precision {tp / fl:.4f}")

    print("\n3. supervised (labels; 5-fold stratified CV over the accounts not flagged)")
    try:
        import numpy as np
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
    except ImportError:
        print("   needs scikit-learn (grotius[finance-ml])")
        return
    groups = {al.explanation["features"]["account"]: set(al.accounts) for al in alerts if al.typology == "fan_in"}
    receivers = set(groups)
    # per receiver: how many of its group's accounts each account deals with
    reach = {m: Counter(b for a in g for b in adj[a]) for m, g in groups.items()}
    rows, ys = [], []
    for a in sorted(set(labels) - flagged):
        nb = adj[a]
        two = set().union(*(adj[b] for b in nb)) if nb else set()
        near = [m for m in nb & receivers]
        rows.append([
            len(nb), out_n[a], in_n[a], paid[a] / max(out_n[a], 1),
            len(nb & flagged), len(nb & flagged) / max(len(nb), 1), len(two & flagged),
            len(payees[a] & receivers), len(nb & receivers) - len(payees[a] & receivers),
            max((reach[m][a] for m in receivers if a in reach[m]), default=0),
            max((reach[m][h] for m in near for h in nb if h != m), default=0),
        ])
        ys.append(a in fraud)
    X, y = np.array(rows, float), np.array(ys)
    clf = HistGradientBoostingClassifier(class_weight="balanced", random_state=0)
    p = cross_val_predict(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")[:, 1]
    tp = np.cumsum(y[np.argsort(-p)])
    for target in (0.85, 0.90, 0.95):
        need = int(np.ceil(target * len(fraud))) - tp0
        if need <= 0:
            print(f"   recall {target}: reached without the model")
            continue
        i = int(np.searchsorted(tp, need))
        if i >= len(tp):
            print(f"   recall {target}: not reachable")
            continue
        n = fl0 + i + 1
        print(f"   recall {target}: {n:,} accounts flagged, precision {(tp0 + tp[i]) / n:.4f}")


if __name__ == "__main__":
    main()
