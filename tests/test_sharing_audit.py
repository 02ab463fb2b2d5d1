"""Audit log: hash chain, tamper detection (altered / inserted / deleted / truncated),
entries written inside the caller's transaction, admin changes recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from grotius import collections, users
from grotius.exc import InvalidInput
from grotius.ingest import ingest
from grotius.node import Node
from grotius.sharing import audit
from grotius.stix import markings
from grotius.stix.grading import set_grade


def _indicator(n: int) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '203.0.113.{n % 250}']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [markings.TLP2_IDS["green"]],
    }


def _fill(node: Node, n: int = 6) -> None:
    for i in range(n):
        audit.record_now(node.store, "disclose", actor="alice", partner="US-FED",
                         objects=[(f"indicator--x{i}", "2026-01-01T00:00:00.000000Z")],
                         agreement="agr-1", request_id=f"req-{i}", detail={"i": i})


def _sql(node: Node, sql: str, params: tuple[Any, ...] = ()) -> None:
    with node.store.transaction() as tx:
        tx.execute(sql, params)


def _kinds(rep: audit.Report) -> set[str]:
    return {p.kind for p in rep.problems}


def test_clean_chain_verifies_and_records_writes(node: Node) -> None:
    s = ingest(node, [_indicator(1), _indicator(2)], source=None)
    assert s.stored == 2
    _fill(node)
    rep = audit.verify_node(node)
    assert rep.ok, rep.problems
    writes = audit.entries(node.store, action="write")
    # init's own objects, then the two indicators in one batch entry
    assert sorted(o[0] for o in writes[0].objects) == [_indicator(1)["id"], _indicator(2)["id"]]
    assert writes[0].detail["count"] == 2
    by_obj = audit.entries(node.store, object_id=_indicator(2)["id"])
    assert [e.action for e in by_obj] == ["write"]
    fed = audit.entries(node.store, partner="US-FED")
    assert len(fed) == 6 and fed[0].request_id == "req-5" and fed[0].agreement == "agr-1"


def test_unchanged_reimport_adds_no_write_entry(node: Node) -> None:
    ingest(node, [_indicator(1)])
    before = audit.head(node.store)[0]
    s = ingest(node, [_indicator(1)])
    assert s.unchanged == 1
    assert audit.head(node.store)[0] == before


def test_entry_commits_with_callers_transaction(node: Node) -> None:
    before = audit.head(node.store)
    with pytest.raises(RuntimeError):
        with node.store.transaction() as tx:
            audit.record(tx, "disclose", actor="bob", partner="US-FED")
            raise RuntimeError("disclosure failed")
    assert audit.head(node.store) == before
    assert audit.verify_node(node).ok


def test_altered_entry_detected(node: Node) -> None:
    _fill(node)
    _sql(node, "UPDATE audit_log SET partner = 'NL-OM' WHERE seq = 4")
    rep = audit.verify_node(node)
    assert not rep.ok
    assert [(p.seq, p.kind) for p in rep.problems] == [(4, "altered")]


def test_altered_detail_json_detected(node: Node) -> None:
    _fill(node)
    row = node.store.query_one("SELECT detail FROM audit_log WHERE seq = 3")
    d = json.loads(row[0])
    d["i"] = 99
    _sql(node, "UPDATE audit_log SET detail = ? WHERE seq = 3", (json.dumps(d),))
    assert (3, "altered") in {(p.seq, p.kind) for p in audit.verify_node(node).problems}


def test_deleted_entry_detected(node: Node) -> None:
    _fill(node)
    _sql(node, "DELETE FROM audit_log WHERE seq = 3")
    rep = audit.verify_node(node)
    assert "deleted" in _kinds(rep)
    assert any(p.seq == 4 for p in rep.problems)


def test_inserted_entry_detected(node: Node) -> None:
    """A forged entry slipped in between 2 and 3 (later entries renumbered), with a
    hash that is correct for its own content."""
    _fill(node)
    _sql(node, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3")
    _sql(node, "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
    prev = node.store.query_one("SELECT hash, at_us FROM audit_log WHERE seq = 2")
    h = audit.entry_hash(3, int(prev[1]) + 1, "disclose", "mallory", "US-FED", [], None, None, {}, prev[0])
    _sql(node,
         "INSERT INTO audit_log (seq, at_us, action, actor, partner, objects, agreement, request_id, "
         "detail, prev_hash, hash) VALUES (3, ?, 'disclose', 'mallory', 'US-FED', '[]', NULL, NULL, '{}', ?, ?)",
         (int(prev[1]) + 1, prev[0], h))
    rep = audit.verify_node(node)
    assert not rep.ok
    assert "inserted" in _kinds(rep)
    assert any(p.seq == 4 for p in rep.problems)  # the renumbered original no longer links


def test_tail_truncation_caught_by_signed_checkpoint(node: Node) -> None:
    _fill(node)
    assert audit.checkpoint(node) is not None
    assert audit.checkpoint(node) is None  # head did not move
    last = audit.head(node.store)[0]
    # a DB admin deletes the last two entries and rewinds the head row consistently
    _sql(node, "DELETE FROM audit_log WHERE seq >= ?", (last - 1,))
    h = node.store.query_one("SELECT hash FROM audit_log WHERE seq = ?", (last - 2,))[0]
    _sql(node, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (last - 2, h))
    assert audit.verify(node.store).ok  # the chain alone cannot see a clean truncation
    rep = audit.verify_node(node)
    assert [p.kind for p in rep.problems] == ["deleted"]
    assert f"{last - 1}-{last}" in rep.problems[0].message


def test_tail_truncation_without_head_rewind_detected(node: Node) -> None:
    _fill(node)
    last = audit.head(node.store)[0]
    _sql(node, "DELETE FROM audit_log WHERE seq = ?", (last,))
    assert "head" in _kinds(audit.verify(node.store))


def test_whole_chain_rewrite_caught_by_checkpoint(node: Node) -> None:
    """Recomputing every hash after an alteration fools the chain, not the signed checkpoint."""
    _fill(node)
    audit.checkpoint(node)
    _sql(node, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    rows = node.store.query(
        "SELECT seq, at_us, action, actor, partner, objects, agreement, request_id, detail "
        "FROM audit_log ORDER BY seq")
    prev = audit.GENESIS
    for r in rows:
        h = audit.entry_hash(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], json.loads(r[8]), prev)
        _sql(node, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, r[0]))
        prev = h
    _sql(node, "UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
    assert audit.verify(node.store).ok
    rep = audit.verify_node(node)
    assert "altered" in _kinds(rep) and "checkpoint" in rep.problems[0].message


def test_forged_checkpoint_detected(node: Node) -> None:
    _fill(node)
    audit.checkpoint(node)
    path = node.home / audit.CHECKPOINT_FILE
    cp = json.loads(path.read_text().splitlines()[-1])
    cp["seq"] += 5
    with open(path, "a") as f:
        f.write(json.dumps(cp) + "\n")
    assert "checkpoint" in _kinds(audit.verify_node(node))


def test_admin_changes_are_recorded(node: Node) -> None:
    users.add(node.store, "admin1", "correct horse battery", "admin")
    collections.add(node.store, "shared", "Shared")
    ingest(node, [_indicator(7)])
    with audit.acting_as("web:admin1"):
        set_grade(node, _indicator(7)["id"], "B2", note="corroborated")
    acts = [(e.action, e.actor) for e in audit.entries(node.store, limit=4)]
    assert acts[0] == ("grade", "web:admin1")
    assert [a for a, _ in acts[1:]] == ["write", "collection.add", "user.add"]
    assert "password" not in json.dumps([e.detail for e in audit.entries(node.store)])
    assert audit.verify_node(node).ok


def test_bad_record_input_rejected(node: Node) -> None:
    with pytest.raises(InvalidInput):
        audit.record_now(node.store, "", actor="x")
    with pytest.raises(InvalidInput):
        audit.record_now(node.store, "disclose", objects=[("only-id",)])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        audit.record_now(node.store, "disclose", detail={"big": 2**60})
    assert audit.verify_node(node).ok


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_page_and_api(node: Node) -> None:
    from fastapi.testclient import TestClient

    from grotius.web.app import create_app

    users.add(node.store, "admin1", "correct horse battery", "admin")
    ingest(node, [_indicator(3)])
    _fill(node, 2)
    client = TestClient(create_app(node))
    auth_ = ("admin1", "correct horse battery")
    r = client.get("/api/audit", params={"partner": "US-FED"}, auth=auth_)
    assert r.status_code == 200, r.text
    assert [e["request_id"] for e in r.json()["entries"]] == ["req-1", "req-0"]
    r = client.get("/api/audit", params={"object": _indicator(3)["id"]}, auth=auth_)
    assert [e["action"] for e in r.json()["entries"]] == ["write"]
    assert client.get("/api/audit/verify", auth=auth_).json()["ok"] is True
    r = client.get(f"/api/signatures/{node.identity_id}", auth=auth_)
    assert r.json()["status"] == "valid" and r.json()["signer_name"] == node.config.org
    html = client.get("/audit", params={"partner": "US-FED", "verify": 1}, auth=auth_).text
    assert "req-1"[:5] in html and "Chain verified" in html
    html = client.get("/audit", params={"object": node.identity_id}, auth=auth_).text
    assert "signature verifies" in html
    assert client.get("/api/audit").status_code == 401


def test_fast_canonical_form_is_rfc8785():
    import rfc8785

    from grotius.sharing.audit import canonical

    tricky = "".join(chr(i) for i in range(0x80)) + "é\u2028\U0001f600\ue000"
    args = (7, 2**52, "write", "analyst " + tricky, None, [("indicator--x", "2026-01-01T00:00:00.000000Z")],
            "agr", None, {"z": [1, -3, True, None, {"b": tricky, "a": ""}], "A": 2**53 - 1}, "0" * 64)
    entry = {"seq": args[0], "time": args[1], "action": args[2], "actor": args[3], "partner": args[4],
             "objects": [list(o) for o in args[5]], "agreement": args[6], "request_id": args[7],
             "detail": args[8], "prev": args[9]}
    assert canonical(*args) == rfc8785.dumps(entry)
    # outside the fast path's domain (a float, a non-ASCII key) rfc8785 itself is used
    for detail in ({"ratio": 0.1}, {"clé": 1}):
        a = (*args[:8], detail, args[9])
        assert canonical(*a) == rfc8785.dumps(dict(entry, detail=detail))
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical(*args[:8], {"big": 2**60}, args[9])
