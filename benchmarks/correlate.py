"""Correlation benchmark (issue 4 acceptance).

Holds N observables of mixed types (SCOs: IPv4/IPv6 addresses, CIDR ranges, domains,
URLs, e-mail addresses, file hashes, MAC addresses) ingested through the real ingest
path into a SQLite node, then correlates M incoming ones from a partner (a share of
which match held values exactly, by range or by domain), and reports:

- end-to-end observables/s into the store (CPU time of this process, which includes SQLite:
  the machine is shared, so wall time says more about the neighbours than the code), with the correlation hook and without it
  (the difference is what correlation costs);
- index storage (bytes per held observable) and process memory growth;
- leads raised;
- warninglist lookups/s of the compiled lists beside pymispwarninglists' own
  ``WarningLists(slow_search=True).search`` on the same values (that search is slow, so
  it runs on a sample and the ratio is per lookup).

    .venv/bin/python benchmarks/correlate.py                 # 1,000,000 held, 100,000 incoming
    .venv/bin/python benchmarks/correlate.py --held 100000 --incoming 10000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import tree_cpu  # noqa: E402

NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def sco(kind: str, value: str | None = None, **props: object) -> dict:
    o: dict = {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uuid.uuid4()}"}
    if value is not None:
        o["value"] = value
    o.update(props)
    return o


def observable(rng: random.Random, i: int, salt: str) -> dict:
    k = i % 10
    h = hashlib.sha256(f"{salt}{i}".encode()).hexdigest()
    if k == 0:
        return sco("ipv4-addr", f"{11 + i % 200}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}")
    if k == 1:
        return sco("ipv4-addr", f"{11 + i % 200}.{(i >> 12) & 255}.{(i >> 4) & 255}.0/24")
    if k == 2:
        return sco("ipv6-addr", f"2001:db8:{i >> 16 & 0xffff:x}:{i & 0xffff:x}::{rng.randint(1, 0xffff):x}")
    if k in (3, 4):
        return sco("domain-name", f"{h[:10]}.{h[10:14]}-host.example")
    if k == 5:
        return sco("url", f"https://{h[:8]}.example/{h[8:16]}/p.php?id={i}")
    if k == 6:
        return sco("email-addr", f"{h[:8]}@{h[8:14]}.example")
    if k == 7:
        return sco("file", hashes={"SHA-256": h})
    if k == 8:
        return sco("file", hashes={"MD5": h[:32]})
    return sco("mac-addr", ":".join(h[j:j + 2] for j in range(0, 12, 2)).replace(h[:2], "02", 1))


def incoming(rng: random.Random, held: list[dict], m: int) -> list[dict]:
    out = []
    for i in range(m):
        r = rng.random()
        if r < 0.05:  # exact re-sighting of a held value
            src = held[rng.randrange(len(held))]
            out.append({**src, "id": f"{src['type']}--{uuid.uuid4()}"})
        elif r < 0.08:  # address inside a held /24
            src = held[rng.randrange(len(held) // 10) * 10 + 1]
            out.append(sco("ipv4-addr", src["value"].replace(".0/24", f".{rng.randint(1, 254)}")))
        elif r < 0.10:  # subdomain of a held domain
            src = held[rng.randrange(len(held) // 10) * 10 + 3]
            out.append(sco("domain-name", "www." + src["value"]))
        else:
            out.append(observable(rng, 10_000_000 + i, "in"))
    return out


def run_ingest(node, objs: list[dict], source: str | None, label: str) -> tuple[float, float]:
    from grotius.ingest import ingest

    t, c = time.perf_counter(), tree_cpu()
    s = ingest(node, objs, source=source, quiet=True, strict_refs=False)
    dt, cpu = time.perf_counter() - t, tree_cpu() - c
    if s.rejected:
        raise SystemExit(f"{label}: {s.rejected} rejected, first: {s.errors[0]}")
    print(f"  {label}: {len(objs):,} in {dt:.1f} s wall = {len(objs) / dt:,.0f} observables/s; "
          f"{cpu:.1f} s CPU = {len(objs) / cpu:,.0f} observables/s per core")
    return dt, cpu


def db_bytes(node, table: str) -> int | None:
    try:
        r = node.store.query_one("SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name LIKE ?", (table, f"{table}_%"))
        return int(r[0] or 0)
    except Exception:
        return None


def bench_warninglists(n: int, sample: int) -> None:
    from pymispwarninglists import WarningLists

    from grotius.correlate import suppress, warninglists
    from grotius.correlate.types import registry

    t = time.perf_counter()
    c = time.process_time()
    wl = warninglists.misp(suppress.cache_dir())
    print(f"compiled MISP lists ready in {time.perf_counter() - t:.2f} s, {time.process_time() - c:.2f} s CPU "
          f"({len(wl.info)} lists; cached in {suppress.cache_dir()}; a first run compiles, later ones open the cache)")
    rng = random.Random(3)
    raw = []
    for i in range(n):
        k = i % 5
        if k == 0:
            raw.append(f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}")
        elif k == 1:
            raw.append(rng.choice(["8.8.8.8", "1.1.1.1", "52.95.110.1", "13.107.42.14", "104.16.1.1"]))
        elif k == 2:
            raw.append(rng.choice(["www.google.com", "login.microsoftonline.com", "cdn.cloudflare.net", "s3.amazonaws.com", "github.com"]))
        elif k == 3:
            raw.append(f"{uuid.uuid4().hex[:10]}.example")
        else:
            raw.append(hashlib.md5(str(i).encode()).hexdigest())
    values = [registry.detect_clean(v) for v in raw]
    t = time.process_time()
    hits = 0
    for kind, v in values:
        if wl.lookup_ids(kind, v):
            hits += 1
    dt = time.process_time() - t
    ours = n / dt
    print(f"grotius compiled lookup: {n:,} values in {dt:.2f} s CPU = {ours:,.0f} lookups/s ({hits:,} flagged)")
    t = time.perf_counter()
    fast = WarningLists(slow_search=False)
    slow = WarningLists(slow_search=True)
    print(f"pymispwarninglists load (fast + slow_search): {time.perf_counter() - t:.1f} s")
    t = time.process_time()
    for v in raw:
        fast.search(v)
    dt_fast = time.process_time() - t
    print(f"pymispwarninglists search (exact sets only, misses CIDR and subdomains): {n / dt_fast:,.0f} lookups/s")
    sub = raw[:sample]
    t = time.process_time()
    agree = 0
    for (kind, v), r in zip(values[:sample], sub):
        theirs = {w.name for w in slow.search(r)}
        ours_names = set(wl.lookup(kind, v))
        agree += bool(theirs) == bool(ours_names)
    dt_slow = time.process_time() - t
    rate_slow = sample / dt_slow
    print(f"pymispwarninglists search (slow_search=True, CIDR + hostname semantics): {sample:,} values in {dt_slow:.1f} s = {rate_slow:,.1f} lookups/s")
    print(f"ratio grotius / pymispwarninglists slow_search: {ours / rate_slow:,.0f}x; flagged-or-not agreement on the sample {agree}/{sample}")
    print(f"ratio grotius / pymispwarninglists exact-set search: {ours / (n / dt_fast):.2f}x")


def bench_index_layer(held: list[dict], inc: list[dict], tmp: str) -> None:
    """The correlation layer alone on the same SQLite engine: extraction, cleaning,
    warninglist flags, value/mention upserts and matching (exact, range, subdomain, URL
    host), without STIX validation and the objects table (which belong to ingest)."""
    from grotius.correlate import index, suppress
    from grotius.correlate.extract import extract
    from grotius.node import init

    node = init(Path(tmp) / "layer", "LAYER")
    fl = suppress.flagger(node)

    def feed(objs: list[dict], first_pk: int, src: str, match: bool) -> tuple[float, int]:
        t = time.process_time()
        found = 0
        for start in range(0, len(objs), 2000):
            batch = objs[start:start + 2000]
            with node.store.transaction() as tx:
                ex = [(first_pk + start + i, extract(o)) for i, o in enumerate(batch)]
                pairs = {(m.kind, m.value) for _, e in ex for m in e.mentions}
                values = index.upsert_values(tx, pairs, fl)
                index.add_mentions(tx, [(values[(m.kind, m.value)].vid, pk, src) for pk, e in ex for m in e.mentions])
                if match:
                    ms = index.related(tx, list(values.values()))
                    held_vids = sorted({m.held.vid for m in ms})
                    for chunk in index._chunks(held_vids):
                        found += sum(1 for r in tx.query(
                            f"SELECT src FROM correlate_mentions WHERE vid IN ({','.join('?' * len(chunk))})", chunk) if r[0] != src)
        return time.process_time() - t, found

    dt, _ = feed(held, 1, "", False)
    print(f"index layer, hold: {len(held):,} in {dt:.1f} s CPU = {len(held) / dt:,.0f} observables/s per core")
    dt, found = feed(inc, 10**9, "US-FED", True)
    print(f"index layer, correlate: {len(inc):,} in {dt:.1f} s CPU = {len(inc) / dt:,.0f} observables/s per core ({found:,} held mentions matched)")
    idx = sum(db_bytes(node, t) or 0 for t in ("correlate_values", "correlate_mentions", "correlate_plens"))
    print(f"index layer storage: {idx / len(held):,.0f} bytes per held observable")
    node.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--held", type=int, default=1_000_000)
    ap.add_argument("--incoming", type=int, default=100_000)
    ap.add_argument("--wl-values", type=int, default=200_000)
    ap.add_argument("--wl-sample", type=int, default=200)
    ap.add_argument("--skip-store", action="store_true")
    ap.add_argument("--skip-layer", action="store_true")
    ap.add_argument("--skip-warninglists", action="store_true")
    args = ap.parse_args()

    import grotius.correlate  # noqa: F401  (registers the hook)
    from grotius import ingest as ingest_mod
    from grotius.node import init

    if not args.skip_warninglists:
        print("## warninglists")
        bench_warninglists(args.wl_values, args.wl_sample)
    if args.skip_store:
        return
    proc = psutil.Process()
    rng = random.Random(1)
    held = [observable(rng, i, "held") for i in range(args.held)]
    inc = incoming(rng, held, args.incoming)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_layer:
            print(f"\n## index layer (SQLite, {args.held:,} held, {args.incoming:,} incoming)")
            bench_index_layer(held, inc, tmp)
        print(f"\n## store (SQLite, {args.held:,} held, {args.incoming:,} incoming)")
        # baseline: same ingest without the correlation hook
        hooks = list(ingest_mod.HOOKS)
        base = init(Path(tmp) / "base", "BASE")
        ingest_mod.HOOKS[:] = [h for h in hooks if h.__module__ != "grotius.correlate.hook"]
        n_base = min(args.held, 200_000)
        dt0, cpu0 = run_ingest(base, held[:n_base], None, f"ingest without correlation ({n_base:,} held)")
        ingest_mod.HOOKS[:] = hooks
        base.close()

        node = init(Path(tmp) / "node", "NL-POL")
        rss0 = proc.memory_info().rss
        dt1, cpu1 = run_ingest(node, held, None, "hold (ingest + index)")
        rss1 = proc.memory_info().rss
        dt2, cpu2 = run_ingest(node, inc, "US-FED", "correlate incoming (ingest + index + match + leads)")
        nvals = node.store.query_one("SELECT COUNT(*) FROM correlate_values")[0]
        nment = node.store.query_one("SELECT COUNT(*) FROM correlate_mentions")[0]
        nleads = node.store.query_one("SELECT COUNT(*) FROM correlate_leads")[0]
        flagged = node.store.query_one("SELECT COUNT(*) FROM correlate_values WHERE flags IS NOT NULL")[0]
        idx = sum(db_bytes(node, t) or 0 for t in ("correlate_values", "correlate_mentions", "correlate_plens"))
        objs = db_bytes(node, "objects") or 0
        total = os.path.getsize(Path(tmp) / "node" / "grotius.db") + sum(
            os.path.getsize(p) for p in (Path(tmp) / "node").glob("grotius.db-wal"))
        print(f"held: {args.held / cpu1:,.0f} observables/s per core end to end with indexing "
              f"(baseline ingest without correlation {n_base / cpu0:,.0f}/s; correlation keeps "
              f"{(args.held / cpu1) / (n_base / cpu0):.0%} of the ingest rate)")
        print(f"incoming: {args.incoming / cpu2:,.0f} observables/s per core end to end with matching and leads")
        print(f"index: {nvals:,} values, {nment:,} mentions, {flagged:,} flagged; {nleads:,} leads")
        print(f"index storage: {idx / args.held:,.0f} bytes per held observable "
              f"(objects table {objs / args.held:,.0f} B/obs; database file {total / args.held:,.0f} B/obs)")
        print(f"process memory growth while holding: {(rss1 - rss0) / args.held:,.0f} bytes per held observable "
              f"(RSS {rss1 / 2**20:,.0f} MiB, includes the compiled warninglists)")
        node.close()


if __name__ == "__main__":
    main()
