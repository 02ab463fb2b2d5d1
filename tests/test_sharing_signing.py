"""Provenance signatures: own objects signed on entry, any byte change detected,
signatures survive relaying through a third node and re-serialisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from grotius.cli import main
from grotius.ingest import ingest
from grotius.node import Node
from grotius.sharing import partners, signing
from grotius.stix import markings
from grotius.store import objects

# engine-independent logic: the engine-specific paths are covered by the tests on both
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _report(by: str, n: int = 1) -> dict[str, Any]:
    return {
        "type": "report", "spec_version": "2.1",
        "id": f"report--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-02-01T10:00:00.000Z", "modified": "2026-02-01T10:00:00.000Z",
        "created_by_ref": by, "name": f"Tidewater Spider C2 report {n}",
        "description": "C2 range 203.0.113.0/24; domain update-check.tidewater.example",
        "published": "2026-02-01T10:00:00Z", "report_types": ["threat-actor"],
        "object_refs": [by], "confidence": 70,
        "object_marking_refs": [markings.TLP2_IDS["amber"]],
    }


def _held(node: Node, oid: str) -> dict[str, Any]:
    st = objects.get(node.store, oid)
    assert st is not None
    return st.obj


def test_own_objects_signed_on_entry(node: Node) -> None:
    ident = _held(node, node.identity_id)
    assert signing.check(ident, signing.keyring(node)).status == signing.VALID
    s = ingest(node, [_report(node.identity_id)])
    assert s.stored == 1
    obj = _held(node, _report(node.identity_id)["id"])
    sig = signing.signature_of(obj)
    assert sig and sig["signer"] == node.identity_id and sig["key_id"] == signing.key_id(node.public_key)
    assert signing.check(obj, signing.keyring(node)).status == signing.VALID
    # stored verbatim: the raw row is the signed form
    raw = node.store.query_one("SELECT raw FROM objects WHERE id = ?", (obj["id"],))[0]
    assert orjson.loads(raw) == obj
    assert node.store.query_one("SELECT status FROM object_signatures o JOIN objects b ON b.pk = o.pk "
                                "WHERE b.id = ?", (obj["id"],)) == ("valid",)
    # re-importing the same unsigned source object is idempotent, not a conflict
    again = ingest(node, [_report(node.identity_id)])
    assert again.unchanged == 1 and again.rejected == 0


@SQLITE_ONLY
def test_foreign_objects_not_signed_locally(node: Node) -> None:
    other = "identity--11111111-1111-4111-8111-111111111111"
    ingest(node, [_report(other, 2)], strict_refs=False)
    assert signing.signature_of(_held(node, _report(other, 2)["id"])) is None


@SQLITE_ONLY
def test_every_byte_change_is_detected(node: Node) -> None:
    ingest(node, [_report(node.identity_id)])
    obj = _held(node, _report(node.identity_id)["id"])
    ring = signing.keyring(node)
    data = orjson.dumps(obj)
    checked = 0
    for i in range(len(data)):
        for delta in (1, 2):
            mutated = bytearray(data)
            mutated[i] ^= delta
            try:
                m = json.loads(bytes(mutated))
            except (ValueError, UnicodeDecodeError):
                continue  # not JSON any more: cannot be taken for the signed object
            if not isinstance(m, dict):
                continue
            assert signing.check(m, ring).status != signing.VALID, (i, bytes(mutated[max(0, i - 20):i + 20]))
            checked += 1
    assert checked > len(data)  # most single-byte changes still parse


def _pair(make_node: Any) -> tuple[Node, Node]:
    nl = make_node("NL-POL")
    us = make_node("US-FED")
    return nl, us


def _trust(receiver: Node, sender: Node, name: str) -> None:
    partners.add(receiver, name, tlp_max="amber", public_key_pem=sender.public_key_pem(),
                 identity_id=sender.identity_id)


def test_tampered_object_from_partner_rejected(make_node: Any) -> None:
    nl, us = _pair(make_node)
    _trust(us, nl, "NL-POL")
    ingest(nl, [_report(nl.identity_id)])
    obj = _held(nl, _report(nl.identity_id)["id"])
    bad = dict(obj, description=obj["description"].replace("203.0.113.0/24", "198.51.100.0/24"))
    s = ingest(us, [bad], source="NL-POL", strict_refs=False)
    assert s.rejected == 1 and "does not verify" in str(s.errors[0])
    assert objects.get(us.store, obj["id"]) is None
    ok = ingest(us, [obj], source="NL-POL", strict_refs=False)
    assert ok.stored == 1


@SQLITE_ONLY
def test_wrong_pinned_key_rejected(make_node: Any) -> None:
    nl, us = _pair(make_node)
    partners.add(us, "NL-POL", public_key_pem=us.public_key_pem(), identity_id=nl.identity_id)
    ingest(nl, [_report(nl.identity_id)])
    s = ingest(us, [_held(nl, _report(nl.identity_id)["id"])], source="NL-POL", strict_refs=False)
    assert s.rejected == 1 and "pinned" in str(s.errors[0])


@SQLITE_ONLY
def test_unknown_signer_accepted_and_flagged(make_node: Any) -> None:
    nl, us = _pair(make_node)
    ingest(nl, [_report(nl.identity_id)])
    obj = _held(nl, _report(nl.identity_id)["id"])
    assert ingest(us, [obj], source="somebody", strict_refs=False).stored == 1
    assert signing.status_of(us, obj).status == signing.UNKNOWN_KEY


@SQLITE_ONLY
def test_signature_survives_relay_through_third_node(make_node: Any) -> None:
    """NL-POL -> US-FED -> NL-OM: NL-OM is no partner of NL-POL but has its key pinned."""
    nl, us = _pair(make_node)
    om = make_node("NL-OM")
    _trust(us, nl, "NL-POL")
    _trust(om, us, "US-FED")
    signing.pin(om.store, nl.identity_id, nl.public_key_pem(), "NL-POL")
    ingest(nl, [_report(nl.identity_id)])
    oid = _report(nl.identity_id)["id"]
    assert ingest(us, [_held(nl, oid)], source="NL-POL", strict_refs=False).stored == 1
    # the relay hands it on re-serialised (other key order, whitespace), as TAXII servers do
    relayed = json.dumps(_held(us, oid), indent=2, sort_keys=True)
    s = ingest(om, [json.loads(relayed)], source="US-FED", strict_refs=False)
    assert s.stored == 1, s.errors
    at_om = _held(om, oid)
    res = signing.check(at_om, signing.keyring(om))
    assert res.status == signing.VALID and res.signer == nl.identity_id
    assert om.store.query_one(
        "SELECT s.signer, s.status FROM object_signatures s JOIN objects o ON o.pk = s.pk WHERE o.id = ?",
        (oid,)) == (nl.identity_id, "valid")


def _bundle(objs: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "bundle", "id": "bundle--6b1b6d0e-6a43-4d5a-8d1d-9d7c1f8e2a10",
                       "objects": objs}).encode()


@SQLITE_ONLY
def test_verify_command(node: Node, tmp_path: Path) -> None:
    ingest(node, [_report(node.identity_id)])
    obj = _held(node, _report(node.identity_id)["id"])
    good = tmp_path / "good.json"
    good.write_bytes(_bundle([obj]))
    bad = tmp_path / "bad.json"
    bad.write_bytes(_bundle([dict(obj, confidence=90)]))
    pub = tmp_path / "nl.pub"
    pub.write_text(node.public_key_pem())
    runner = CliRunner(env={"GROTIUS_HOME": None})
    r = runner.invoke(main, ["verify", "--home", str(node.home), str(good)])
    assert r.exit_code == 0, r.output
    assert "valid" in r.output and node.identity_id in r.output
    r = runner.invoke(main, ["verify", "--key", str(pub), str(good)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["verify", "--key", str(pub), str(bad)])
    assert r.exit_code == 1 and "does not verify" in r.output
    r = runner.invoke(main, ["verify", str(good)])  # no key: cannot vouch
    assert r.exit_code == 1 and "not pinned" in r.output


@SQLITE_ONLY
def test_redacted_copies_resigned_by_originator_or_unsigned_by_relay(make_node: Any) -> None:
    from grotius.sharing import policy

    nl, us = _pair(make_node)
    om = make_node("NL-OM")
    _trust(us, nl, "NL-POL")
    _trust(om, nl, "NL-POL")
    _trust(om, us, "US-FED")
    rep = dict(_report(nl.identity_id), granular_markings=[
        {"marking_ref": markings.TLP2_IDS["red"], "selectors": ["description"]}])
    ingest(nl, [rep])
    held = _held(nl, rep["id"])
    cleared = policy.Clearance(who="NL-OM", kind="partner", local=frozenset({"clear", "green", "amber"}))
    red_out, removed = policy.redact(held, cleared, None, nl.identity_id)
    assert red_out is not None and removed == ["description"]
    assert signing.check(red_out, signing.keyring(om)).status == signing.INVALID  # the problem
    fixed = signing.for_redacted(nl, red_out)
    assert signing.check(fixed, signing.keyring(om)).status == signing.VALID
    assert ingest(om, [fixed], source="NL-POL", strict_refs=False).stored == 1
    # a relay (US-FED) cannot re-sign NL-POL's object: it hands it on unsigned, saying so
    relayed = signing.for_redacted(us, red_out)
    assert signing.signature_of(relayed) is None
    ext = relayed["extensions"][signing.GROTIUS_EXTENSION_ID]
    assert ext["redacted"]["signature_removed"]["signer"] == nl.identity_id
