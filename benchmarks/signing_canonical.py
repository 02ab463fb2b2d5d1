"""CPU cost of RFC 8785 canonical JSON when signing: this tree beside an earlier revision
and beside the ``rfc8785`` library (the peer), per object.

Objects: correlation leads shaped as ``grotius.correlate.leads._build`` writes them (float
scores, nested matches and sides) and the indicators of
``grotius.stix.synthetic.bundle(2000, seed=42)``. Per object, in CPU time (the machine
is shared), median of 5 passes per process:

- ``rfc8785.dumps`` of the object (the peer; the earlier revision called it directly);
- ``signing.signing_input`` (what every sign and verify canonicalises);
- ``signing.sign`` (copy, canonicalise, Ed25519).

Each side runs in its own process, alternating, so that a busy neighbour hurts both.

    .venv/bin/python benchmarks/signing_canonical.py                   # against 89c5fa7
    .venv/bin/python benchmarks/signing_canonical.py --rev HEAD~1 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_MEASURE = r"""
import random, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import grotius
assert grotius.__file__.startswith(sys.argv[1]), grotius.__file__
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grotius.sharing import signing
from grotius.stix.extension import new_sdo_extension
from grotius.stix.synthetic import bundle

rng = random.Random(5)
me = "identity--00000000-0000-4000-8000-000000000001"
def side(i):
    return {"object_ref": f"ipv4-addr--{i:08x}-0000-4000-8000-000000000000", "object_type": "ipv4-addr",
            "object_version": "2026-11-30T01:00:00.000000Z", "source": "NL-POL", "tlp": "amber",
            "date_added": "2026-11-30T01:00:00.000Z", "admiralty": "B2"}
def lead(i):
    ip = f"198.51.{i % 256}.{rng.randrange(256)}"
    comp = {"grade": round(rng.random(), 4), "recency": round(rng.random(), 4),
            "agreement": rng.choice([0.0, 0.5, 0.6667]), "strength": rng.choice([1.0, 0.8]), "sources": 2}
    return {"type": "x-grotius-lead", "spec_version": "2.1", "id": f"x-grotius-lead--{i:08x}-0000-5000-8000-000000000000",
            "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z", "created_by_ref": me,
            "name": f"{ip} also held by NL-POL", "status": "new",
            "matches": [{"kind": "ipv4", "value": ip, "held_kind": "ipv4", "held_value": ip, "relation": "exact"}],
            "incoming": side(i), "held": side(i + 1), "object_refs": [f"a--{i}", f"b--{i}"],
            "score": round(rng.random(), 4), "score_components": comp,
            "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
            "extensions": new_sdo_extension()}
sets = {"lead": [lead(i) for i in range(300)],
        "sdo": [o for o in bundle(2000, seed=42)["objects"] if o["type"] == "indicator"]}
key = Ed25519PrivateKey.generate()
calls = {"rfc8785": rfc8785.dumps, "signing_input": signing.signing_input,
         "sign": lambda o: signing.sign(o, key, me)}
out = []
for name, objs in sets.items():
    for call, fn in calls.items():
        runs = []
        for _ in range(5):
            t = time.process_time()
            for o in objs:
                fn(o)
            runs.append((time.process_time() - t) / len(objs) * 1e6)
        out.append(f"{name}:{call}={statistics.median(runs)}")
print(" ".join(out))
"""


def _measure(root: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(root)], check=True,
                         capture_output=True, text=True).stdout.split()
    return {k: float(v) for k, v in (x.split("=") for x in out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="89c5fa7", help="earlier revision (default: before the fast path)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = subprocess.run(["git", "-C", str(ROOT), "archive", args.rev, "grotius"], check=True,
                              capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=tree, check=True)
        for r in range(args.rounds):
            rows.append((_measure(Path(tmp)), _measure(ROOT)))
            print(f"round {r + 1}: " + ", ".join(f"{k} {rows[-1][0][k]:.1f}->{rows[-1][1][k]:.1f}"
                                                 for k in rows[-1][0]), file=sys.stderr)
    for k in rows[0][0]:
        old = statistics.median(o[k] for o, _ in rows)
        new = statistics.median(n[k] for _, n in rows)
        print(f"{k:24s} {args.rev} {old:7.1f} µs/object, this tree {new:7.1f} µs/object, {old / new:5.2f}x "
              f"(medians of {args.rounds} process pairs)")


if __name__ == "__main__":
    main()
