"""Validation throughput: grotius.stix.validate.check vs stix2.parse, and
grotius.stix.patterns.parse vs stix2patterns' run_validator, on the same generated objects.

    .venv/bin/python benchmarks/validate.py [--objects 20000] [--seed 42] [--peer-objects 1000] [--patterns 300]

The objects are the ingest benchmark's mix (``grotius.stix.synthetic.bundle(n, seed)``:
indicators with patterns, relationships, SCOs, SDOs); ``--samples`` uses
``grotius.stix.samples.generate`` instead. Every round starts with empty caches (parsed
patterns, seen timestamps and identifiers), as a fresh ingest does, so each pattern is
really parsed once per round. Times are CPU time of this process (time.process_time),
best of 3 rounds, so other load on the machine distorts them less than wall-clock time.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any, Callable, Iterable

from rich.console import Console
from rich.progress import track

from grotius.stix import patterns, synthetic, validate
from grotius.stix.samples import generate

err = Console(stderr=True)


ROUNDS = 3


def _fresh() -> None:
    patterns._RECENT.clear()
    validate._TS_OK.clear()
    validate._ID_OK.clear()


def timed(label: str, items: list[Any], fn: Callable[[Any], Any], progress: bool = False) -> float:
    """CPU seconds per item, best of ROUNDS runs (the machine is shared; the minimum is
    the least disturbed run)."""
    best = float("inf")
    for r in range(ROUNDS):
        it: Iterable[Any] = (
            track(items, description=f"{label} ({r + 1}/{ROUNDS})", console=err, transient=True) if progress else items
        )
        _fresh()
        start = time.process_time()
        for x in it:
            fn(x)
        best = min(best, (time.process_time() - start) / len(items))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--objects", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--samples", action="store_true", help="use grotius.stix.samples.generate objects")
    ap.add_argument("--peer-objects", type=int, default=1000, help="objects given to stix2.parse (slow)")
    ap.add_argument("--patterns", type=int, default=300, help="patterns given to stix2patterns (slow)")
    args = ap.parse_args()

    import stix2
    from stix2patterns.validator import run_validator

    logging.getLogger("stix2").setLevel(logging.ERROR)
    if args.samples:
        objs = generate(args.objects, seed=args.seed)
    else:
        objs = synthetic.bundle(args.objects, seed=args.seed)["objects"]
    check = validate.check
    for o in objs:  # warm-up and sanity: every generated object is valid
        assert not check(o), check(o)

    parts = {
        "indicators (+pattern)": [o for o in objs if o["type"] == "indicator"],
        "relationships": [o for o in objs if o["type"] == "relationship"],
        "SCOs": [o for o in objs if o["type"] in validate.validator().sco_types],
        "other SDOs": [o for o in objs if o["type"] in validate.validator().sdo_types and o["type"] != "indicator"],
    }
    ours = timed("grotius check", objs, check)
    ours_parts = {name: timed(name, items, check) for name, items in parts.items() if items}
    peer_objs = objs[: args.peer_objects]
    ours_same = timed("grotius check", peer_objs, check)
    theirs = timed("stix2.parse", peer_objs, lambda o: stix2.parse(o, allow_custom=True), progress=True)

    texts = list(dict.fromkeys(o["pattern"] for o in objs if o["type"] == "indicator"))
    pats = texts[: args.patterns]
    if texts:
        ours_pat = timed("grotius pattern parse", texts, patterns.parse)
        full_pat = timed("grotius full parser", texts, patterns._parse)
        fast_share = sum(patterns._fast_parse(t) is not None for t in texts) / len(texts)
        ours_pat_same = timed("grotius pattern parse", pats, patterns.parse)
        theirs_pat = timed("stix2patterns run_validator", pats, run_validator, progress=True)

    source = "samples.generate" if args.samples else "synthetic.bundle"
    print(f"objects: {len(objs)} from {source}(seed={args.seed})")
    print(f"grotius check, all objects          : {ours * 1e6:8.1f} us/object  {1 / ours:10.0f} objects/s")
    for name, t in ours_parts.items():
        print(f"grotius check, {name:21s}: {t * 1e6:8.1f} us/object  ({len(parts[name])} objects)")
    print(f"stix2.parse(allow_custom=True)      : {theirs * 1e6:8.1f} us/object  {1 / theirs:10.0f} objects/s"
          f"  (first {len(peer_objs)} objects)")
    print(f"ratio stix2.parse / grotius check   : {theirs / ours_same:8.1f}x")
    if texts:
        print(f"grotius patterns.parse              : {ours_pat * 1e6:8.1f} us/pattern  ({len(texts)} distinct, "
              f"{fast_share:.0%} on the fast path)")
        print(f"grotius full parser only            : {full_pat * 1e6:8.1f} us/pattern  "
              f"(fast path {full_pat / ours_pat:.1f}x faster)")
        print(f"stix2patterns run_validator         : {theirs_pat * 1e6:8.1f} us/pattern  ({len(pats)} patterns)")
        print(f"ratio stix2patterns / grotius       : {theirs_pat / ours_pat_same:8.1f}x")


if __name__ == "__main__":
    main()
