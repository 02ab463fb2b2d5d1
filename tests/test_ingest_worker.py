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


def _check_one(obj, position, analysers):
    """The plain reading of checkpool.check_all: one object, every step."""
    from grotius.stix.validate import check

    problems = check(obj, position=position)
    if problems:
        return problems, {}
    return problems, {name: fn(obj) for name, fn in analysers}


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


def test_reading_a_large_input_starts_the_worker_that_then_checks_it(node, monkeypatch):
    import grotius.ingest as ingest_mod

    data = _input()
    monkeypatch.setattr(ingest_mod, "PRESTART_BYTES", len(data))
    checkpool.shutdown()
    monkeypatch.setenv("GROTIUS_INGEST_WORKERS", "0")
    read(data)
    assert checkpool._pool is None, "no worker is started when none is wanted"
    monkeypatch.setenv("GROTIUS_INGEST_WORKERS", "1")
    items = read(data)
    pool = checkpool._pool
    assert pool is not None
    s = ingest(node, items)
    assert checkpool._pool is pool, "the ingest used the worker started while reading"
    assert s.rejected == len(BAD_OBJECTS) + 1 and s.stored > 2500


def test_a_bad_worker_setting_is_named(node, monkeypatch):
    from grotius.exc import ConfigError

    monkeypatch.setenv("GROTIUS_INGEST_WORKERS", "two")
    with pytest.raises(ConfigError, match="GROTIUS_INGEST_WORKERS must be a whole number"):
        ingest(node, bundle(10, seed=3)["objects"])
    assert node.store.query_one("SELECT COUNT(*) FROM objects WHERE id = ?", (bundle(10, seed=3)["objects"][0]["id"],))[0] == 0


def _same(a: object, b: object) -> bool:
    """Equal with the same types all the way down (NaN equals NaN, -0.0 differs from 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(k, k2) and _same(a[k], b[k2]) for k, k2 in zip(a, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, BaseException):
        return str(a) == str(b) and a.to_dict() == b.to_dict()  # type: ignore[attr-defined]
    return a == b


class _Text(str):
    pass


def _tricky() -> list[object]:
    nested: object = "x"
    for i in range(300):
        nested = [nested] if i % 2 else {"k": nested}
    shared = {"labels": ["a"]}
    return [
        dict(GOOD, x_nan=float("nan"), x_inf=float("-inf"), x_zero=-0.0, x_big=10**40, x_neg=-(2**70)),
        dict(GOOD, name="lone \udc80 surrogate", x_k={"\ud800": 1}),
        dict(GOOD, labels=("a", "b")),  # a tuple is not a list: rejected, and must stay a tuple
        dict(GOOD, x_true=True, x_one=1, x_float=1.0, x_none=None, x_nested=nested),
        [shared, shared], "text", 7, None,
    ]


def test_objects_cross_the_process_boundary_unchanged() -> None:
    plain = [*bundle(300, seed=12)["objects"], *_tricky()]
    payload = checkpool._encode(plain)
    assert payload[:1] == b"M"  # built-in types only: the fast encoding
    assert _same(checkpool._unpack(payload), plain)
    # a type marshal refuses sends the whole batch by pickle, types kept
    for odd in (_Text("malware"), __import__("datetime").date(2026, 1, 1), __import__("collections").OrderedDict(a=1)):
        objs = [*plain[:5], dict(GOOD, type=odd) if isinstance(odd, str) else dict(GOOD, x_odd=odd)]
        payload = checkpool._encode(objs)
        assert payload[:1] == b"P", type(odd)
        back = checkpool._unpack(payload)
        assert _same(back, objs)


def test_batch_results_equal_checking_in_this_process() -> None:
    from grotius.correlate import hook

    hook.register()
    objs = [*bundle(600, seed=13)["objects"], *[b for b, _ in BAD_OBJECTS.values()], *_tricky()]
    analysers = list(checkpool.ANALYSERS.items())
    assert {"store.row", "correlate.extract"} <= set(checkpool.ANALYSERS)
    positions = [p * 3 + 1 for p in range(len(objs))]
    expected = [_check_one(o, p, analysers) for o, p in zip(objs, positions)]
    encoded = checkpool._check_batch(checkpool._encode(objs), positions, analysers)
    # the analysers of the node return built-in types only, so the results go by marshal
    # (a named tuple or a dataclass among them would send every batch by pickle)
    head = int.from_bytes(encoded[:8], "little")
    assert encoded[8 + head:9 + head] == b"M"
    got = checkpool._results(encoded)
    assert sum(bool(problems) for problems, _ in expected) >= len(BAD_OBJECTS) + 2
    assert len(got) == len(expected)
    for o, e, g in zip(objs, expected, got):
        assert _same(g, e), o
    # results that marshal refuses (another area's analyser returning its own type) go by pickle
    analysers.append(("test.odd", lambda o: _Text(o.get("id", ""))))
    got = checkpool._results(checkpool._check_batch(checkpool._encode(objs[:50]), positions[:50], analysers))
    assert all(_same(g, _check_one(o, p, analysers)) for o, p, g in zip(objs, positions, got))


def _row_parts_reference(obj: dict) -> tuple:
    """store.objects.row_parts as first written (property names tested by endswith, every
    timestamp normalised on its own)."""
    from grotius.stix import markings
    from grotius.store.objects import _SKIP_REFS, dumps, norm_ts, version_of

    refs: list[tuple[str, str]] = []
    for key, value in obj.items():
        if key in _SKIP_REFS:
            continue
        if key.endswith("_ref") and isinstance(value, str):
            refs.append((key, value))
        elif key.endswith("_refs") and isinstance(value, list):
            refs.extend((key, v) for v in value if isinstance(v, str))
    mids = list(dict.fromkeys(obj.get("object_marking_refs") or ()))
    for g in obj.get("granular_markings") or ():
        if isinstance(g, dict) and "marking_ref" in g and g["marking_ref"] not in mids:
            mids.append(g["marking_ref"])
    return (dumps(obj), version_of(obj), norm_ts(obj.get("created") or ""),
            norm_ts(obj.get("modified") or ""), refs, mids, markings.marked_level(obj))


def test_row_parts_agree_with_the_plain_reading() -> None:
    from grotius.store.objects import refs_of, row_parts

    objs = bundle(1500, seed=14)["objects"]
    objs += [dict(o, created="2020-01-01T00:00:00Z") for o in objs[:200] if "modified" in o]
    objs += [dict(o, x_ref="identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", x_refs=["a", 1, "b"], _refs=5,
                  x_refs_not=["z"], created_by_ref=7) for o in objs[:50]]
    objs += [{"type": "x-a", "id": "x-a--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "created": "2020-01-01T00:00:00.1Z"},
             {"type": "x-a", "id": "x-a--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0062", "modified": "2020-01-01T00:00:00Z"}]
    for o in objs:
        assert _same(row_parts(o), _row_parts_reference(o)), o
    assert any(refs_of(o) for o in objs)


def test_checking_step_by_step_equals_checking_object_by_object() -> None:
    """check_all (validation over the batch, then each analyser) is check_one per object."""
    from grotius.correlate import hook

    hook.register()
    objs = [*[b for b, _ in BAD_OBJECTS.values()], *bundle(400, seed=15)["objects"], *_tricky()]
    positions = list(range(len(objs)))
    for analysers in ([], list(checkpool.ANALYSERS.items())):
        got = checkpool.check_all(objs, positions, analysers)
        expected = [_check_one(o, p, analysers) for o, p in zip(objs, positions)]
        assert len(got) == len(expected)
        assert all(_same(g, e) for g, e in zip(got, expected))
    assert checkpool.check_all([], [], list(checkpool.ANALYSERS.items())) == []


def test_correlation_analysis_agrees_with_the_plain_form() -> None:
    from grotius.correlate import hook, index
    from grotius.correlate.extract import extract

    objs = [*bundle(1500, seed=16)["objects"], GOOD, *[b for b, _ in BAD_OBJECTS.values() if isinstance(b, dict)]]
    plain = 0
    for o in objs:
        ex = extract(o)
        expected = ([tuple(m) for m in ex.mentions], [tuple(u) for u in ex.unreduced],
                    [(m.kind, m.value, *index.columns(m.kind, m.value)) for m in ex.mentions])
        assert _same(hook.analyse(o), expected), o
        plain += not ex.mentions
    assert 0 < plain < len(objs)
