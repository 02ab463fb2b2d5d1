"""Validation throughput: grotius.stix.validate.check vs stix2.parse, and
grotius.stix.patterns.parse vs stix2patterns' run_validator, on the same generated objects.

    .venv/bin/python benchmarks/validate.py [--objects 3000] [--peer-objects 1000] [--patterns 300]

Times are CPU time of this process (time.process_time), best of 3 rounds, so other load
on the machine distorts them less than wall-clock time would.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any, Callable, Iterable

from rich.console import Console
from rich.progress import track

from grotius.stix.patterns import parse as parse_pattern
from grotius.stix.samples import generate
from grotius.stix.validate import check

err = Console(stderr=True)


ROUNDS = 3


def timed(label: str, items: list[Any], fn: Callable[[Any], Any], progress: bool = False) -> float:
    """CPU seconds per item, best of ROUNDS runs (the machine is shared; the minimum is
    the least disturbed run)."""
    best = float("inf")
    for r in range(ROUNDS):
        it: Iterable[Any] = (
            track(items, description=f"{label} ({r + 1}/{ROUNDS})", console=err, transient=True) if progress else items
        )
        start = time.process_time()
        for x in it:
            fn(x)
        best = min(best, (time.process_time() - start) / len(items))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--objects", type=int, default=3000)
    ap.add_argument("--peer-objects", type=int, default=1000, help="objects given to stix2.parse (slow)")
    ap.add_argument("--patterns", type=int, default=300, help="patterns given to stix2patterns (slow)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import stix2
    from stix2patterns.validator import run_validator

    logging.getLogger("stix2").setLevel(logging.ERROR)
    objs = generate(args.objects, seed=args.seed)
    patterns = [o["pattern"] for o in objs if o["type"] == "indicator"]
    sdo = [o for o in objs if o["type"] in ("malware", "threat-actor", "campaign", "report", "attack-pattern")]
    indicators = [o for o in objs if o["type"] == "indicator"]

    for o in objs:  # warm-up and sanity: every generated object is valid
        assert not check(o), check(o)

    ours = timed("grotius check", objs, check)
    ours_sdo = timed("grotius check (non-indicator SDOs)", sdo, check)
    ours_ind = timed("grotius check (indicators)", indicators, check)
    peer_objs = objs[: args.peer_objects]
    ours_same = timed("grotius check", peer_objs, check)
    theirs = timed("stix2.parse", peer_objs, lambda o: stix2.parse(o, allow_custom=True), progress=True)

    pats = patterns[: args.patterns]
    ours_pat = timed("grotius pattern parse", pats * 10, parse_pattern) if pats else 0.0
    theirs_pat = timed("stix2patterns run_validator", pats, run_validator, progress=True) if pats else 0.0

    print(f"objects: {len(objs)} generated ({len(indicators)} indicators), seed {args.seed}")
    print(f"grotius check, all objects          : {ours * 1e6:8.1f} us/object  {1 / ours:10.0f} objects/s")
    print(f"grotius check, non-indicator SDOs   : {ours_sdo * 1e6:8.1f} us/object")
    print(f"grotius check, indicators (+pattern): {ours_ind * 1e6:8.1f} us/object")
    print(f"stix2.parse(allow_custom=True)      : {theirs * 1e6:8.1f} us/object  {1 / theirs:10.0f} objects/s"
          f"  (first {len(peer_objs)} objects)")
    print(f"ratio stix2.parse / grotius check   : {theirs / ours_same:8.1f}x")
    if pats:
        print(f"grotius patterns.parse              : {ours_pat * 1e6:8.1f} us/pattern")
        print(f"stix2patterns run_validator         : {theirs_pat * 1e6:8.1f} us/pattern  ({len(pats)} patterns)")
        print(f"ratio stix2patterns / grotius       : {theirs_pat / ours_pat:8.1f}x")


if __name__ == "__main__":
    main()
