"""A corpus of malformed inputs: clear per-object errors, never a traceback, and the valid
objects in the same files are stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grotius.ingest import ingest, read
from grotius.store import objects

GOOD = {
    "type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
    "created": "2026-03-01T10:00:00.000Z", "modified": "2026-03-01T10:00:00.000Z",
    "name": "TideLock", "is_family": True,
}
GOOD2 = dict(GOOD, id="malware--41b940d4-6f7f-459a-80ea-9c1f17b5891b", name="TideLock loader")


def _ind(**kw):
    base = {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--a1b2c3d4-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '203.0.113.5']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


BAD_OBJECTS = {
    "not an object": (["indicator", 1], None),
    "wrong type of property": (_ind(name=42), "name"),
    "bad id": (_ind(id="indicator--not-a-uuid"), "id"),
    "id of another type": (_ind(id="malware--a1b2c3d4-17d4-4cbf-938f-98ee46b3cd3f"), "id"),
    "missing required": (_ind(pattern_type=None), "pattern_type"),
    "bad timestamp": (_ind(created="2026-13-01T00:00:00Z"), "created"),
    "timestamp without zone": (_ind(modified="2026-01-01T00:00:00"), "modified"),
    "modified before created": (_ind(modified="2025-01-01T00:00:00.000Z"), "modified"),
    "bad pattern": (_ind(pattern="[ipv4-addr:value = '203.0.113.5'"), "pattern"),
    "mistyped reference": (_ind(created_by_ref="malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"), "created_by_ref"),
    "dangling relationship": ({
        "type": "relationship", "spec_version": "2.1", "id": "relationship--a1b2c3d4-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "relationship_type": "uses", "source_ref": GOOD["id"],
        "target_ref": "tool--99999999-17d4-4cbf-938f-98ee46b3cd3f"}, "target_ref"),
    "unknown marking": (_ind(object_marking_refs=["marking-definition--99999999-17d4-4cbf-938f-98ee46b3cd3f"]),
                        "object_marking_refs"),
    "oversized value": (_ind(description="x" * (2 * 1024 * 1024)), "description"),
    "deeply nested": (_ind(x_deep=json.loads("[" * 200 + "]" * 200)), "x_deep"),
}


@pytest.mark.parametrize("case", sorted(BAD_OBJECTS))
def test_bad_object_rejected_with_position_id_and_property(node, case):
    bad, prop = BAD_OBJECTS[case]
    s = ingest(node, read(json.dumps({"type": "bundle", "id": "bundle--1b2c3d4e-17d4-4cbf-938f-98ee46b3cd3f",
                                      "objects": [GOOD, bad, GOOD2]}).encode()))
    assert (s.stored, s.rejected) == (2, 1), [str(e) for e in s.errors]
    err = s.errors[0]
    assert err.detail.get("position") == 1
    if isinstance(bad, dict):
        assert err.detail.get("object_id") == bad["id"]
    if prop:
        assert prop in str(err.detail.get("property", "")) + str(err), str(err)
    assert objects.get(node.store, GOOD["id"]) and objects.get(node.store, GOOD2["id"])


def test_broken_json_keeps_the_objects_before_the_break(node):
    text = json.dumps({"type": "bundle", "id": "bundle--1b2c3d4e-17d4-4cbf-938f-98ee46b3cd3f",
                       "objects": [GOOD, GOOD2]})
    broken = text[:-2] + ', {"type": "malware", "name": '
    s = ingest(node, read(broken.encode()))
    assert s.stored == 2 and s.rejected == 1
    assert "broken JSON at line 1" in str(s.errors[0])


def test_json_lines_with_a_bad_line(node):
    lines = [json.dumps(GOOD), "{not json", json.dumps(GOOD2)]
    s = ingest(node, read("\n".join(lines).encode()))
    assert (s.stored, s.rejected) == (2, 1)
    assert s.errors[0].detail["line"] == 2


def test_bytes_that_are_not_utf8_name_the_object(node):
    data = json.dumps([GOOD, dict(GOOD2, description="@@")]).encode().replace(b"@@", b"\xff\xfe")
    s = ingest(node, read(data))
    assert (s.stored, s.rejected) == (1, 1)
    assert s.errors[0].detail.get("position") == 1
    assert "description" in str(s.errors[0])


def test_utf8_byte_order_mark_is_ignored(node):
    s = ingest(node, read(b"\xef\xbb\xbf" + json.dumps([GOOD, GOOD2]).encode()))
    assert (s.stored, s.rejected) == (2, 0), s.errors


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wide_encodings_are_named(node, encoding):
    s = ingest(node, read(json.dumps([GOOD, GOOD2]).encode(encoding)))
    assert (s.stored, s.rejected) == (0, 1)
    assert "not UTF-8" in s.errors[0].message and "UTF-" + encoding[4:6] in s.errors[0].message


def test_input_neither_utf8_nor_json_is_one_error(node):
    s = ingest(node, read(b"caf\xe9 is no JSON"))
    assert (s.stored, s.rejected) == (0, 1)
    msg = s.errors[0].message
    assert "not valid UTF-8" in msg and "0xe9" in msg and "broken JSON" in msg


def test_unknown_collection_fails_before_anything(node):
    from grotius.exc import NotFound

    with pytest.raises(NotFound, match="no collection named 'nope'"):
        ingest(node, read(b"not even JSON"), collection="nope")
    assert objects.get(node.store, GOOD["id"]) is None


def test_damaged_store_is_a_clear_error(tmp_path: Path):
    home = tmp_path / "home"
    grotius = [sys.executable, "-m", "grotius"]
    subprocess.run([*grotius, "init", "--home", str(home), "--org", "NL-POL"], check=True, capture_output=True)
    for suffix in ("-wal", "-shm"):
        (home / f"grotius.db{suffix}").unlink(missing_ok=True)
    (home / "grotius.db").write_bytes(b"this was overwritten by mistake" * 200)
    f = tmp_path / "in.json"
    f.write_text(json.dumps([GOOD]))
    r = subprocess.run([*grotius, "import", "--home", str(home), str(f)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert f"the store {home / 'grotius.db'} is not a SQLite database or is damaged" in r.stderr


def test_empty_and_garbage_inputs(node):
    for data in (b"", b"   ", b"\x00\x01\x02", b"<html></html>", b"[1, 2", b'{"type": "bundle", "objects": 5}'):
        s = ingest(node, read(data))
        assert s.rejected >= 1 and s.stored == 0, data


def test_cli_prints_errors_and_summary_without_traceback(tmp_path: Path):
    home = tmp_path / "home"
    grotius = [sys.executable, "-m", "grotius"]
    subprocess.run([*grotius, "init", "--home", str(home), "--org", "NL-POL"], check=True, capture_output=True)
    f = tmp_path / "in.json"
    f.write_bytes(b'[' + json.dumps(GOOD).encode() + b', {"type": "indicator", "id": "x"}, 7]')
    r = subprocess.run([*grotius, "import", "--home", str(home), str(f)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "stored 1, unchanged 0, rejected 2" in r.stdout
    assert "position=1" in r.stderr and "position=2" in r.stderr
    r = subprocess.run([*grotius, "import", "--home", str(home), str(f)], capture_output=True, text=True)
    assert "stored 0, unchanged 1, rejected 2" in r.stdout
    r = subprocess.run([*grotius, "export", "--home", str(home), "--tlp-max", "purple"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown TLP level" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*grotius, "import", "--home", str(tmp_path / "nowhere"), str(f)], capture_output=True, text=True)
    assert r.returncode == 1 and "no Grotius node" in r.stderr
