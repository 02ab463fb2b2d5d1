"""The Grotius node extension definition: valid STIX, its plain-text `schema` and
docs/extension.md name every x-grotius type the code makes and every property the code
writes, and a node made by an earlier release gets the new definition when opened."""

from __future__ import annotations

import ast
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest

import grotius.correlate  # noqa: F401  (registers the correlation hook that raises leads)
import grotius.node
from grotius.correlate import leads
from grotius.finance.alerts import Alert
from grotius.finance.export import alert_to_stix
from grotius.ingest import ingest
from grotius.matching import entities, fuzzy
from grotius.matching import requests as rfi
from grotius.node import Node
from grotius.stix import extension, validate
from grotius.stix.grading import GROTIUS_EXTENSION_ID
from grotius.stix.markings import TLP2_IDS
from grotius.store.objects import get, versions
from rfi_helpers import HIT1, HIT2, holdings, in_days, link, run_match

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "extension.md"
PACKAGE = ROOT / "grotius"
EXTENSION_PY = PACKAGE / "stix" / "extension.py"
TYPE_RE = re.compile(r"(?<![a-z0-9-])x-grotius-[a-z0-9]+(?:-[a-z0-9]+)*")
#: properties every new SDO has, documented once under "New SDO types"
COMMON = {"type", "spec_version", "id", "created", "modified", "created_by_ref", "object_marking_refs",
          "extensions"}

#: the definition as Grotius 1.0.0 published it, which nodes made before 1.1.0 hold
OLD_DEFINITION: dict[str, Any] = {
    "type": "extension-definition",
    "spec_version": "2.1",
    "id": GROTIUS_EXTENSION_ID,
    "created_by_ref": extension.GROTIUS_IDENTITY,
    "created": "2026-11-01T00:00:00.000Z",
    "modified": "2026-11-01T00:00:00.000Z",
    "name": "Grotius node extension",
    "description": "Objects made by Grotius nodes (leads, hits, requests, alerts, "
    "assessments) and the Admiralty grade of any object.",
    "schema": "https://grotius.example/schemas/node-extension",
    "version": "1.0.0",
    "extension_types": ["new-sdo", "property-extension"],
}


# -- what the code makes, what the definition says ----------------------------------------


def types_in_code(root: Path, skip: Iterable[Path] = (EXTENSION_PY,)) -> dict[str, set[str]]:
    """Every x-grotius type named in a string of the code (constants, f-string parts,
    docstrings), with the files naming it; the definition's own module does not count."""
    found: dict[str, set[str]] = {}
    skipped = {p.resolve() for p in skip}
    for path in sorted(root.rglob("*.py")):
        if path.resolve() in skipped:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for t in TYPE_RE.findall(node.value):
                    found.setdefault(t, set()).add(str(path.relative_to(root)))
    return found


def schema_entry(schema: str, otype: str) -> str | None:
    """The schema text's line for a new SDO type ("- x-grotius-lead (...): ...")."""
    for line in schema.splitlines():
        if line.startswith(f"- {otype} ("):
            return line
    return None


def schema_types(schema: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^- (x-grotius-[a-z0-9-]+) \(", schema, re.M)}


def doc_table(doc: str, otype: str) -> dict[str, bool] | None:
    """Properties of ``otype``'s table in docs/extension.md: name -> required."""
    m = re.search(rf"^### `{re.escape(otype)}`\n(.*?)(?=^##)", doc + "\n##", re.M | re.S)
    if m is None:
        return None
    return {p: req == "yes" for p, req in re.findall(r"^\| `([a-z0-9_]+)` \|[^|\n]*\| (yes|no) \|", m.group(1), re.M)}


def undocumented(types: Iterable[str], schema: str, doc: str) -> list[str]:
    """Types missing from the schema text or without a property table in the doc."""
    return sorted(t for t in types if schema_entry(schema, t) is None or not doc_table(doc, t))


def property_problems(obj: dict[str, Any], schema: str, doc: str) -> list[str]:
    """What an object the code made has that the definition does not say, or lacks that
    the definition requires."""
    t = obj["type"]
    table = doc_table(doc, t) or {}
    entry = schema_entry(schema, t) or ""
    out = []
    for p in sorted(set(obj) - COMMON):
        if p not in table:
            out.append(f"{t}.{p} is not in docs/extension.md")
        if not re.search(rf"(?<![a-z_]){p}(?![a-z_])", entry):
            out.append(f"{t}.{p} is not in the schema text")
    out += [f"{t}.{p} is required but missing" for p, req in table.items() if req and p not in obj]
    for p in ("type", "spec_version", "id", "created", "modified", "object_marking_refs", "extensions"):
        if p not in obj:
            out.append(f"{t}.{p} (common) is missing")
    if obj.get("extensions", {}).get(GROTIUS_EXTENSION_ID, {}).get("extension_type") != "new-sdo":
        out.append(f"{t} does not carry the node extension as new-sdo")
    return out


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text("utf-8")


# -- the definition object ----------------------------------------------------------------


def test_definition_is_valid_stix_by_both_validators() -> None:
    import stix2validator as sv

    logging.getLogger("stix2validator").setLevel(logging.CRITICAL)
    d = extension.definition()
    res = sv.validate_instance(d, sv.ValidationOptions(version="2.1", strict=True))
    assert res.is_valid, [str(e) for e in res.errors]
    assert not res.warnings, [str(w) for w in res.warnings]
    assert validate.check(d) == []
    # the validators do check it: the object without its required `schema` fails both
    broken = {k: v for k, v in d.items() if k != "schema"}
    assert not sv.validate_instance(broken, sv.ValidationOptions(version="2.1")).is_valid
    assert validate.check(broken)


def test_schema_is_plain_text_and_the_version_moved_on() -> None:
    d = extension.definition()
    assert not re.search(r"https?://", d["schema"]), "schema must not point at a host"
    assert "docs/extension.md" in d["schema"] and d["version"] in d["schema"]
    assert d["id"] == OLD_DEFINITION["id"] and d["created"] == OLD_DEFINITION["created"]
    old = tuple(int(x) for x in OLD_DEFINITION["version"].split("."))
    new = tuple(int(x) for x in d["version"].split("."))
    assert new[0] == old[0] and new > old  # semver: same major, later version
    assert validate.ts_key(d["modified"]) > validate.ts_key(OLD_DEFINITION["modified"])
    assert [v for v, _ in extension.VERSIONS] == ["1.0.0", d["version"]]


def test_schema_and_doc_name_every_type_the_code_makes(doc: str) -> None:
    made = types_in_code(PACKAGE)
    assert {"x-grotius-lead", "x-grotius-match", "x-grotius-alert"} <= set(made)  # the scan finds them
    assert undocumented(made, extension.SCHEMA, doc) == []
    # and nothing stale: every type the definition describes is made somewhere
    assert schema_types(extension.SCHEMA) == set(made)
    assert set(re.findall(r"^### `(x-grotius-[a-z0-9-]+)`", doc, re.M)) == set(made)


def test_a_new_type_without_documentation_fails_the_check(tmp_path: Path, doc: str) -> None:
    (tmp_path / "assessments.py").write_text(
        'ASSESSMENT_TYPE = "x-grotius-assessment"\n'
        'def new_id(u: str) -> str:\n    return f"x-grotius-threat-note--{u}"\n', "utf-8")
    made = types_in_code(tmp_path)
    assert set(made) == {"x-grotius-assessment", "x-grotius-threat-note"}
    assert undocumented(made, extension.SCHEMA, doc) == ["x-grotius-assessment", "x-grotius-threat-note"]
    # a property the definition does not name is caught too
    lead = {"type": "x-grotius-lead", "priority": "high", "extensions": extension.new_sdo_extension()}
    problems = property_problems(lead, extension.SCHEMA, doc)
    assert "x-grotius-lead.priority is not in docs/extension.md" in problems
    assert "x-grotius-lead.priority is not in the schema text" in problems
    assert "x-grotius-lead.matches is required but missing" in problems


def test_property_extension_members_are_defined(doc: str) -> None:
    s = extension.SCHEMA
    for member in ("admiralty", "signature", "redacted"):
        assert f"- {member}: " in s and f"### `{member}`" in doc
    for key in ("alg", "key_id", "signer", "value", "RFC 8785", "selectors", "derived_from",
                "signature_removed", "1=90", "5=10", "6=none"):
        assert key in s, key


# -- objects the code makes carry only what the definition says ----------------------------


def _check(objs: Iterable[dict[str, Any]], doc: str) -> set[str]:
    seen: set[str] = set()
    problems: list[str] = []
    for o in objs:
        seen.add(o["type"])
        problems += property_problems(o, extension.SCHEMA, doc)
        assert validate.check(o) == [], o["type"]
    assert problems == []
    return seen


def _made(node: Node) -> list[dict[str, Any]]:
    return [v.obj for (oid,) in node.store.query("SELECT DISTINCT id FROM objects WHERE type LIKE 'x-grotius-%'")
            for v in versions(node.store, oid)]


def test_leads_entities_alerts_and_fuzzy_runs_match_the_definition(
        node: Node, doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")
    partner = "identity--6a1c1a43-2d7e-4f0e-8b8c-1f0d3e2a9b10"
    ingest(node, [{"type": "identity", "spec_version": "2.1", "id": partner, "name": "US-FED",
                   "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                   "identity_class": "organization"}])

    def ind(n: int, by: str | None = None) -> dict[str, Any]:
        o = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
             "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z", "name": "c2",
             "pattern": "[ipv4-addr:value = '203.0.113.45']", "pattern_type": "stix",
             "valid_from": "2026-10-01T00:00:00Z", "object_marking_refs": [TLP2_IDS["green"]],
             "extensions": {GROTIUS_EXTENSION_ID: {"extension_type": "property-extension", "admiralty": "B2"}}}
        return {**o, "created_by_ref": by} if by else o

    assert ingest(node, [ind(1)]).ok and ingest(node, [ind(2, partner)], source="US-FED").ok
    (row,) = leads.inbox(node, status="all")
    leads.set_status(node, row["id"], "dismissed", "known sinkhole", by="analyst")

    recs = [entities.Record(f"identity--00000000-0000-4000-8000-00000000010{i}", "identity", "person",
                            (name,), date_of_birth="19790314", tlp="amber", source=src)
            for i, (name, src) in enumerate([("Mohammed Al-Hassan", "US-FED"), ("Mohamed Alhasan", None)])]
    ents = entities.entity_objects(node, entities.resolve_records(recs))
    assert ents, "the two spellings should make one entity"
    for e in ents:
        e["created"] = e["modified"] = "2026-11-30T00:00:00.000Z"

    alert = Alert("x-grotius-alert--00000000-0000-5000-8000-000000000001", "fan_in", 0.8, ["A1", "A2"], ["t1"],
                  {"pattern": "p", "evidence": {"transactions": [{"id": "t1", "from": "A1", "to": "A2"}]}})
    alert_objs = [o for o in alert_to_stix(alert, created_by_ref=node.identity_id)
                  if o["type"] == "x-grotius-alert"]
    runs = [fuzzy.match_object(node, "s1", "requester", "US-FED", 3,
                               [{"type": "name", "value": "Mohamed Alhasan", "score": 0.93, "entry": 0}]),
            fuzzy.match_object(node, "s1", "holder", "NL-POL", 3,
                               [{"type": "identity", "value": recs[0].object_id, "name": "Mohammed Al-Hassan",
                                 "score": 0.93, "entries": [0]}])]

    seen = _check(_made(node) + ents + alert_objs + runs, doc)
    assert seen == {"x-grotius-lead", "x-grotius-entity", "x-grotius-alert", "x-grotius-match"}


@pytest.fixture
def rfi_pair(make_node: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")
    monkeypatch.setenv("GROTIUS_RFI_POLL_SECONDS", "0")
    us = make_node("US-FED", communities=("carillon",))
    nl = make_node("NL-POL")
    holdings(us)
    link(nl, us, live_server(us))
    yield {"nl": nl, "us": us, "match": run_match(nl)}


def test_runs_requests_and_decisions_match_the_definition(rfi_pair: dict[str, Any], doc: str) -> None:
    nl, us, match = rfi_pair["nl"], rfi_pair["us"], rfi_pair["match"]
    ask = dict(asked="Subscriber details", legal_basis="other", legal_basis_text="bilateral treaty",
               urgency="urgent", deadline=in_days(10), by="nora")
    first = rfi.create(nl, match, [HIT1, HIT2], **ask)["id"]
    second = rfi.create(nl, match, [HIT2], **ask)["id"]
    props = {p["id"]: p for p in rfi.proposed(us, first) if p["disclosable"]}
    some = sorted(props)[0]
    rfi.decide(us, first, approve=True, objects=[some], drop={some: props[some]["properties"][:1]},
               reason="only what the treaty covers", by="ursula")
    rfi.refresh(nl, first)
    rfi.withdraw(nl, second, reason="no longer needed", by="nora")
    made = _made(nl) + _made(us)
    seen = _check(made, doc)
    assert {"x-grotius-match", "x-grotius-request", "x-grotius-request-decision"} <= seen
    # the optional properties were exercised, so the check covered them
    keys = {k for o in made for k in o}
    assert {"decision_ref", "requested_by", "status_reason", "status_by", "reason", "decided_by",
            "holder_ref", "partner_size"} <= keys


# -- a node made by an earlier release ------------------------------------------------------


def _old_node(make_node: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A node as Grotius 1.0.0 made it: the old definition among its built-in objects."""
    old = [OLD_DEFINITION if o["id"] == GROTIUS_EXTENSION_ID else o for o in grotius.node.builtin_objects()]
    with monkeypatch.context() as m:
        m.setattr(grotius.node, "builtin_objects", lambda: [dict(o) for o in old])
        n = make_node("NL-POL")
    assert [v.obj["version"] for v in versions(n.store, GROTIUS_EXTENSION_ID)] == ["1.0.0"]
    return n.home


def test_an_upgraded_node_holds_both_versions_after_open(make_node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _old_node(make_node, monkeypatch)
    n = Node.open(home)
    try:
        held = versions(n.store, GROTIUS_EXTENSION_ID)
        assert [v.obj["version"] for v in held] == ["1.0.0", extension.definition()["version"]]
        assert held[0].obj == OLD_DEFINITION  # the old version is kept as it was
        latest = get(n.store, GROTIUS_EXTENSION_ID)
        assert latest is not None and latest.obj == extension.definition()
        total = n.store.query_one("SELECT COUNT(*) FROM objects")[0]
        assert n.ensure_builtins() == []  # idempotent
    finally:
        n.close()
    n = Node.open(home)  # and opening again stores nothing more
    try:
        assert n.store.query_one("SELECT COUNT(*) FROM objects")[0] == total
        assert len(versions(n.store, GROTIUS_EXTENSION_ID)) == 2
    finally:
        n.close()


def test_a_node_made_now_stores_nothing_on_open(node: Node) -> None:
    before = node.store.query_one("SELECT COUNT(*), MAX(date_added) FROM objects")
    n = Node.open(node.home)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert n.ensure_builtins() == []
        assert n.store.query_one("SELECT COUNT(*), MAX(date_added) FROM objects") == before
    finally:
        n.close()


_REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_ext BEFORE INSERT ON objects WHEN NEW.type = 'extension-definition' "
               "BEGIN SELECT RAISE(ABORT, 'extension definitions are refused here'); END"],
    "postgresql": ["CREATE FUNCTION refuse_ext() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'extension definitions are refused here'; END $$",
                   "CREATE TRIGGER refuse_ext BEFORE INSERT ON objects FOR EACH ROW "
                   "WHEN (NEW.type = 'extension-definition') EXECUTE FUNCTION refuse_ext()"],
}
_ALLOW = {"sqlite": ["DROP TRIGGER refuse_ext"], "postgresql": ["DROP TRIGGER refuse_ext ON objects"]}


def _run(home: Path, script: dict[str, list[str]]) -> None:
    from grotius.config import Config
    from grotius.store import open_store

    store = open_store(Config.load(home).db_url)
    try:
        with store.transaction() as tx:
            for sql in script[store.dialect]:
                tx.execute(sql)
    finally:
        store.close()


def test_opening_never_fails_over_the_builtins(make_node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _old_node(make_node, monkeypatch)
    _run(home, _REFUSE)  # the database refuses to store the new definition
    with pytest.warns(RuntimeWarning, match="could not store the built-in objects.*refused here"):
        n = Node.open(home)
    try:
        assert [v.obj["version"] for v in versions(n.store, GROTIUS_EXTENSION_ID)] == ["1.0.0"]
        assert n.identity["name"] == "NL-POL"  # the node works
    finally:
        n.close()
    _run(home, _ALLOW)
    n = Node.open(home)  # the next open stores it
    try:
        assert get(n.store, GROTIUS_EXTENSION_ID).obj == extension.definition()
    finally:
        n.close()
