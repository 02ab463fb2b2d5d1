"""References that must resolve at ingest (markings always, relationship and sighting ends
when strict): to the same input, the store, or the built-in TLP definitions."""

from __future__ import annotations

from typing import Any

from grotius.ingest import ingest
from grotius.stix.markings import TLP2_IDS

MARK = "marking-definition--6b3a1f0e-2c4d-4e5f-8a9b-0c1d2e3f4a5b"
MISSING = "marking-definition--99999999-17d4-4cbf-938f-98ee46b3cd3f"
MAL = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"


def _stmt() -> dict[str, Any]:
    return {"type": "marking-definition", "spec_version": "2.1", "id": MARK,
            "created": "2026-01-01T00:00:00.000Z", "definition_type": "statement",
            "definition": {"statement": "Copyright NL-POL"}}


def _mal(n: int, **kw: Any) -> dict[str, Any]:
    return {"type": "malware", "spec_version": "2.1", "id": f"malware--31b940d4-6f7f-459a-80ea-9c1f17b589{n:02d}",
            "created": "2026-03-01T10:00:00.000Z", "modified": "2026-03-01T10:00:00.000Z",
            "name": f"m{n}", "is_family": True, **kw}


def _rel(n: int, target: str) -> dict[str, Any]:
    return {"type": "relationship", "spec_version": "2.1", "id": f"relationship--a1b2c3d4-17d4-4cbf-938f-98ee46b3cd{n:02d}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "relationship_type": "uses", "source_ref": _mal(1)["id"], "target_ref": target}


def test_markings_resolve_in_input_store_or_builtin(make_node: Any) -> None:
    node = make_node()
    gran = [{"marking_ref": MARK, "selectors": ["name"]}]
    s = ingest(node, [_stmt(), _mal(1, object_marking_refs=[MARK, TLP2_IDS["green"]]), _mal(2, granular_markings=gran)])
    assert (s.stored, s.rejected) == (3, 0), s.errors
    s = ingest(node, [_mal(3, object_marking_refs=[MARK]), _mal(4, granular_markings=gran),
                      _mal(5, object_marking_refs=[TLP2_IDS["red"]])])  # from the store / built in
    assert (s.stored, s.rejected) == (3, 0), s.errors


def test_missing_markings_reject_only_their_objects(make_node: Any) -> None:
    node = make_node()
    s = ingest(node, [
        _mal(1, object_marking_refs=[TLP2_IDS["amber"], MISSING]),
        _mal(2, granular_markings=[{"marking_ref": TLP2_IDS["clear"], "selectors": ["name"]},
                                   {"marking_ref": MISSING, "selectors": ["name"]}]),
        _mal(3),
    ])
    assert (s.stored, s.rejected) == (1, 2)
    assert [(e.detail["position"], e.detail["property"]) for e in s.errors] == [
        (0, "object_marking_refs[1]"), (1, "granular_markings[1].marking_ref")]
    assert all(MISSING in str(e) for e in s.errors)


def test_relationship_ends_must_resolve_only_when_strict(make_node: Any) -> None:
    node = make_node()
    dangling = "tool--99999999-17d4-4cbf-938f-98ee46b3cd3f"
    s = ingest(node, [_mal(1), _mal(2), _rel(1, _mal(2)["id"]), _rel(2, dangling)])
    assert (s.stored, s.rejected) == (3, 1)
    assert (s.errors[0].detail["position"], s.errors[0].detail["property"]) == (3, "target_ref")
    s = ingest(node, [_rel(3, _mal(2)["id"])])  # the end is in the store now
    assert (s.stored, s.rejected) == (1, 0)
    s = ingest(node, [_rel(2, dangling)], strict_refs=False)
    assert (s.stored, s.rejected) == (1, 0)
