"""How much of ingest is the database itself: the floor under issues 2 and 4's targets.

Runs the real ingest (validation, store, signatures, audit, correlation index and leads)
while recording every statement the node sends to SQLite, with its parameters and its
transaction boundaries. Then it replays exactly those statements, from Python lists,
against a byte-for-byte copy of the database as it was before the ingest. The replay
does no per-object Python work, so its CPU time is what SQLite needs to execute the
writes and reads the node asks for. That time bounds the rate of any single-writer
design that stores the same rows: no Python optimisation can go below it.

Bulk loading (dropping secondary indexes, rebuilding them at commit) does not lower
this floor here: large inputs commit every 20,000 objects, and rebuilding the indexes of
the whole table at each commit cost more than keeping them (measured: 52 -> 77 µs per
object for the ingest workload).

With ``--postgres URL`` (a server the benchmark may create a scratch database on), the
rows recorded for the ``objects`` table are also written to a PostgreSQL node's schema,
once as INSERT statements (``executemany``) and once by ``COPY``, the fastest bulk path
PostgreSQL has and the one the node takes (grotius.store.engine); the server backend's
CPU is measured beside the client's.

Workloads:

- ``ingest`` (issue 2): the generated bundle of ``benchmarks/ingest.py`` (mixed SDOs,
  SCOs, relationships, indicators with patterns, marking definitions) read from bytes;
  the peer, ``stix2.parse(allow_custom=True)``, runs on a sample in the same run and
  gives the 20x budget per object;
- ``correlate`` (issue 4): the observables of ``benchmarks/correlate.py``, held by the
  node, then incoming ones from a partner that match some of them (leads); budget
  100,000 observables/s, 10 µs per observable.

    .venv/bin/python benchmarks/store_floor.py --workload ingest --n 100000
    .venv/bin/python benchmarks/store_floor.py --workload correlate --n 200000 --incoming 20000
    .venv/bin/python benchmarks/store_floor.py --postgres postgresql://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _measure import tree_cpu  # noqa: E402
from grotius.store.engine import Store, Tx, configure_sqlite  # noqa: E402

Record = tuple[Any, ...]


class Recorder:
    """Wraps the store's statement methods; every statement lands in ``log``."""

    def __init__(self) -> None:
        self.log: list[Record] = []
        self._saved: dict[tuple[type, str], Any] = {}

    def _wrap(self, cls: type, name: str, kind: str) -> None:
        orig = getattr(cls, name)
        self._saved[(cls, name)] = orig
        log = self.log

        if kind == "many":
            def many(obj: Any, sql: str, rows: Any) -> Any:
                rows = [tuple(r) for r in rows]
                log.append(("many", sql, rows))
                return orig(obj, sql, rows)
            setattr(cls, name, many)
        else:
            def one(obj: Any, sql: str, params: Any = ()) -> Any:
                log.append((kind, sql, tuple(params)))
                return orig(obj, sql, params)
            setattr(cls, name, one)

    def __enter__(self) -> "Recorder":
        self._wrap(Tx, "execute", "exec")
        self._wrap(Tx, "executemany", "many")
        self._wrap(Tx, "query", "read")
        self._wrap(Tx, "query_one", "read")
        self._wrap(Tx, "insert_returning_pk", "exec")
        self._wrap(Store, "query", "read")
        self._wrap(Store, "query_one", "read")
        orig_tx = Store.transaction
        self._saved[(Store, "transaction")] = orig_tx
        log = self.log

        @contextmanager
        def transaction(store: Store) -> Iterator[Tx]:
            outer = not getattr(store._local, "in_tx", False)
            if outer:
                log.append(("begin",))
            ok = False
            try:
                with orig_tx(store) as tx:
                    yield tx
                ok = True
            finally:
                if outer:
                    log.append(("commit",) if ok else ("rollback",))

        Store.transaction = transaction  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for (cls, name), orig in self._saved.items():
            setattr(cls, name, orig)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    configure_sqlite(conn)  # as the node's own connections
    return conn


def replay(db: Path, log: list[Record]) -> tuple[float, dict[str, float]]:
    """CPU seconds to run ``log`` against ``db``, and per statement (first words)."""
    conn = _connect(db)
    cur = conn.cursor()
    per: dict[str, float] = defaultdict(float)
    clock = time.process_time
    start = clock()
    for rec in log:
        t = clock()
        kind = rec[0]
        if kind == "begin":
            cur.execute("BEGIN IMMEDIATE")
            label = "begin"
        elif kind in ("commit", "rollback"):
            cur.execute(kind.upper())
            label = kind
        elif kind == "many":
            cur.executemany(rec[1], rec[2])
            label = " ".join(rec[1].split()[:4])
        else:
            cur.execute(rec[1], rec[2])
            if kind == "read":
                cur.fetchall()
            label = " ".join(rec[1].split()[:4])
        per[label] += clock() - t
    total = clock() - start
    conn.close()
    return total, per


def postgres_objects(admin_url: str, log: list[Record], n_objects: int, tmp: Path) -> None:
    """The recorded ``objects`` rows into a scratch PostgreSQL node: as INSERT
    statements, then by COPY; CPU of the server backend and of this client, per object."""
    import psycopg

    from grotius.node import init

    batches = [r[2] for r in log if r[0] == "many" and r[1].lstrip().startswith("INSERT INTO objects ")]
    sql = next(r[1] for r in log if r[0] == "many" and r[1].lstrip().startswith("INSERT INTO objects "))
    columns = sql[sql.index("(") + 1 : sql.index(")")]
    marks = ",".join(["%s"] * len(columns.split(",")))
    base = admin_url.rsplit("/", 1)[0]
    for how in ("INSERT (executemany)", "COPY (as the node writes)"):
        # a fresh node each time, so both start from the same empty tables
        name = f"grotius_floor_{os.getpid()}"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            shutil.rmtree(tmp / "pg-home", ignore_errors=True)
            init(tmp / "pg-home", "PG", database_url=f"{base}/{name}").close()
            with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
                backend = psutil.Process(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
                t = backend.cpu_times()
                b0, c0 = t.user + t.system, time.process_time()
                for rows in batches:
                    with conn.transaction(), conn.cursor() as cur:
                        if how.startswith("COPY"):
                            with cur.copy(f"COPY objects ({columns}) FROM STDIN") as cp:
                                for row in rows:
                                    cp.write_row(row)
                        else:
                            cur.executemany(f"INSERT INTO objects ({columns}) VALUES ({marks})", rows)
                t = backend.cpu_times()
                b1, c1 = t.user + t.system, time.process_time()
            print(f"  PostgreSQL objects table, {how}: server {1e6 * (b1 - b0) / n_objects:.1f} µs "
                  f"+ client {1e6 * (c1 - c0) / n_objects:.1f} µs per object")
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _snapshot(home: Path, dest: Path) -> None:
    """A copy of the node's database as it is now (WAL folded in first)."""
    conn = sqlite3.connect(home / "grotius.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copyfile(home / "grotius.db", dest)


def run(node: Any, steps: list[tuple[str, Any, str | None]], n_objects: int, tmp: Path,
        budget_us: float, budget_label: str, postgres: str) -> None:
    from grotius.ingest import ingest

    before = tmp / "before.db"
    node.store.close()  # reopened on first use
    _snapshot(node.home, before)
    wall = cpu = 0.0
    with Recorder() as rec:
        for label, items, source in steps:
            t, c = time.perf_counter(), tree_cpu()
            s = ingest(node, items, source=source, quiet=True, strict_refs=False)
            dt, dc = time.perf_counter() - t, tree_cpu() - c
            if s.rejected:
                raise SystemExit(f"{label}: {s.rejected} rejected, first: {s.errors[0]}")
            n = len(items)
            print(f"  {label}: {n:,} in {dt:.1f} s wall = {n / dt:,.0f}/s; "
                  f"{1e6 * dc / n:.0f} µs CPU per object (storing process and checking worker)")
            wall += dt
            cpu += dc
    node.close()
    rows = sum(len(r[2]) if r[0] == "many" else 1 for r in rec.log if r[0] in ("many", "exec"))
    reads = sum(1 for r in rec.log if r[0] == "read")
    print(f"end to end: {n_objects:,} objects in {wall:.1f} s wall = {n_objects / wall:,.0f}/s, "
          f"{1e6 * cpu / n_objects:.0f} µs CPU per object")
    print(f"recorded: {rows:,} rows written, {reads:,} reads, "
          f"{sum(1 for r in rec.log if r[0] == 'begin'):,} transactions")

    db = tmp / "replay.db"
    shutil.copyfile(before, db)
    total, per = replay(db, rec.log)
    print(f"\nSQLite alone, replaying those statements: {total:.1f} s CPU = {1e6 * total / n_objects:.1f} µs "
          f"per object = at most {n_objects / total:,.0f} objects/s for the one writer SQLite allows")
    for label, sec in sorted(per.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {1e6 * sec / n_objects:6.1f} µs  {label}")
    if postgres:
        print()
        postgres_objects(postgres, rec.log, n_objects, tmp)
    print(f"\nbudget: {budget_label} = {budget_us:.1f} µs wall per object; "
          f"on {os.cpu_count()} cores at most {budget_us * (os.cpu_count() or 1):.0f} µs of CPU per object for everything")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=("ingest", "correlate"), default="ingest")
    ap.add_argument("--n", type=int, default=100_000, help="objects (ingest) or held observables (correlate)")
    ap.add_argument("--incoming", type=int, default=20_000, help="incoming observables (correlate)")
    ap.add_argument("--peer-sample", type=int, default=3_000)
    ap.add_argument("--postgres", default="", metavar="URL",
                    help="also write the objects rows to a scratch database on this PostgreSQL server")
    args = ap.parse_args()

    import grotius.correlate  # noqa: F401  (registers the correlation hook)
    from grotius.ingest import read
    from grotius.node import init

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        node = init(tmp / "home", "NL-POL")
        if args.workload == "ingest":
            from stix2 import parse

            from grotius.stix.synthetic import bundle

            b = bundle(args.n, seed=42)
            sample = b["objects"][: args.peer_sample]
            t = time.perf_counter()
            for o in sample:
                parse(o, allow_custom=True)
            peer = len(sample) / (time.perf_counter() - t)
            print(f"stix2.parse (allow_custom): {peer:,.0f} objects/s on {len(sample):,}; "
                  f"20x = {20 * peer:,.0f} objects/s")
            steps = [("validated ingest", read(orjson.dumps(b)), None)]
            run(node, steps, args.n, tmp, 1e6 / (20 * peer), "20x stix2.parse", args.postgres)
        else:
            from correlate import incoming, observable

            rng = random.Random(1)
            held = [observable(rng, i, "held") for i in range(args.n)]
            inc = incoming(rng, held, args.incoming)
            steps = [("hold", held, None), ("incoming from a partner", inc, "US-FED")]
            run(node, steps, args.n + args.incoming, tmp, 10.0, "100,000 observables/s", args.postgres)


if __name__ == "__main__":
    main()
