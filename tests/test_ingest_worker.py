"""Large inputs are checked in a worker process while the main process stores: the result
must be exactly what checking in one process gives, rejects and hooks included."""

from __future__ import annotations

import json
import os
import signal

import pytest

from grotius import checkpool
from grotius.ingest import ingest, read
from grotius.stix.synthetic import bundle
from test_ingest_malformed import BAD_OBJECTS, GOOD


def _input() -> bytes:
    objs = bundle(2500, seed=5)["objects"]
    bad = [b for b, _ in BAD_OBJECTS.values()]
    # malformed objects spread over several batches, a repeat and a changed repeat
    for i, b in enumerate(bad):
        objs.insert(150 * i + 7, b)
    objs.append(dict(objs[10]))
    objs.append(dict(objs[11], description="changed without a new modified"))
    objs.insert(0, GOOD)
    return json.dumps({"type": "bundle", "id": "bundle--1b2c3d4e-17d4-4cbf-938f-98ee46b3cd3f",
                       "objects": objs}).encode()


def _state(node, ids: set[str]) -> dict[str, object]:
    def q(sql: str) -> list[tuple]:
        # the nodes' own identities differ; everything that came from the input must not
        return [r for r in node.store.query(sql) if r[0] in ids]

    return {
        "objects": q("SELECT id, version, type, tlp, created, modified, created_by_ref, raw FROM objects ORDER BY id, version"),
        "markings": q("SELECT o.id, m.marking_id FROM object_markings m JOIN objects o ON o.pk = m.pk ORDER BY 1, 2"),
        "refs": q("SELECT o.id, r.prop, r.ref_id FROM object_refs r JOIN objects o ON o.pk = r.pk ORDER BY 1, 2, 3"),
        "values": node.store.query("SELECT kind, value, flags, rkey, lo, hi, plen FROM correlate_values ORDER BY kind, value"),
        "mentions": q("SELECT o.id, v.kind, v.value FROM correlate_mentions m JOIN correlate_values v ON v.vid = m.vid "
                      "JOIN objects o ON o.pk = m.pk ORDER BY 1, 2, 3"),
        "unreduced": q("SELECT o.id, u.path, u.reason FROM correlate_unreduced u JOIN objects o ON o.pk = u.pk ORDER BY 1, 2, 3"),
        "audited": q("SELECT object_id FROM audit_objects ORDER BY 1"),
    }


def test_worker_gives_the_same_result_as_one_process(make_node, monkeypatch):
    data = _input()
    ids = {o["id"] for o in json.loads(data)["objects"] if isinstance(o, dict)}
    results = []
    for workers in ("0", "1"):
        monkeypatch.setenv("GROTIUS_INGEST_WORKERS", workers)
        node = make_node(f"NODE-{workers}")
        s = ingest(node, read(data))
        results.append((s.stored, s.unchanged, s.rejected, [str(e) for e in s.errors], dict(s.by_type), _state(node, ids)))
    serial, parallel = results
    assert serial[2] == len(BAD_OBJECTS) + 1  # every malformed object and the changed repeat
    assert serial[0] > 2500 and serial[1] == 1
    assert serial[:5] == parallel[:5]
    for table in serial[5]:
        assert serial[5][table] == parallel[5][table], table
    assert serial[5]["mentions"], "the synthetic bundle mentions indexable values"
    # the worker looks values up in the MISP lists; flags must come out the same
    assert any(row[2] for row in serial[5]["values"]), "some synthetic values are on MISP warninglists"


def test_a_dead_worker_costs_speed_never_a_result(node, monkeypatch):
    monkeypatch.setenv("GROTIUS_INGEST_WORKERS", "1")
    objs = bundle(3000, seed=9)["objects"]
    ingest(node, objs[:1000])  # starts the worker
    pool = checkpool._pool
    assert pool is not None
    for proc in list(pool._processes.values()):
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    with pytest.warns(RuntimeWarning, match="ingest worker unavailable"):
        s = ingest(node, objs[1000:])
    assert (s.stored, s.rejected) == (2000, 0)
    assert node.store.query_one("SELECT COUNT(*) FROM objects WHERE id IN (?, ?)", (objs[1000]["id"], objs[-1]["id"]))[0] == 2
    # the next large ingest gets a fresh worker
    s2 = ingest(node, bundle(1500, seed=10)["objects"])
    assert s2.rejected == 0 and checkpool._pool is not None


def test_a_bad_worker_setting_is_named(node, monkeypatch):
    from grotius.exc import ConfigError

    monkeypatch.setenv("GROTIUS_INGEST_WORKERS", "two")
    with pytest.raises(ConfigError, match="GROTIUS_INGEST_WORKERS must be a whole number"):
        ingest(node, bundle(10, seed=3)["objects"])
    assert node.store.query_one("SELECT COUNT(*) FROM objects WHERE id = ?", (bundle(10, seed=3)["objects"][0]["id"],))[0] == 0
