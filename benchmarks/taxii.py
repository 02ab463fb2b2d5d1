"""TAXII 2.1 servers side by side: medallion (OASIS reference server, memory backend)
and Grotius (`grotius serve`, SQLite), both as real processes on 127.0.0.1, driven over
HTTP by the same client; then Grotius alone at 1,000,000 objects on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/taxii.py                       # full run
    .venv/bin/python benchmarks/taxii.py --objects 2000 --checkpoints 500,1000 --million 20000  # smoke

Measured:
  * POST N objects (envelopes of --batch objects), total seconds, both servers;
  * at each checkpoint (3,000 and 6,000 objects held): the first page (limit 100) and the
    last page (``added_after`` the date_added of the object 100 from the end, which is
    what an incremental sync client asks for), both servers;
  * Grotius alone with --million objects preloaded (in bulk through
    grotius.store.objects.put, 20,000 per transaction, not over HTTP: posting a million
    objects over HTTP would measure ingest, not paging): first page, last page and
    random pages (limit 100, random ``added_after``), p50/p95 over --requests requests,
    as a partner whose agreement makes the TLP prefilter part of every query.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_objects(n: int, start: int = 0) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + n):
        out.append({
            "type": "indicator", "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=(0xBE7C << 112) | i, version=4)}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": f"C2 address {i}",
            "pattern": f"[ipv4-addr:value = '198.51.{(i >> 8) & 255}.{i & 255}']",
            "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
            "object_marking_refs": [GREEN if i % 2 else AMBER],
        })
    return out


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Server:
    name: str
    objects_url: str
    client: httpx.Client
    proc: subprocess.Popen[bytes]

    def post(self, objs: list[dict[str, Any]]) -> None:
        r = self.client.post(self.objects_url, content=json.dumps({"objects": objs}),
                             headers={"Content-Type": TAXII})
        r.raise_for_status()
        body = r.json()
        if body.get("success_count") != len(objs):
            raise RuntimeError(f"{self.name}: {body.get('failure_count')} failures: {str(body)[:500]}")

    def page(self, **params: Any) -> tuple[float, httpx.Response]:
        t = time.perf_counter()
        r = self.client.get(self.objects_url, params={"limit": 100, **params})
        dt = time.perf_counter() - t
        r.raise_for_status()
        return dt, r


class Medallion(Server):
    name = "medallion"

    def __init__(self, work: Path, timeout: float) -> None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        self.cid = str(uuid.uuid4())
        data = {
            "/discovery": {"title": "bench", "description": "", "default": f"{base}/api1/",
                           "api_roots": [f"{base}/api1/"]},
            "api1": {
                "information": {"title": "api1", "description": "", "versions": [TAXII],
                                "max_content_length": 1024 * 1024 * 1024},
                "status": [],
                "collections": [{
                    "id": self.cid, "title": "bench", "description": "", "can_read": True,
                    "can_write": True, "media_types": ["application/stix+json;version=2.1"],
                    "objects": [], "manifest": [],
                }],
            },
        }
        (work / "medallion-data.json").write_text(json.dumps(data))
        (work / "medallion.json").write_text(json.dumps({
            # paging sessions live 30 s by default, counted from the first page: too short
            # to walk 6,000 objects when the first page alone takes minutes
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                        "filename": str(work / "medallion-data.json"), "session_timeout": 86400},
            "users": {"bench": "bench-password"},
            "taxii": {"max_page_size": 100},
        }))
        self.proc = subprocess.Popen(
            [str(BIN / "medallion"), "--host", "127.0.0.1", "--port", str(port), str(work / "medallion.json")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        wait_up(base + "/taxii2/", self.proc)
        self.client = httpx.Client(auth=("bench", "bench-password"), headers={"Accept": TAXII},
                                   timeout=httpx.Timeout(timeout, connect=30))
        self.objects_url = f"{base}/api1/collections/{self.cid}/objects/"


def grotius_home(work: Path, name: str, db_url: str = "") -> tuple[Path, str]:
    """A node with collection 'bench' and partner 'bench-partner' (reads and writes it,
    cleared for AMBER, in the node's community); returns (home, partner password)."""
    from grotius import collections
    from grotius.node import init
    from grotius.sharing import partners

    home = work / name
    node = init(home, "BENCH", communities=("bench",), database_url=db_url)
    collections.add(node.store, "bench", "Benchmark")
    collections.add(node.store, "warmup", "Warm-up")
    _, password = partners.add(node, "bench-partner", read=["bench", "warmup"], write=["bench", "warmup"],
                               tlp_max="amber", communities=["bench"])
    node.close()
    return home, password


class Grotius(Server):
    name = "grotius"

    def __init__(self, home: Path, password: str) -> None:
        from grotius.collections import collection_uuid

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.pop("GROTIUS_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [str(BIN / "grotius"), "serve", "--home", str(home), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )
        wait_up(base + "/taxii2/", self.proc)
        self.client = httpx.Client(auth=("bench-partner", password), headers={"Accept": TAXII}, timeout=3600)
        self.objects_url = f"{base}/taxii2/api/collections/{collection_uuid('bench')}/objects/"
        # the first ingest of a process loads the correlation warning lists (seconds);
        # pay it before measuring, in a collection of its own
        r = self.client.post(self.objects_url.replace(collection_uuid("bench"), collection_uuid("warmup")),
                             content=json.dumps({"objects": make_objects(1, 10**9)}),
                             headers={"Content-Type": TAXII})
        r.raise_for_status()
        # and the first read (cold caches, the policy and audit paths)
        self.client.get(self.objects_url.replace(collection_uuid("bench"), collection_uuid("warmup"))).raise_for_status()


def last_page(srv: Server, first: httpx.Response) -> tuple[float, int]:
    """Follow ``next`` from the first page (limit 100); time only the final request."""
    dt, body = 0.0, first.json()
    while body.get("more"):
        dt, r = srv.page(next=body["next"])
        body = r.json()
    return dt, len(body.get("objects", []))


def compare(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    checkpoints = sorted(int(x) for x in args.checkpoints.split(","))
    objs = make_objects(args.objects)
    servers: list[Server] = []
    if not args.skip_medallion:
        servers.append(Medallion(work, args.timeout))
    home, password = grotius_home(work, "grotius-compare")
    servers.append(Grotius(home, password))
    results: dict[str, Any] = {s.name: {"post_s": 0.0, "pages": {}} for s in servers}
    try:
        done = 0
        for stop_at in [*checkpoints, args.objects]:
            for s in servers:
                t = time.perf_counter()
                for i in range(done, stop_at, args.batch):
                    s.post(objs[i: min(i + args.batch, stop_at)])
                results[s.name]["post_s"] += time.perf_counter() - t
                say(f"{s.name}: {stop_at} objects posted ({results[s.name]['post_s']:.1f} s so far)")
            done = stop_at
            if stop_at in checkpoints:
                for s in servers:
                    try:
                        first, r = s.page()
                    except httpx.TimeoutException:
                        # recorded as "more than the timeout"; its last page needs the first
                        results[s.name]["pages"][stop_at] = {"first_s": None, "last_s": None,
                                                              "timeout_s": args.timeout}
                        say(f"{s.name} at {stop_at}: first page took more than {args.timeout} s")
                        continue
                    assert len(r.json()["objects"]) == 100
                    last, got = last_page(s, r)
                    assert got == 100, f"{s.name}: last page has {got} objects"
                    results[s.name]["pages"][stop_at] = {"first_s": first, "last_s": last}
                    say(f"{s.name} at {stop_at}: first page {first * 1000:.1f} ms, last page {last * 1000:.1f} ms")
    finally:
        for s in servers:
            stop(s.proc)
    return results


def preload(home: Path, n: int) -> tuple[int, int]:
    """Bulk load n objects into collection 'bench' (put() in big transactions)."""
    from rich.progress import Progress

    from grotius.node import Node
    from grotius.store import objects as store_objects

    node = Node.open(home)
    chunk = 20_000
    with Progress(transient=True) as bar:
        task = bar.add_task(f"preload {n:,} objects", total=n)
        for start in range(0, n, chunk):
            batch = make_objects(min(chunk, n - start), start)
            with node.store.transaction() as tx:
                store_objects.put(tx, batch, default_tlp="amber", collection="bench")
            bar.update(task, advance=len(batch))
    if node.store.dialect == "postgresql":
        with node.store.transaction() as tx:
            tx.execute("ANALYZE objects")
            tx.execute("ANALYZE collection_items")
    lo = int(node.store.query_one("SELECT MIN(date_added) FROM collection_items")[0])
    # the date_added 101 from the end: added_after it leaves exactly the last page
    hi = int(node.store.query_one(
        "SELECT date_added FROM collection_items ORDER BY date_added DESC LIMIT 1 OFFSET 100")[0])
    node.close()
    return lo, hi


def plan(home: Path) -> str:
    from grotius.node import Node
    from grotius.sharing import partners, policy
    from grotius.taxii import query

    node = Node.open(home)
    p = partners.principal_for(node, partners.get(node, "bench-partner"))
    c = policy.clearance(node, p, "taxii")
    cid = int(node.store.query_one("SELECT cid FROM collections WHERE name = 'bench'")[0])
    out = query.explain(node.store, cid, query.Filters(limit=100, versions=["last"]), policy.sql_filter(c))
    node.close()
    return out


def million(args: argparse.Namespace, work: Path, engine: str) -> dict[str, Any]:
    db_url = ""
    if engine == "postgresql":
        import psycopg

        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "grotius_bench_taxii" WITH (FORCE)')
            conn.execute('CREATE DATABASE "grotius_bench_taxii"')
        db_url = args.pg_url.rsplit("/", 1)[0] + "/grotius_bench_taxii"
    home, password = grotius_home(work, f"grotius-{engine}", db_url)
    t = time.perf_counter()
    lo_us, hi_us = preload(home, args.million)
    say(f"{engine}: preloaded {args.million:,} objects in {time.perf_counter() - t:.0f} s")
    explain = plan(home)
    srv = Grotius(home, password)
    try:
        for _ in range(5):
            srv.page()  # warm up connections and caches
        first = [srv.page()[0] for _ in range(args.requests // 4)]
        last = [srv.page(added_after=_ts(hi_us))[0] for _ in range(args.requests // 4)]
        rnd = random.Random(7)
        mid = []
        for _ in range(args.requests // 2):
            dt, r = srv.page(added_after=_ts(rnd.randint(lo_us, hi_us)))
            assert len(r.json()["objects"]) == 100
            mid.append(dt)
        every = first + last + mid
        return {
            "objects": args.million,
            "first_p50_ms": statistics.median(first) * 1000,
            "last_p50_ms": statistics.median(last) * 1000,
            "random_p50_ms": statistics.median(mid) * 1000,
            "p95_ms": sorted(every)[int(len(every) * 0.95) - 1] * 1000,
            "requests": len(every),
            "plan": explain,
        }
    finally:
        stop(srv.proc)


def _ts(us: int) -> str:
    from grotius.taxii.media import ts

    return ts(us)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--checkpoints", default="3000,6000")
    ap.add_argument("--batch", type=int, default=500, help="objects per POST envelope")
    ap.add_argument("--million", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200, help="page requests at --million")
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--pg-url", default=os.environ.get("GROTIUS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:55432/postgres"))
    ap.add_argument("--skip-medallion", action="store_true")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a medallion page counts as timed out")
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--json", dest="json_out", help="also write results to this file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grotius-bench-taxii-"))
    out: dict[str, Any] = {"args": vars(args)}
    try:
        if not args.skip_compare:
            res = compare(args, work)
            out["compare"] = res
            print(f"\nPOST {args.objects:,} objects (envelopes of {args.batch}):")
            for name, r in res.items():
                print(f"  {name:10s} {r['post_s']:8.2f} s")
            if "medallion" in res:
                print(f"  ratio medallion/grotius: {res['medallion']['post_s'] / res['grotius']['post_s']:.1f}x")
            for cp in sorted(res["grotius"]["pages"]):
                print(f"\npage (limit 100) at {cp:,} objects:")
                for kind in ("first_s", "last_s"):
                    g = res["grotius"]["pages"][cp][kind]
                    line = f"  {kind[:-2]:5s} grotius {g * 1000:9.1f} ms"
                    if "medallion" in res:
                        m = res["medallion"]["pages"][cp][kind]
                        if m is None and kind == "first_s":
                            t = res["medallion"]["pages"][cp]["timeout_s"]
                            line += f"   medallion > {t:.0f} s (timed out)   ratio > {t / g:.0f}x"
                        elif m is None:
                            line += "   medallion not reached (its first page timed out)"
                        else:
                            line += f"   medallion {m * 1000:9.1f} ms   ratio {m / g:8.1f}x"
                    print(line)
        for engine in [e for e in args.engines.split(",") if e]:
            r = million(args, work, engine)
            out[f"million_{engine}"] = r
            print(f"\ngrotius at {r['objects']:,} objects on {engine}: first page p50 {r['first_p50_ms']:.1f} ms, "
                  f"last page p50 {r['last_p50_ms']:.1f} ms, random page p50 {r['random_p50_ms']:.1f} ms, "
                  f"p95 over {r['requests']} pages {r['p95_ms']:.1f} ms (target < 50 ms)")
            print("  plan: " + r["plan"].replace("\n", "\n        "))
    finally:
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(out, indent=2, default=str))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
