"""Exact hit/no-hit PSI: Grotius (ECDH over X25519, both cores) beside openmined-psi.

    .venv/bin/python benchmarks/psi.py            # 1,000,000 x 1,000,000
    .venv/bin/python benchmarks/psi.py --n 100000

Both run in this process on the same inputs (n values each, 10 % in common). Reported:
wall time, peak resident memory of the whole process tree (sampled every 50 ms), bytes
that would cross the wire, and that both results equal the plain set intersection.
openmined-psi gives only the client the intersection; Grotius gives it to both sides.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measure, report_cpu  # noqa: E402

from grotius.matching.psi import Engine, encode, intersect_local  # noqa: E402


def data(n: int, overlap: float = 0.1, seed: int = 1) -> tuple[list[bytes], list[bytes]]:
    rng = random.Random(seed)
    numbers = rng.sample(range(10**9), 2 * n - int(n * overlap))
    common = int(n * overlap)
    a = numbers[:n]
    b = numbers[:common] + numbers[n:]
    fmt = lambda x: encode("phone-number", f"+4915{x:09d}")  # noqa: E731
    return [fmt(x) for x in a], [fmt(x) for x in b]


def run_grotius(a: list[bytes], b: list[bytes]) -> tuple[set[bytes], set[bytes], int]:
    with Engine() as engine:
        r = intersect_local(a, b, engine)
    return set(r.a_hits), set(r.b_hits), r.bytes_a_to_b + r.bytes_b_to_a


def run_openmined(a: list[bytes], b: list[bytes]) -> tuple[set[bytes], int]:
    import private_set_intersection.python as psi

    client = psi.client.CreateWithNewKey(True)
    server = psi.server.CreateWithNewKey(True)
    sa = [x.decode() for x in a]
    sb = [x.decode() for x in b]
    setup = server.CreateSetupMessage(2**-40, len(sa), sb, psi.DataStructure.GCS)
    request = client.CreateRequest(sa)
    response = server.ProcessRequest(request)
    idx = client.GetIntersection(setup, response)
    size = len(setup.SerializeToString()) + len(request.SerializeToString()) + len(response.SerializeToString())
    return {a[i] for i in idx}, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--skip-peer", action="store_true", help="do not run openmined-psi")
    args = ap.parse_args()
    a, b = data(args.n)
    truth = set(a) & set(b)
    print(f"{args.n:,} x {args.n:,} values, {len(truth):,} in common, {psutil.cpu_count()} cores")

    (ha, hb, nbytes), wall, peak = measure(lambda: run_grotius(a, b))
    ok = ha == truth and hb == truth
    print(f"grotius   : {wall:8.1f} s  peak {peak / 2**20:7.0f} MiB  {nbytes / 2**20:7.1f} MiB exchanged  correct={ok}")
    report_cpu("grotius")
    if args.skip_peer:
        return
    (hits, obytes), owall, opeak = measure(lambda: run_openmined(a, b))
    print(
        f"openmined : {owall:8.1f} s  peak {opeak / 2**20:7.0f} MiB  {obytes / 2**20:7.1f} MiB exchanged  "
        f"correct={hits == truth}"
    )
    report_cpu("openmined")
    print(f"ratio (openmined / grotius): time {owall / wall:.2f}x, bytes {obytes / nbytes:.2f}x")


if __name__ == "__main__":
    main()
