"""Entity resolution inside one node's store: identities from several sources and scripts
become x-grotius-entity objects, stored through ingest, with learned weights."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from grotius.cli import main
from grotius.ingest import ingest
from grotius.matching import entities
from grotius.node import Node
from grotius.sharing import signing
from grotius.stix import extension
from grotius.stix.markings import TLP2_IDS
from grotius.store.objects import versions

PERSONS = Path(__file__).parent / "data" / "matching" / "persons.tsv"
NATIONALITY = {"cyrillic": "ru", "arabic": "sa", "han": "cn", "hangul": "kr", "greek": "gr"}


def _identity(name: str, dob: str | None = None, nationality: str | None = None, tlp: str = "amber",
              cls: str = "individual", **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid4()}",
        "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
        "name": name, "identity_class": cls, "object_marking_refs": [TLP2_IDS[tlp]], **extra,
    }
    if dob:
        obj["x_date_of_birth"] = dob
    if nationality:
        obj["x_nationality"] = nationality
    return obj


def _hassan() -> dict[str, dict[str, Any]]:
    return {
        "usfed": _identity("Mohammed Al-Hassan", "1979-03-14", "sy"),
        "nlpol": _identity("Mohamed Alhasan", "1979-03-14"),
        "arabic": _identity("محمد الحسن", "1979-03-14", "sy", tlp="red"),
        "other": _identity("Mohammad Hassan", "1985-11-02", "sy"),
    }


def _store_hassan(node: Node) -> dict[str, dict[str, Any]]:
    h = _hassan()
    assert ingest(node, [h["usfed"]], source="US-FED").ok
    assert ingest(node, [h["nlpol"], h["arabic"], h["other"]]).ok
    return h


def _population(seed: int = 5, singletons: int = 1000) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every person of the labelled set under each spelling, with a date of birth and a
    nationality that some records lack, plus namesakes (same spelling, another birth date)."""
    rng = random.Random(seed)
    objs, truth = [], {}
    rows = [line.split("\t") for line in PERSONS.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    # most people in a store appear once: given and family names of two people crossed
    latin = [r[3].split("|")[0].split() for r in rows if len(r[3].split("|")[0].split()) == 2]
    for k in range(singletons):
        (given, _), (_, family) = rng.sample(latin, 2)
        o = _identity(f"{given} {family}", f"{rng.randint(1940, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                      if rng.random() < 0.7 else None)
        objs.append(o)
        truth[o["id"]] = f"single{k}"
    for pid, script, native, latin in rows:
        dob = f"{rng.randint(1940, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        for n in [native, *latin.split("|")]:
            o = _identity(n, dob if rng.random() < 0.7 else None,
                          NATIONALITY[script] if rng.random() < 0.6 else None)
            objs.append(o)
            truth[o["id"]] = pid
        if rng.random() < 0.2:
            o = _identity(latin.split("|")[0], f"{rng.randint(1940, 2000)}-06-15", NATIONALITY[script])
            objs.append(o)
            truth[o["id"]] = pid + "-namesake"
    return objs, truth


def _members(node: Node) -> list[set[str]]:
    return [set(e["object_refs"]) for e in entities.listing(node)]


def test_small_store_links_the_demo_person_across_scripts(node: Node) -> None:
    h = _store_hassan(node)
    result = entities.run(node)
    assert result.resolution.learned is False  # four records: nothing to learn from
    assert _members(node) == [{h["usfed"]["id"], h["nlpol"]["id"], h["arabic"]["id"]}]
    (ent,) = entities.listing(node)
    assert ent["tlp"] == "red"  # the most restrictive member
    assert ent["name"] in ("Mohammed Al-Hassan", "Mohamed Alhasan")
    assert "محمد الحسن" in ent["names"]
    assert {m["source"] for m in ent["members"]} == {"US-FED", ""}
    link = next(lk for lk in ent["links"] if {lk["source_ref"], lk["target_ref"]} == {h["usfed"]["id"], h["arabic"]["id"]})
    assert link["features"]["date_of_birth"]["level"] == "exact"
    assert link["features"]["name"]["level"] == "similar" and link["features"]["name"]["similarity"] > 0.9
    assert link["probability"] > 0.9


def test_rerun_is_stable_and_a_changed_cluster_is_a_new_version(node: Node) -> None:
    h = _store_hassan(node)
    first = entities.run(node)
    (ent,) = entities.listing(node)
    again = entities.run(node)
    assert (again.stored, again.unchanged, again.revoked) == (0, 1, 0)
    assert len(versions(node.store, ent["id"])) == 1
    # a fourth spelling joins: same entity id, a new version
    extra = _identity("Muhammad al-Hasan", "1979-03-14")
    assert ingest(node, [extra]).ok
    third = entities.run(node)
    assert third.stored == 1 and first.stored == 1
    (ent2,) = entities.listing(node)
    assert ent2["id"] == ent["id"] and ent2["modified"] > ent["modified"]
    assert extra["id"] in ent2["object_refs"] and h["other"]["id"] not in ent2["object_refs"]
    assert len(versions(node.store, ent["id"])) == 2
    # a fresh store with the same records derives the id from the members
    assert entities.entity_id(ent2["object_refs"]) != ent2["id"]
    assert entities.entity_id(ent["object_refs"]) == ent["id"]


def test_learned_weights_on_a_cross_script_population(node: Node) -> None:
    objs, truth = _population()
    h = _hassan()
    for o in h.values():
        truth[o["id"]] = "hassan" if o is not h["other"] else "hassan-other"
    assert ingest(node, objs + list(h.values())).ok
    result = entities.run(node)
    res = result.resolution
    assert res.learned, res.model.describe()
    weights = {d["field"]: d["weight"] for d in res.model.describe()}
    assert weights["date_of_birth"][2] > 5 > weights["date_of_birth"][0]
    assert weights["name"][3] > weights["name"][2] > weights["name"][0]
    found = {frozenset((a, b)) for c in _members(node) for a in c for b in c if a < b}
    by_person: dict[str, list[str]] = {}
    for oid, pid in truth.items():
        by_person.setdefault(pid, []).append(oid)
    true_pairs = {frozenset((a, b)) for ids in by_person.values() for a in ids for b in ids if a < b}
    tp = len(found & true_pairs)
    precision, recall = tp / len(found), tp / len(true_pairs)
    print(f"\nentity resolution on the pair-set population: precision {precision:.3f} recall {recall:.3f} "
          f"({len(objs)} records, {res.candidates} candidate pairs)")
    # measured 0.972 / 0.600 (seed 5; docs/matching.md): crossed names make it hard
    assert precision >= 0.95 and recall >= 0.5, (precision, recall)
    hassan = [c for c in _members(node) if h["usfed"]["id"] in c]
    assert hassan == [{h["usfed"]["id"], h["nlpol"]["id"], h["arabic"]["id"]}]
    # a namesake (same spelling, another date of birth) never joins: no entity holds two
    # dates of birth (one without a date may go either way: nothing tells them apart)
    dob = {o["id"]: o.get("x_date_of_birth") for o in objs}
    assert any(pid.endswith("-namesake") for pid in truth.values())
    for c in _members(node):
        assert len({dob.get(x) for x in c} - {None}) <= 1, c


def test_adapter_reads_extensions_aliases_and_ftm(node: Node) -> None:
    ta = {"type": "threat-actor", "spec_version": "2.1", "id": f"threat-actor--{uuid.uuid4()}",
          "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
          "name": "Tidewater Spider", "aliases": ["BRACKISH KRAKEN"]}
    ftm = {"type": "x-ftm-entity", "spec_version": "2.1", "id": f"x-ftm-entity--{uuid.uuid4()}",
           "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
           "schema": "Person", "properties": {"name": ["Mohamed Al Hasan"], "birthDate": ["1979-03-14"],
                                              "nationality": ["sy"], "passportNumber": ["N 1234567"]},
           "extensions": extension.new_sdo_extension()}
    org = _identity("ООО Ромашка", cls="organization", x_identifiers=[{"type": "inn", "value": "7701234567"}])
    bad = _identity("Someone", "14/03/1979")
    recs = {r.object_id: r for r in (entities.record_of(o) for o in (ta, ftm, org, bad)) if r}
    assert recs[ta["id"]].names == ("Tidewater Spider", "BRACKISH KRAKEN") and recs[ta["id"]].kind == "threat-actor"
    f = recs[ftm["id"]]
    assert (f.kind, f.date_of_birth, f.nationality, f.identifiers) == (
        "person", "19790314", frozenset({"sy"}), frozenset({("passportnumber", "N1234567")}))
    assert recs[org["id"]].identifiers == frozenset({("inn", "7701234567")})
    assert recs[bad["id"]].date_of_birth is None and recs[bad["id"]].ignored
    assert entities.record_of({"type": "identity", "id": "identity--x", "name": "A", "identity_class": "system"}) is None
    # stored, the FollowTheMoney person and a STIX identity with the same passport resolve
    same = _identity("Mohammed Al-Hassan", x_identifiers=["passportnumber:N1234567"])
    assert ingest(node, [ta, ftm, org, bad, same]).ok
    entities.run(node)
    assert _members(node) == [{ftm["id"], same["id"]}]
    (ent,) = entities.listing(node)
    (link,) = ent["links"]
    assert link["features"]["identifiers"]["level"] == "exact"


def test_cli_and_rest(node: Node, live_server: Any) -> None:
    import httpx

    from grotius import users

    h = _store_hassan(node)
    r = CliRunner().invoke(main, ["resolve", "--json", "--home", str(node.home)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["entities"] == 1 and out["stored"] == 1 and out["weights"] == "default"
    r = CliRunner().invoke(main, ["resolve", "--threshold", "1.5", "--home", str(node.home)])
    assert r.exit_code == 2 and "threshold" in r.output

    users.add(node.store, "ana", "correct horse battery", role="admin")
    base = live_server(node)
    with httpx.Client(base_url=base, auth=("ana", "correct horse battery")) as c:
        ents = c.get("/api/match/entities").json()
        assert [set(e["object_refs"]) for e in ents] == [{h["usfed"]["id"], h["nlpol"]["id"], h["arabic"]["id"]}]
        run = c.post("/api/match/entities/run", json={"threshold": 0.5})
        assert run.status_code == 200 and run.json()["unchanged"] == 1
        bad = c.post("/api/match/entities/run", json={"threshold": 2})
        assert bad.status_code in (400, 422)
        page = c.get("/match/entities")
        assert page.status_code == 200 and "محمد الحسن" in page.text and "/match/entities/x-grotius-entity--" in page.text
        one = c.get(f"/match/entities/{ents[0]['id']}")
        assert one.status_code == 200 and f'/objects/{h["arabic"]["id"]}' in one.text
        assert c.get("/match/entities/x-grotius-entity--00000000-0000-4000-8000-000000000000").status_code == 404


def test_an_entity_no_cluster_continues_is_revoked(node: Node) -> None:
    a = _identity("Mohammed Al-Hassan", "1979-03-14")
    b = _identity("Mohamed Alhasan", "1979-03-14")
    assert ingest(node, [a, b]).ok
    entities.run(node)
    (ent,) = entities.listing(node)
    # b turns out to be someone else: its new version shares nothing with a
    renamed = b | {"name": "Johanna Verbeek", "x_date_of_birth": "1990-01-02", "modified": "2026-10-02T00:00:00.000Z"}
    assert ingest(node, [renamed]).ok
    result = entities.run(node)
    assert result.revoked == 1
    latest = versions(node.store, ent["id"])[-1].obj
    assert latest["revoked"] is True and latest["modified"] > ent["modified"]
    # signed afresh by the node, not carrying the first version's signature
    assert signing.check(latest, signing.keyring(node)).status == signing.VALID
    assert signing.signature_of(latest) != signing.signature_of(versions(node.store, ent["id"])[0].obj)
    assert entities.listing(node) == []
