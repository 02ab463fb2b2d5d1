"""Per-object cost of correlation value extraction (``grotius.correlate.extract.extract``),
this tree beside an earlier revision of it, in the same run.

Times ``extract(o)`` over ``grotius.stix.synthetic.bundle(N, seed=42)["objects"]`` in CPU
time (the machine is shared: wall time measures the neighbours), best of several passes:

- cold: the pattern parser's cache emptied before each pass (every indicator parsed);
- warm: every pattern parsed first, as in ingest, where validation parses it just before.

Each side runs in its own process, alternating, so that a busy neighbour hurts both.

    .venv/bin/python benchmarks/correlate_extract.py                  # against eb23c4b
    .venv/bin/python benchmarks/correlate_extract.py --rev HEAD~3 --rounds 6 --objects 20000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_MEASURE = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import grotius
assert grotius.__file__.startswith(sys.argv[1]), grotius.__file__
from grotius.correlate.extract import extract
from grotius.stix import patterns
from grotius.stix.synthetic import bundle

objs = bundle(int(sys.argv[2]), seed=42)["objects"]
best = {}
for mode in ("cold", "warm"):
    for _ in range(3):
        if mode == "cold":
            patterns._RECENT.clear()
        else:
            for o in objs:
                if o.get("type") == "indicator":
                    patterns.parse(o["pattern"])
        t = time.process_time()
        for o in objs:
            extract(o)
        best[mode] = min(best.get(mode, 1e9), (time.process_time() - t) / len(objs) * 1e6)
print(best["cold"], best["warm"])
"""


def _measure(root: Path, n: int) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(root), str(n)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="eb23c4b", help="earlier revision to compare with (default: before the fast paths)")
    ap.add_argument("--objects", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.rev, "grotius"], check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        rows = []
        for r in range(args.rounds):
            old, new = _measure(Path(tmp), args.objects), _measure(ROOT, args.objects)
            rows.append((old, new))
            print(f"round {r + 1}: {args.rev} cold {old[0]:6.2f} warm {old[1]:6.2f} µs/object | "
                  f"this tree cold {new[0]:6.2f} warm {new[1]:6.2f} µs/object", file=sys.stderr)
    for i, mode in enumerate(("cold", "warm")):
        old = min(o[i] for o, _ in rows)
        new = min(n[i] for _, n in rows)
        ratios = sorted(o[i] / n[i] for o, n in rows)
        print(f"{mode}: {args.rev} {old:.2f} µs/object, this tree {new:.2f} µs/object (best of {args.rounds}); "
              f"ratio of bests {old / new:.2f}x, per-round ratios {ratios[0]:.2f}-{ratios[-1]:.2f}x")


if __name__ == "__main__":
    main()
