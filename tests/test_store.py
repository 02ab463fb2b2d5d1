"""The store on both engines: versions, the node clock, idempotence, collections, migrations."""

from __future__ import annotations

import copy

import pytest

from grotius.exc import ConfigError
from grotius.ingest import ingest
from grotius.store import migrate, objects
from grotius.store.migrate import AREAS

IND = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-01-01T00:00:00.000Z",
    "modified": "2026-01-01T00:00:00.000Z",
    "name": "C2",
    "pattern": "[ipv4-addr:value = '203.0.113.5']",
    "pattern_type": "stix",
    "valid_from": "2026-01-01T00:00:00Z",
}


def test_every_version_is_kept_and_reimport_changes_nothing(node):
    v2 = dict(IND, modified="2026-02-01T00:00:00.000Z", name="C2 (revised)")
    s = ingest(node, [IND, v2])
    assert (s.stored, s.unchanged, s.rejected) == (2, 0, 0)
    before = node.store.query("SELECT pk, date_added, raw FROM objects ORDER BY pk")
    s = ingest(node, [IND, v2])
    assert (s.stored, s.unchanged, s.rejected) == (0, 2, 0)
    assert node.store.query("SELECT pk, date_added, raw FROM objects ORDER BY pk") == before
    assert [v.version for v in objects.versions(node.store, IND["id"])] == [
        "2026-01-01T00:00:00.000000Z",
        "2026-02-01T00:00:00.000000Z",
    ]
    assert objects.get(node.store, IND["id"]).obj["name"] == "C2 (revised)"
    assert objects.get(node.store, IND["id"], "2026-01-01T00:00:00Z").obj == IND


def test_changed_content_without_new_modified_is_refused_and_keeps_the_stored_version(node):
    ingest(node, [IND])
    changed = dict(IND, name="tampered")
    s = ingest(node, [changed])
    assert s.rejected == 1 and s.errors[0].code == "conflict"
    assert "modified" in str(s.errors[0])
    assert objects.get(node.store, IND["id"]).obj == IND


def test_date_added_unique_and_strictly_increasing(node):
    batch = []
    for i in range(300):
        o = copy.deepcopy(IND)
        o["id"] = f"indicator--{i:08d}-17d4-4cbf-938f-98ee46b3cd3f"
        batch.append(o)
    ingest(node, batch[:150])
    ingest(node, batch[150:])
    stamps = [r[0] for r in node.store.query("SELECT date_added FROM objects ORDER BY pk")]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_collection_membership_added_later_gets_a_new_date_added(node):
    from grotius.collections import add, get

    add(node.store, "shared", "Shared")
    ingest(node, [IND])
    held = objects.get(node.store, IND["id"])
    s = ingest(node, [IND], collection="shared")
    assert s.unchanged == 1
    row = node.store.query_one("SELECT date_added FROM collection_items")
    assert row[0] > held.date_added
    assert get(node.store, "shared")["count"] == 1
    ingest(node, [IND], collection="shared")
    assert get(node.store, "shared")["count"] == 1


def test_stored_verbatim(node):
    odd = dict(IND, id="indicator--11111111-17d4-4cbf-938f-98ee46b3cd3f", x_big=2**70, x_float=1.5e-7,
               x_text="Ünïcode ✓ \u2028", x_nested={"b": [1, 2, {"c": None}], "a": True})
    ingest(node, [odd])
    assert objects.get(node.store, odd["id"]).obj == odd


def test_migrations_are_idempotent_and_refuse_a_newer_schema(node):
    assert migrate(node.store) == []
    with node.store.transaction() as tx:
        tx.execute("INSERT INTO schema_migrations (area, number) VALUES ('store', 999)")
    with pytest.raises(ConfigError, match="newer"):
        migrate(node.store)
    assert "store" in AREAS


def test_upgrade_of_an_existing_node_keeps_its_data(node, monkeypatch):
    """A newer Grotius adds a migration; opening the node applies it and loses nothing."""
    import grotius.finance.schema as area

    ingest(node, [IND])
    monkeypatch.setattr(area, "MIGRATIONS", [*area.MIGRATIONS, "CREATE TABLE upgrade_probe (x {bigint})"])
    applied = migrate(node.store)
    assert ("finance", len(area.MIGRATIONS)) in applied
    assert objects.get(node.store, IND["id"]).obj == IND
    assert node.store.query("SELECT COUNT(*) FROM upgrade_probe") == [(0,)]


def test_new_keys_are_fresh_and_leave_default_keys_working(node):
    """Keys handed out for explicit inserts never collide with stored rows, with each
    other, or with a later insert that lets the engine pick the key."""
    with node.store.transaction() as tx:
        tx.execute(node.store.ddl("CREATE TABLE keys_probe (k {pk}, v TEXT)"))
        tx.execute("INSERT INTO keys_probe (v) VALUES ('engine')")
        first = tx.new_keys("keys_probe", "k", 3)
        tx.executemany("INSERT INTO keys_probe (k, v) VALUES (?, 'explicit')", [(k,) for k in first])
        second = tx.new_keys("keys_probe", "k", 2)
        tx.executemany("INSERT INTO keys_probe (k, v) VALUES (?, 'explicit')", [(k,) for k in second])
        tx.execute("INSERT INTO keys_probe (v) VALUES ('engine')")
        assert tx.new_keys("keys_probe", "k", 0) == []
    keys = [r[0] for r in node.store.query("SELECT k FROM keys_probe ORDER BY k")]
    assert len(keys) == len(set(keys)) == 7
    assert sorted(first) == first and sorted(second) == second and max(first) < min(second)
