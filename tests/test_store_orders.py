"""Store migration 5 (no index on date_added alone, no objects_stats): the dashboard
counts from per-column indexes against a count from scratch, the upgrade of an existing
node, and the queries that order and bound by pk instead of date_added."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from grotius.ingest import ingest
from grotius.store import migrate
from grotius.stix.markings import TLP2_IDS
from grotius.web import search, stats

CREATORS = [None, "identity--6a1c1a43-2d7e-4f0e-8b8c-1f0d3e2a9b10", "identity--7b2d2b54-3e8f-4a1f-9c9d-2a1e4f3b0c21"]


def _identities() -> list[dict[str, Any]]:
    return [{"type": "identity", "spec_version": "2.1", "id": c, "created": "2026-01-01T00:00:00.000Z",
             "modified": "2026-01-01T00:00:00.000Z", "name": f"org {i}", "identity_class": "organization"}
            for i, c in enumerate(CREATORS[1:])]


def _version(i: int, day: int, rng: random.Random) -> dict[str, Any]:
    o: dict[str, Any] = {
        "type": "indicator" if i % 3 else "malware", "spec_version": "2.1",
        "id": f"{'indicator' if i % 3 else 'malware'}--00000000-0000-4000-8000-{i:012d}",
        "created": "2026-01-01T00:00:00.000Z", "modified": f"2026-01-{day:02d}T00:00:00.000Z",
        "name": f"object {i} day {day}",
    }
    if o["type"] == "indicator":
        o.update(pattern=f"[ipv4-addr:value = '198.51.100.{i % 250}']", pattern_type="stix",
                 valid_from="2026-01-01T00:00:00Z")
    else:
        o["is_family"] = False
    level = rng.choice([None, "clear", "green", "amber", "red"])
    if level:
        o["object_marking_refs"] = [TLP2_IDS[level]]
    creator = rng.choice(CREATORS)
    if creator:
        o["created_by_ref"] = creator
    return o


def from_scratch(node: Any) -> dict[str, dict[Any, int]]:
    """The dashboard's breakdowns, computed row by row over the latest versions."""
    rows = node.store.query(
        "SELECT o.type, o.tlp, o.created_by_ref, COALESCE(o.source, '') FROM objects o "
        "WHERE NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id AND n.version > o.version)"
    )
    out: dict[str, dict[Any, int]] = {"type": {}, "tlp": {}, "creator": {}, "source": {}}
    for row in rows:
        for name, value in zip(out, row):
            out[name][value] = out[name].get(value, 0) + 1
    return out


def dashboard(node: Any) -> dict[str, dict[Any, int]]:
    stats._cache.clear()
    c = stats.counts(node.store)
    return {
        "type": {e["key"]: e["count"] for e in c["by_type"]},
        "tlp": {e["key"]: e["count"] for e in c["by_tlp"] if e["count"]},
        "creator": {e["ref"] or None: e["count"] for e in c["by_org"]},
        "source": {("" if e["key"] == "local" else e["key"]): e["count"] for e in c["by_source"]},
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_dashboard_counts_follow_versions_in_any_order(make_node: Any, seed: int) -> None:
    """Versions of the same objects arrive shuffled, in batches of varying size, from
    several sources, some again (unchanged) and some twice in one batch; after every
    batch the dashboard's counts equal a count over the latest versions."""
    rng = random.Random(seed)
    node = make_node()
    ingest(node, _identities())
    versions = [_version(i, day, rng) for i in range(12) for day in range(1, 6)]
    rng.shuffle(versions)
    while versions:
        batch = [versions.pop() for _ in range(min(len(versions), rng.randint(1, 9)))]
        if rng.random() < 0.3:
            batch.append(dict(batch[0]))  # the same version twice in one batch
        s = ingest(node, batch, source=rng.choice([None, "US-FED", "DE-BKA"]))
        assert s.rejected == 0, s.errors
        assert dashboard(node) == from_scratch(node)
    c = stats.counts(node.store)
    assert c["objects"] == node.store.query_one("SELECT COUNT(DISTINCT id) FROM objects")[0]
    assert c["versions"] == node.store.query_one("SELECT COUNT(*) FROM objects")[0]


def test_upgrade_drops_the_redundant_indexes_and_keeps_everything(make_node: Any) -> None:
    """A node from before store migration 5 (both indexes present) upgrades, loses no
    object, and shows the same dashboard."""
    node = make_node()
    rng = random.Random(9)
    ingest(node, _identities())
    ingest(node, [_version(i, d, rng) for i in range(8) for d in (2, 1, 3)])
    ingest(node, [_version(i, 4, rng) for i in range(4)], source="US-FED")
    before = node.store.query("SELECT pk, id, version, raw FROM objects ORDER BY pk")
    expected = from_scratch(node)
    with node.store.transaction() as tx:
        tx.execute("CREATE UNIQUE INDEX objects_date_added ON objects (date_added)")
        tx.execute("CREATE INDEX objects_stats ON objects (type, tlp, created_by_ref, source)")
        tx.execute("DELETE FROM schema_migrations WHERE area = 'store' AND number = 5")
    assert migrate(node.store) == [("store", 5)]
    assert dashboard(node) == expected
    assert node.store.query("SELECT pk, id, version, raw FROM objects ORDER BY pk") == before
    if node.store.dialect == "sqlite":
        names = {r[0] for r in node.store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    else:
        names = {r[0] for r in node.store.query("SELECT indexname FROM pg_indexes WHERE tablename = 'objects'")}
    assert not {"objects_date_added", "objects_stats"} & names
    assert "objects_type" in names


def test_pk_is_date_added_and_newest_first_orders_agree(make_node: Any) -> None:
    """Queries order and bound by pk where no index on date_added is left: that is only
    right while every version's pk equals its date_added."""
    node = make_node()
    rng = random.Random(3)
    ingest(node, _identities())
    for d in (1, 2, 3):
        ingest(node, [_version(i, d, rng) for i in range(10)], source=None if d != 2 else "US-FED")
    assert node.store.query("SELECT COUNT(*) FROM objects WHERE pk <> date_added") == [(0,)]
    newest = [r[0] for r in node.store.query("SELECT id FROM objects ORDER BY date_added DESC")]
    assert [r["id"] for r in stats.recent(node.store, 7)] == newest[:7]
    stamps = [r[0] for r in node.store.query("SELECT date_added FROM objects ORDER BY date_added")]
    bound = stamps[-20] - 100  # between the first and the second batch of versions
    since = (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=bound)).isoformat()
    want = [r[0] for r in node.store.query(
        "SELECT pk FROM objects WHERE date_added >= ? ORDER BY date_added DESC", (bound,))]
    assert len(want) == 20
    for q in (search.SearchQuery(all_versions=True, since=since, per_page=500),
              search.SearchQuery(all_versions=True, since=since, per_page=500, types=["indicator", "malware"]),
              search.SearchQuery(all_versions=True, since=since, per_page=10, page=2)):
        hits = [h.pk for h in search.run(node.store, q).hits]
        assert hits == want[(q.page - 1) * q.per_page:][:q.per_page], q
    # newest first with and without a filter, and under a TLP ceiling
    unfiltered = [h.pk for h in search.run(node.store, search.SearchQuery(per_page=500)).hits]
    assert unfiltered == sorted(unfiltered, reverse=True)
    capped = [h.pk for h in search.run(node.store, search.SearchQuery(per_page=500), tlp_max="amber").hits]
    assert capped == [pk for pk in unfiltered if pk in set(capped)] and len(capped) < len(unfiltered)


REBUILT = {  # table -> (area, migration number, rowid-table definition it replaced)
    "object_markings": ("store", 6, "CREATE TABLE object_markings (pk INTEGER NOT NULL, marking_id TEXT NOT NULL, "
                                    "PRIMARY KEY (pk, marking_id))"),
    "correlate_mentions": ("correlate", 2, "CREATE TABLE correlate_mentions (vid INTEGER NOT NULL, pk INTEGER NOT NULL, "
                                           "src TEXT NOT NULL, PRIMARY KEY (vid, pk))"),
    "audit_objects": ("sharing", 5, "CREATE TABLE audit_objects (object_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                                    "PRIMARY KEY (object_id, seq))"),
}


def test_upgrade_rebuilds_composite_key_tables_without_rowid(make_node: Any) -> None:
    """SQLite nodes from before these migrations have rowid tables; the upgrade rebuilds
    them keyed by their primary key and keeps every row. PostgreSQL only records the step."""
    import grotius.correlate  # noqa: F401  (the hook fills correlate_mentions)

    node = make_node()
    rng = random.Random(4)
    ingest(node, _identities())
    ingest(node, [_version(i, d, rng) for i in range(10) for d in (1, 2)])
    before = {t: sorted(node.store.query(f"SELECT * FROM {t}")) for t in REBUILT}
    assert all(before.values())
    with node.store.transaction() as tx:
        for table, (area, number, old) in REBUILT.items():
            if node.store.dialect == "sqlite":
                tx.execute(f"ALTER TABLE {table} RENAME TO {table}_kept")
                tx.execute(old)
                tx.execute(f"INSERT INTO {table} SELECT * FROM {table}_kept")
                tx.execute(f"DROP TABLE {table}_kept")
            tx.execute("DELETE FROM schema_migrations WHERE area = ? AND number = ?", (area, number))
    assert sorted(migrate(node.store)) == sorted((a, n) for a, n, _ in REBUILT.values())
    for table in REBUILT:
        assert sorted(node.store.query(f"SELECT * FROM {table}")) == before[table]
        if node.store.dialect == "sqlite":
            sql = node.store.query_one("SELECT sql FROM sqlite_master WHERE name = ?", (table,))[0]
            assert sql.rstrip().endswith("WITHOUT ROWID")
    counts = {t: node.store.query_one(f"SELECT COUNT(*) FROM {t}")[0] for t in REBUILT}
    third = [_version(i, 3, rng) for i in range(10)]
    assert ingest(node, third).stored == 10  # the rebuilt tables take new rows
    assert node.store.query_one("SELECT COUNT(*) FROM audit_objects")[0] == counts["audit_objects"] + 10
    assert node.store.query_one("SELECT COUNT(*) FROM object_markings")[0] == counts["object_markings"] + sum(
        len(o.get("object_marking_refs", ())) for o in third)
    assert node.store.query_one("SELECT COUNT(*) FROM correlate_mentions")[0] > counts["correlate_mentions"]
