"""How far account recall on the AMLSim sample can go, and at what precision.

Measures, on ``../shared/data/amlsim/20K_fanin200`` (labels used only to score, except
in the supervised part, which says so):

1. the pipeline: repeated-transfer fan-in alone, then with the ``associates`` expansion;
2. the accounts still missed: how many flagged counterparties they have, against the
   unflagged unlabelled accounts, i.e. what flagging "every account with >= k flagged
   counterparties" would give;
3. the product's account score (``analyse --labels nodes.csv --train``): gradient boosting
   on per-account graph features, stratified 5-fold out-of-fold scores (every account
   scored by a model that never saw its label), read at recall 0.95 and precision 0.9,
   beside the detector rows.

    .venv/bin/python benchmarks/finance_amlsim.py [--data ../shared/data/amlsim/20K_fanin200]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
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
    adj: dict[str, set[str]] = defaultdict(set)
    with (args.data / "transactions.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            s, d = row["sourceNodeId"], row["targetNodeId"]
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

    print("\n3. account score (out of fold; labels are the target only)")
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        print("   needs scikit-learn (grotius[finance-ml])")
        return
    params = Params(typologies=("fan_in", "associates"))
    for s in STAGE1:
        params.set(s)
    t0 = time.process_time()
    result = analyse(args.data, "amlsim", None, params=params, train=True, account_labels=labels)
    am = result.account_model
    assert am is not None
    print(f"   {len(am['features'])} features, {am['folds']} folds, average precision {am['average_precision']:.4f}, "
          f"{time.process_time() - t0:.1f} s CPU for the whole run")
    for target, op in am["operating_points"].items():
        print(f"   {target:15} " + (f"recall {op['recall']:.4f}  precision {op['precision']:.4f}  "
                                      f"({op['true_positives']} of {op['flagged']} flagged, threshold {op['threshold']:.6g})"
                                      if op else "not reached"))
    m = against_accounts(alerts, labels)
    print(f"   {'detectors':15} recall {m['recall']:.4f}  precision {m['precision']:.4f}  (fan_in,associates, as in 1.)")


if __name__ == "__main__":
    main()
