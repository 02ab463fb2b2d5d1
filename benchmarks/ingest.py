"""Validated ingest end to end into SQLite (or PostgreSQL) vs stix2.parse on the same objects.

    .venv/bin/python benchmarks/ingest.py [--n 100000] [--peer-sample 10000] [--db URL] [--validate-export]

Grotius: bytes of a generated bundle -> read -> validate every object (incl. pattern
parse) -> store (every table and index) -> commit, timed as a whole. The peer,
stix2.parse(allow_custom=True), only parses and checks objects into Python classes and
stores nothing; it runs on the first --peer-sample objects of the same bundle (the full
100,000 would take minutes) and its rate is per object, so the ratio compares rates.
Then the export is checked to equal the import exactly, and with --validate-export the
whole export goes through stix2-validator (in 2 processes; slow).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grotius import checkpool  # noqa: E402
from grotius.export import write_bundle  # noqa: E402
from grotius.ingest import ingest, read  # noqa: E402
from grotius.node import init  # noqa: E402
from grotius.stix.synthetic import bundle  # noqa: E402


def _validate_chunk(objs: list[dict]) -> list[str]:
    from stix2validator import ValidationOptions, validate_instance

    b = {"type": "bundle", "id": "bundle--6f0c8d1e-1f0a-4c53-9d52-1c5b1c6f2b11", "objects": objs}
    r = validate_instance(b, ValidationOptions(version="2.1"))
    return [str(e) for e in r.errors]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--peer-sample", type=int, default=10_000)
    ap.add_argument("--db", default="", help="database URL (default: SQLite file in a temp home)")
    ap.add_argument("--validate-export", action="store_true")
    args = ap.parse_args()

    print(f"generating a bundle of {args.n:,} objects ...", file=sys.stderr)
    b = bundle(args.n, seed=42)
    data = orjson.dumps(b)
    print(f"bundle: {len(data) / 1e6:.1f} MB", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        node = init(Path(tmp) / "home", "BENCH", database_url=args.db)
        # PostgreSQL does its share in the server backend of the storing connection
        backend = (psutil.Process(node.store.connection().info.backend_pid)
                   if node.store.dialect == "postgresql" else None)
        b0 = sum(backend.cpu_times()[:2]) if backend else 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        summary = ingest(node, read(data), progress=True)
        t_ingest = time.perf_counter() - t0
        # the storing process's own CPU (reading included; the worker's is not)
        c_store = time.process_time() - c0
        c_server = sum(backend.cpu_times()[:2]) - b0 if backend else 0.0
        assert summary.rejected == 0, summary.errors[:3]
        rate = args.n / t_ingest

        from stix2 import parse

        sample = b["objects"][: args.peer_sample]
        t0 = time.perf_counter()
        for o in sample:
            parse(o, allow_custom=True)
        t_peer = time.perf_counter() - t0
        peer_rate = len(sample) / t_peer

        from grotius.stix.validate import check

        t0 = time.perf_counter()
        for i, o in enumerate(sample):
            check(o, position=i)
        check_rate = len(sample) / (time.perf_counter() - t0)

        buf = io.BytesIO()
        write_bundle(node.store, buf)
        out = orjson.loads(buf.getvalue())["objects"]
        mine = {(o["id"], o.get("modified", o.get("created", ""))): o for o in b["objects"]}
        got = {(o["id"], o.get("modified", o.get("created", ""))): o for o in out if (o["id"], o.get("modified", o.get("created", ""))) in mine}
        exact = got == mine
        db_size = sum(f.stat().st_size for f in (Path(tmp) / "home").glob("grotius.db*")) if not args.db else 0

        print(f"\nvalidated ingest into {node.store.dialect}: {args.n:,} objects in {t_ingest:.2f} s = {rate:,.0f} objects/s")
        print(f"storing process CPU: {1e6 * c_store / args.n:.1f} µs per object (read + store; the checking worker apart)")
        if backend:
            print(f"PostgreSQL server backend CPU: {1e6 * c_server / args.n:.1f} µs per object")
        print(f"stix2.parse (allow_custom) on {len(sample):,} of them: {t_peer:.2f} s = {peer_rate:,.0f} objects/s")
        print(f"ratio: {rate / peer_rate:.1f}x stix2.parse end to end")
        print(f"validation alone (grotius.stix.validate.check, same {len(sample):,} objects, one process): "
              f"{check_rate:,.0f} objects/s = {check_rate / peer_rate:.1f}x stix2.parse")
        print(f"checked in {checkpool.workers_for(args.n)} worker process(es) beside the storing process "
              "(GROTIUS_INGEST_WORKERS=0 checks in one process)")
        print(f"export equals import exactly: {exact} ({len(got):,} objects compared)")
        if db_size:
            print(f"SQLite size: {db_size / 1e6:.1f} MB ({db_size / args.n:.0f} bytes per object)")
        if args.validate_export:
            from concurrent.futures import ProcessPoolExecutor

            chunks = [out[i : i + 5000] for i in range(0, len(out), 5000)]
            t0 = time.perf_counter()
            with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
                errors = [e for errs in ex.map(_validate_chunk, chunks) for e in errs]
            print(f"stix2-validator on the export: {len(errors)} errors ({time.perf_counter() - t0:.0f} s)")
            for e in errors[:10]:
                print("  ", e)
        node.close()


if __name__ == "__main__":
    main()
