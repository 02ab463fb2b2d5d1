"""Search and object-page queries of the web UI on a large store, side by side with the
stix2 library's MemoryStore answering the same questions over the same objects.

    .venv/bin/python benchmarks/web_search.py [--objects 100000] [--db sqlite|postgresql://...]

The store is filled with grotius.store.objects.put (validation and ingest hooks are not
what is measured here). Times are wall-clock milliseconds per query, best of 3 runs.
stix2 has no substring search and no paging, so only the questions both can answer are
compared; the others are reported for Grotius alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.progress import track

from grotius.stix.samples import TLP_AMBER, generate
from grotius.store import objects, open_store
from grotius.web import describe, search, stats

err = Console(stderr=True)
ROUNDS = 3


def best_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    out: Any = None
    times = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return min(times), out


def fill(objs: list[dict[str, Any]], db: str, label: str) -> Any:
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='grotius-bench-')) / 'bench.db'}" if db == "sqlite" else db
    store = open_store(url)
    step = 2000
    for i in track(range(0, len(objs), step), description=f"filling store ({label})", console=err, transient=True):
        with store.transaction() as tx:
            objects.put(tx, objs[i : i + step], default_tlp="amber")
    if store.dialect == "sqlite":
        with store.transaction() as tx:
            tx.execute("ANALYZE")
    return store


def questions(store: Any, objs: list[dict[str, Any]]) -> tuple[dict[str, Callable[[], Any]], dict[str, Any]]:
    ind = next(o for o in objs if o["type"] == "indicator")
    # the object most relationships point at: the heaviest object page
    target = Counter(o["target_ref"] for o in objs if o["type"] == "relationship").most_common(1)[0][0]
    needle = ind["pattern"].split("'")[1] if "'" in ind["pattern"] else ind["id"]
    mod_from = sorted(o.get("modified", "") for o in objs if o.get("modified"))[len(objs) // 2]

    def q(**kw: Any) -> Callable[[], Any]:
        sq = search.SearchQuery(**kw)
        return lambda: search.run(store, sq)

    ours: dict[str, Callable[[], Any]] = {
        "type=indicator, page 1 of 50": q(types=["indicator"]),
        "type=malware + marking TLP:AMBER": q(types=["malware"], marking=TLP_AMBER),
        "id lookup": q(q=ind["id"]),
        "modified >= median, page 1": q(time_field="modified", since=mod_from),
        "relationships of an object (both ways)": lambda: describe.relationships(
            store, objects.get(store, target)),  # type: ignore[arg-type]
        "value substring, rare (whole store scan)": q(q=needle),
        "value substring, common, page 3": q(q="malicious", page=3),
        "all objects, page 200": q(page=200),
        "dashboard counts, cold": lambda: (stats._cache.clear(), stats.counts(store)),
        "dashboard counts, cached (no write since)": lambda: stats.counts(store),
    }
    return ours, {"ind": ind, "target": target, "mod_from": mod_from}


def report(title: str, rows: list[tuple[str, float, float | None]]) -> None:
    print(f"\n{title}; ms per query, best of {ROUNDS}")
    print(f"{'query':44} {'grotius':>10} {'stix2 Mem':>10} {'ratio':>8}")
    for name, ms, peer_ms in rows:
        if peer_ms is None:
            print(f"{name:44} {ms:10.1f} {'-':>10} {'':>8}")
        else:
            print(f"{name:44} {ms:10.1f} {peer_ms:10.1f} {peer_ms / ms:7.1f}x")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--peer-objects", type=int, default=10_000,
                    help="size of the side-by-side run (stix2 parses every object on load: slow)")
    ap.add_argument("--db", default="sqlite")
    args = ap.parse_args()

    objs = generate(args.objects, seed=7)
    store = fill(objs, args.db, f"{len(objs):,}")
    ours, _ = questions(store, objs)
    rows = [(name, best_ms(fn)[0], None) for name, fn in ours.items()]
    report(f"web search on {len(objs):,} objects ({store.dialect}), Grotius alone", rows)
    print(f"median: {statistics.median(r[1] for r in rows):.1f} ms")
    store.close()

    if args.peer_objects <= 0:
        return
    from stix2 import Filter, MemoryStore

    small = objs[: args.peer_objects]
    store = fill(small, args.db if args.db == "sqlite" else args.db, f"{len(small):,}")
    ours, k = questions(store, small)
    err.print(f"loading {len(small):,} objects into stix2.MemoryStore ...")
    t = time.perf_counter()
    mem = MemoryStore(stix_data=small, allow_custom=True)
    load_s = time.perf_counter() - t
    peer: dict[str, Callable[[], Any]] = {
        "type=indicator, page 1 of 50": lambda: mem.query([Filter("type", "=", "indicator")]),
        "type=malware + marking TLP:AMBER": lambda: mem.query(
            [Filter("type", "=", "malware"), Filter("object_marking_refs", "contains", TLP_AMBER)]),
        "id lookup": lambda: mem.get(k["ind"]["id"]),
        "modified >= median, page 1": lambda: mem.query([Filter("modified", ">=", k["mod_from"])]),
        "relationships of an object (both ways)": lambda: mem.relationships(k["target"]),
    }
    rows = [(name, best_ms(ours[name])[0], best_ms(fn)[0]) for name, fn in peer.items()]
    report(f"side by side on {len(small):,} objects ({store.dialect}) vs stix2.MemoryStore "
           f"(its load: {load_s:.1f} s)", rows)
    store.close()


if __name__ == "__main__":
    main()
