"""Typology detection throughput beside snapml's Graph Feature Preprocessor (GFP), one run.

Both get the same generated transactions (AMLworld-like, planted typologies) and one
thread. Two comparable feature sets:

- defaults: GFP's defaults (fan in/out histograms, 12 h window, plus vertex statistics)
  against our fan-in and fan-out detectors (hopping 24 h windows: every 12 h span is
  covered, as GFP's 12 h sliding window);
- deep: GFP with fan, degree, scatter-gather, temporal cycles and length-constrained
  cycles, cycles up to 8 hops in 16-day windows, against all nine of our detectors with
  cycles up to 8 hops in 16 days, once without the amount condition on cycles (equal
  depth) and once with our default amount condition.

Our time is the detection on an engine that already holds the transactions (as GFP gets
a prepared numpy array); import and load are reported separately.

    .venv/bin/python benchmarks/finance.py --transactions 200000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grotius.finance.engines import DuckDBEngine  # noqa: E402
from grotius.finance.formats import to_canonical  # noqa: E402
from grotius.finance.generate import generate, write_amlworld  # noqa: E402
from grotius.finance.params import DAY, Params  # noqa: E402
from grotius.finance.pipeline import detect  # noqa: E402


def gfp_array(csv_path: Path):  # type: ignore[no-untyped-def]
    import numpy as np

    from grotius.finance.formats import read_canonical

    ids: dict[str, int] = {}
    rows = []
    for r in read_canonical(csv_path):
        s = ids.setdefault(r["src"], len(ids))
        d = ids.setdefault(r["dst"], len(ids))
        rows.append((int(r["seq"]), s, d, int(r["ts"]), float(r["amount"])))
    rows.sort(key=lambda x: (x[3], x[0]))
    return np.asarray(rows, dtype=np.float64)


def run_gfp(arr, params: dict) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from snapml import GraphFeaturePreprocessor

    g = GraphFeaturePreprocessor()
    g.set_params({**params, "num_threads": 1})
    t0 = time.perf_counter()
    out = g.fit_transform(arr.astype("float64"))
    return time.perf_counter() - t0, out.shape[1]


def run_ours(csv_path: Path, params: Params) -> tuple[float, int]:
    eng = DuckDBEngine(threads=1)
    eng.load_transactions(csv_path)
    t0 = time.perf_counter()
    alerts, _ = detect(eng, params)
    dt = time.perf_counter() - t0
    eng.close()
    return dt, len(alerts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transactions", type=int, default=200000)
    ap.add_argument("--accounts", type=int, default=20000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-deep", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="grotius-bench-finance-"))
    net = generate(accounts=args.accounts, transactions=args.transactions, per_typology=max(10, args.transactions // 10000),
                   days=args.days, seed=args.seed)
    write_amlworld(net, work / "t.csv")
    t0 = time.perf_counter()
    report = to_canonical(work / "t.csv", "amlworld", work / "c.csv")
    t_import = time.perf_counter() - t0
    n = report.rows_accepted
    eng = DuckDBEngine(threads=1)
    t0 = time.perf_counter()
    eng.load_transactions(work / "c.csv")
    t_load = time.perf_counter() - t0
    eng.close()
    arr = gfp_array(work / "c.csv")
    print(f"{n:,} transactions ({len(net.instances)} planted instances), {args.accounts:,} background accounts, {args.days} days")
    print(f"our import (validate + canonical CSV): {n / t_import:,.0f} tx/s; DuckDB load: {n / t_load:,.0f} tx/s", flush=True)

    try:
        import snapml  # noqa: F401
    except ImportError as e:
        print(f"snapml not importable: {e}")
        return

    rows = []
    # -- defaults ---------------------------------------------------------------
    g_s, g_cols = run_gfp(arr, {})
    p = Params(typologies=("fan_in", "fan_out"))
    p.fan_in.window = p.fan_out.window = DAY
    o_s, o_n = run_ours(work / "c.csv", p)
    rows.append(("defaults", n / g_s, f"{g_cols} feature columns", n / o_s, f"{o_n} alerts"))
    print("measured:", rows[-1], flush=True)

    if not args.skip_deep:
        deep = {
            "fan": True, "degree": True, "scatter-gather": True, "temp-cycle": True, "lc-cycle": True,
            "temp-cycle_tw": 16 * DAY, "lc-cycle_tw": 16 * DAY, "lc-cycle_len": 8,
            "lc-cycle_bins": [2, 3, 4, 5, 6, 7, 8],
        }
        g_s, g_cols = run_gfp(arr, deep)
        print(f"measured: GFP deep {n / g_s:,.0f} tx/s", flush=True)
        p = Params()
        p.cycle.max_hops, p.cycle.window, p.cycle.amount_tolerance = 8, 16 * DAY, -1.0
        o_s, o_n = run_ours(work / "c.csv", p)
        rows.append(("deep, equal depth", n / g_s, f"{g_cols} feature columns", n / o_s, f"{o_n} alerts"))
        print("measured:", rows[-1], flush=True)
        p.cycle.amount_tolerance = Params().cycle.amount_tolerance
        o_s2, o_n2 = run_ours(work / "c.csv", p)
        rows.append(("deep, our default cycle amounts", n / g_s, f"{g_cols} feature columns", n / o_s2, f"{o_n2} alerts"))

    print()
    print(f"{'feature set':34} {'GFP tx/s':>10} {'ours tx/s':>10} {'ours/GFP':>9}")
    for name, g, gnote, o, onote in rows:
        print(f"{name:34} {g:10,.0f} {o:10,.0f} {o / g:8.2f}x   (GFP: {gnote}; ours: {onote})")


if __name__ == "__main__":
    main()
