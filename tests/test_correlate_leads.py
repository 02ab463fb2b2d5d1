"""The value index, matching semantics and leads, through the real ingest on a real store."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

import grotius.correlate  # noqa: F401  (registers the ingest hook)
from grotius.cli import main
from grotius.correlate import hook, leads, suppress
from grotius.exc import InvalidInput
from grotius.ingest import ingest
from grotius.stix.grading import GROTIUS_EXTENSION_ID
from grotius.stix.markings import TLP2_IDS

PARTNER = "identity--6a1c1a43-2d7e-4f0e-8b8c-1f0d3e2a9b10"
OTHER = "identity--7b2d2b54-3e8f-4a1f-9c9d-2a1e4f3b0c21"


@pytest.fixture(autouse=True)
def _no_misp(monkeypatch: pytest.MonkeyPatch) -> None:
    # these tests are about matching; the MISP data is exercised in test_correlate_warninglists
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")


_n = 0


def ind(pattern: str, *, by: str | None = None, tlp: str = "amber", grade: str | None = None, name: str = "") -> dict[str, Any]:
    global _n
    _n += 1
    o: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{_n:012d}",
        "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z", "name": name or pattern[:60],
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-10-01T00:00:00Z",
        "object_marking_refs": [TLP2_IDS[tlp]],
    }
    if by:
        o["created_by_ref"] = by
    if grade:
        o["extensions"] = {GROTIUS_EXTENSION_ID: {"extension_type": "property-extension", "admiralty": grade}}
    return o


def identities() -> list[dict[str, Any]]:
    return [{"type": "identity", "spec_version": "2.1", "id": i, "created": "2026-01-01T00:00:00.000Z",
             "modified": "2026-01-01T00:00:00.000Z", "name": n, "identity_class": "organization"}
            for i, n in ((PARTNER, "US-FED"), (OTHER, "NL-NCSC"))]


def all_leads(node: Any) -> list[dict[str, Any]]:
    return [leads.get(node, r["id"]) for r in leads.inbox(node, status="all", limit=1000)]


def pair(node: Any, held: str, incoming: str) -> list[dict[str, Any]]:
    ingest(node, identities())
    ingest(node, [ind(held)])
    ingest(node, [ind(incoming, by=PARTNER)], source="US-FED")
    return all_leads(node)


@pytest.mark.parametrize("held,incoming,relation", [
    ("[ipv4-addr:value = '203.0.113.45']", "[ipv4-addr:value = '203.0.113.45']", "exact"),
    ("[ipv4-addr:value = '203.0.113.0/26']", "[ipv4-addr:value = '203.0.113.45']", "in-range"),
    ("[ipv4-addr:value ISSUBSET '203.0.113.0/26']", "[ipv4-addr:value = '203.0.113.45']", "in-range"),
    ("[ipv4-addr:value = '203.0.113.45']", "[ipv4-addr:value = '203.0.113.0/24']", "contains"),
    ("[ipv4-addr:value = '203.0.113.0/24']", "[ipv4-addr:value = '203.0.113.64/26']", "overlaps"),
    ("[ipv4-addr:value = '203.0.113.64/26']", "[ipv4-addr:value = '203.0.113.0/24']", "overlaps"),
    ("[ipv6-addr:value = '2001:db8::/32']", "[ipv6-addr:value = '2001:DB8:0::7']", "in-range"),
    ("[domain-name:value = 'tidewater.example']", "[domain-name:value = 'update-check.Tidewater.example.']", "subdomain"),
    ("[domain-name:value = 'update-check.tidewater.example']", "[domain-name:value = 'tidewater.example']", "parent-domain"),
    ("[domain-name:value = 'tidewater.example']", "[url:value = 'https://cdn.tidewater.example/upd/stage2.bin']", "url-host"),
    ("[url:value = 'http://cdn.tidewater.example/x']", "[domain-name:value = 'cdn.tidewater.example']", "host-of-url"),
    ("[ipv4-addr:value = '198.51.100.0/24']", "[url:value = 'http://198.51.100.9:8080/a']", "url-host"),
    ("[file:hashes.'SHA-256' = '275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F']",
     "[file:hashes.sha256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f']", "exact"),
    ("[email-addr:value = 'Jane.Doe@Evil.example']", "[email-message:from_ref.value = 'jane.doe@evil.example']", "exact"),
    ("[cryptocurrency-wallet:value = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4']",
     "[cryptocurrency-wallet:value = 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4']", "exact"),
])
def test_relation_raises_one_lead(make_node: Any, held: str, incoming: str, relation: str) -> None:
    node = make_node()
    found = pair(node, held, incoming)
    assert len(found) == 1, [l["name"] for l in found]
    lead = found[0]
    assert [m["relation"] for m in lead["matches"]] == [relation]
    assert lead["incoming"]["source"] == "US-FED" and lead["held"]["source"] == "NL-POL"
    assert lead["status"] == "new"


@pytest.mark.parametrize("held,incoming", [
    ("[ipv4-addr:value = '203.0.113.0/26']", "[ipv4-addr:value = '203.0.113.64']"),
    ("[ipv4-addr:value = '203.0.113.0/26']", "[ipv4-addr:value = '203.0.113.64/26']"),
    ("[domain-name:value = 'tidewater.example']", "[domain-name:value = 'badtidewater.example']"),
    ("[domain-name:value = 'tidewater.example']", "[domain-name:value = 'tidewater.example.org']"),
    ("[domain-name:value = 'a.tidewater.example']", "[domain-name:value = 'b.tidewater.example']"),
    ("[ipv4-addr:value = '10.0.0.1']", "[ipv4-addr:value = '10.0.0.1']"),  # private: not matchable
    ("[ipv4-addr:value != '203.0.113.1']", "[ipv4-addr:value = '203.0.113.1']"),  # negation names no holding
    ("[file:name = 'invoice.exe']", "[file:name = 'invoice.exe']"),
])
def test_no_lead_for_unrelated_values(make_node: Any, held: str, incoming: str) -> None:
    assert pair(make_node(), held, incoming) == []


def test_same_source_and_same_object_raise_no_lead(make_node: Any) -> None:
    node = make_node()
    ingest(node, identities())
    a = ind("[ipv4-addr:value = '203.0.113.9']")
    ingest(node, [a])
    ingest(node, [ind("[ipv4-addr:value = '203.0.113.9']")])  # local again
    relayed = dict(a)
    ingest(node, [relayed], source="US-FED")  # the same object coming back via a partner
    assert all_leads(node) == []


def test_lead_carries_both_sides_grades_tlp_and_score(make_node: Any) -> None:
    node = make_node()
    ingest(node, identities())
    ingest(node, [ind("[ipv4-addr:value = '203.0.113.45']", grade="A2", tlp="green", name="C2 seen in forensics")])
    ingest(node, [ind("[ipv4-addr:value ISSUBSET '203.0.113.0/26']", by=PARTNER, grade="B2", tlp="amber",
                      name="Tidewater C2 range")], source="US-FED")
    ingest(node, [ind("[ipv4-addr:value = '203.0.113.45']", by=OTHER, grade="B3", tlp="green")], source="NL-NCSC")
    found = {l["incoming"]["source"] + ">" + l["held"]["source"]: l for l in all_leads(node)}
    assert set(found) == {"US-FED>NL-POL", "NL-NCSC>NL-POL", "NL-NCSC>US-FED"}
    lead = found["US-FED>NL-POL"]
    assert lead["type"] == "x-grotius-lead" and GROTIUS_EXTENSION_ID in lead["extensions"]
    assert lead["incoming"]["admiralty"] == "B2" and lead["held"]["admiralty"] == "A2"
    assert lead["incoming"]["originator_ref"] == PARTNER
    # TLP of a lead is the most restrictive of both sides
    assert lead["object_marking_refs"] == [TLP2_IDS["amber"]]
    assert found["NL-NCSC>NL-POL"]["object_marking_refs"] == [TLP2_IDS["green"]]
    comp = lead["score_components"]
    assert set(comp) == {"grade", "recency", "agreement", "strength", "sources"}
    assert 0 < lead["score"] <= 1
    # three independent sources hold 203.0.113.45 (directly or in range) by the third arrival
    assert found["NL-NCSC>NL-POL"]["score_components"]["sources"] >= 2
    assert lead["object_refs"] == [lead["incoming"]["object_ref"], lead["held"]["object_ref"]]
    sides = leads.both_sides(node, lead)
    assert sides["incoming"]["name"] == "Tidewater C2 range" and sides["held"]["name"] == "C2 seen in forensics"
    # leads are objects in the store like any other (so they share under the same rules)
    assert node.store.query_one("SELECT tlp FROM objects WHERE id = ?", (lead["id"],)) == ("amber",)


def test_exact_beats_range_in_ranking(make_node: Any) -> None:
    node = make_node()
    ingest(node, identities())
    ingest(node, [ind("[ipv4-addr:value = '203.0.113.45']", grade="B2"), ind("[ipv4-addr:value = '203.0.113.0/24']", grade="B2")])
    ingest(node, [ind("[ipv4-addr:value = '203.0.113.45']", by=PARTNER, grade="B2")], source="US-FED")
    rows = leads.inbox(node)
    assert len(rows) == 2 and rows[0]["score"] > rows[1]["score"]
    assert "in-range" in rows[1]["name"]


def test_accept_dismiss_reopen_are_new_versions(make_node: Any) -> None:
    node = make_node()
    lead = pair(node, "[ipv4-addr:value = '203.0.113.45']", "[ipv4-addr:value = '203.0.113.45']")[0]
    with pytest.raises(InvalidInput, match="reason"):
        leads.set_status(node, lead["id"], "dismissed")
    leads.set_status(node, lead["id"], "dismissed", "sinkholed since August")
    assert leads.inbox(node) == []
    assert [r["status"] for r in leads.inbox(node, status="dismissed")] == ["dismissed"]
    assert leads.get(node, lead["id"])["status_reason"] == "sinkholed since August"
    leads.set_status(node, lead["id"], "accepted")
    assert len(node.store.query("SELECT version FROM objects WHERE id = ?", (lead["id"],))) == 3
    # a new matching version of the same pair does not re-open a decided lead
    assert leads.inbox(node, status="accepted")[0]["id"] == lead["id"]


def test_exclusion_suppresses_and_lifting_it_restores(make_node: Any) -> None:
    node = make_node()
    lead = pair(node, "[domain-name:value = 'cdn.tidewater.example']", "[url:value = 'https://cdn.tidewater.example/a']")[0]
    suppress.add_exclusion(node, "tidewater.example", reason="sinkhole operator")
    r = hook.reevaluate(node)
    assert r["suppressed"] == 1
    assert leads.get(node, lead["id"])["status"] == "suppressed"
    assert "local:default" in leads.get(node, lead["id"])["status_reason"]
    # a new partner object on an excluded value raises nothing
    ingest(node, [ind("[domain-name:value = 'x.cdn.tidewater.example']", by=OTHER)], source="NL-NCSC")
    assert leads.inbox(node) == []
    suppress.remove_exclusion(node, "tidewater.example")
    r = hook.reevaluate(node)
    assert r["raised"] >= 1
    statuses = {l["name"]: l["status"] for l in all_leads(node)}
    assert "suppressed" not in statuses.values(), statuses
    assert leads.get(node, lead["id"])["status"] == "new"


def test_check_shows_flagged_matches_when_asked(make_node: Any) -> None:
    node = make_node()
    pair(node, "[ipv4-addr:value = '198.51.100.0/24']", "[ipv4-addr:value = '198.51.100.7']")
    suppress.add_exclusion(node, "198.51.100.7", list_name="resolvers")
    hook.reevaluate(node)
    out = hook.check(node, "198.51.100.7")
    assert out["flags"] == ["local:resolvers"]
    assert {m["relation"] for m in out["matches"]} == {"exact", "in-range"}


def test_unreduced_comparisons_are_recorded(make_node: Any) -> None:
    node = make_node()
    ingest(node, [ind("[file:name = 'x.exe' AND url:value LIKE '%evil%'] OR [ipv4-addr:value = '203.0.113.5']")])
    rows = node.store.query("SELECT path, reason FROM correlate_unreduced ORDER BY path")
    assert ("pattern:file:name", "property holds no identifier that correlation indexes") in rows
    assert any(p == "pattern:url:value" and "LIKE" in r for p, r in rows)
    assert node.store.query_one("SELECT COUNT(*) FROM correlate_values WHERE value = '203.0.113.5'") == (1,)


def test_identifiers_in_custom_properties_and_text(make_node: Any) -> None:
    node = make_node()
    ingest(node, identities())
    vessel = {"type": "infrastructure", "spec_version": "2.1", "id": "infrastructure--11111111-1111-4111-8111-111111111111",
              "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
              "name": "Reefer MV Noordster (IMO 9395044)", "infrastructure_types": ["unknown"]}
    ingest(node, [vessel])
    sighting = {"type": "x-vessel-sighting", "spec_version": "2.1", "id": "x-vessel-sighting--22222222-2222-4222-8222-222222222222",
                "created": "2026-10-02T00:00:00.000Z", "modified": "2026-10-02T00:00:00.000Z", "imo": "IMO 9395044",
                "mmsi": "244123456", "created_by_ref": PARTNER}
    s = ingest(node, [sighting], source="US-CG")
    assert s.ok, s.to_dict()
    found = all_leads(node)
    assert len(found) == 1 and found[0]["matches"][0]["kind"] == "imo"


def test_cli_inbox_show_decide(make_node: Any) -> None:
    node = make_node()
    lead = pair(node, "[ipv4-addr:value = '203.0.113.45']", "[ipv4-addr:value = '203.0.113.45']")[0]
    home = str(node.home)
    run = CliRunner()
    r = run.invoke(main, ["leads", "--home", home, "--json"])
    assert r.exit_code == 0, r.output
    assert [x["id"] for x in json.loads(r.output)] == [lead["id"]]
    r = run.invoke(main, ["leads", "--home", home, "show", lead["id"], "--json"])
    data = json.loads(r.output)
    assert data["incoming"]["id"] == lead["incoming"]["object_ref"] and data["held"]["id"] == lead["held"]["object_ref"]
    r = run.invoke(main, ["leads", "--home", home, "dismiss", lead["id"]])
    assert r.exit_code == 2 and "needs a reason" in r.output
    r = run.invoke(main, ["leads", "--home", home, "dismiss", lead["id"], "--reason", "duplicate"])
    assert r.exit_code == 0 and "dismissed" in r.output
    r = run.invoke(main, ["leads", "--home", home, "show", "x-grotius-lead--00000000-0000-4000-8000-000000000000"])
    assert r.exit_code == 1 and "no lead" in r.output
    r = run.invoke(main, ["leads", "--home", home, "check", "203[.]0.113.45"])
    assert r.exit_code == 0 and "exact" in r.output


def test_held_partner_object_raises_lead_for_local_incoming(make_node: Any) -> None:
    # the reverse of the usual direction: the partner's object is held, the local one arrives
    node = make_node()
    ingest(node, identities())
    ingest(node, [ind("[ipv4-addr:value = '203.0.113.77']", by=PARTNER)], source="US-FED")
    ingest(node, [ind("[ipv4-addr:value = '203.0.113.77']")])
    found = all_leads(node)
    assert [(l["incoming"]["source"], l["held"]["source"]) for l in found] == [("NL-POL", "US-FED")]


@pytest.mark.parametrize("stored,incoming,expected", [
    ([None], "", False),
    ([None, ""], "", False),
    ([None, "US-FED"], "", True),
    (["US-FED"], "US-FED", True),  # the node's own identity is held, locally
    (["ZZ"], "", True),
    (["US-FED", ""], "US-FED", True),
    (["US-FED", "AA"], "US-FED", True),
    (["US-FED", "ZZ"], "US-FED", True),
])
def test_other_sources_are_seen_by_the_shortcut(make_node: Any, stored: list[str | None], incoming: str,
                                                expected: bool) -> None:
    """leads.correlate skips its scans when nothing held comes from another source: the
    probe must see every other source, NULL (local) and sources sorting either side."""
    node = make_node()
    with node.store.transaction() as tx:
        assert leads._held_from_others(tx, "US-FED") is True  # init stored the node's identity
        assert leads._held_from_others(tx, "") is False
    for i, src in enumerate(stored):
        ingest(node, [ind(f"[ipv4-addr:value = '203.0.113.{i + 1}']")], source=src)
    with node.store.transaction() as tx:
        assert leads._held_from_others(tx, incoming) is expected


@pytest.mark.parametrize("args, wrong", [(["--limit", "-1"], "limit"), (["--limit", "0"], "limit"),
                                         (["--limit", str(2**63)], "limit")])
def test_inbox_refuses_limits_neither_engine_can_bind(make_node: Any, args: list[str], wrong: str) -> None:
    # PostgreSQL raised on LIMIT -1 and both engines on integers beyond 64 bits: a traceback
    node = make_node()
    r = CliRunner().invoke(main, ["leads", "--home", str(node.home), *args])
    assert r.exit_code == 2 and f"{wrong} must be between" in r.output, r.output
    with pytest.raises(InvalidInput, match="offset must be between"):
        leads.inbox(node, offset=-1)
    with pytest.raises(InvalidInput, match="offset must be between"):
        leads.inbox(node, offset=2**63)
    assert leads.inbox(node, limit=2**63 - 1, offset=2**63 - 1) == []


def test_source_filter_takes_whole_names_only(make_node: Any) -> None:
    node = make_node()
    lead = pair(node, "[ipv4-addr:value = '203.0.113.45']", "[ipv4-addr:value = '203.0.113.45']")[0]
    (row,) = leads.inbox(node)
    assert sorted(row["sources"]) == sorted(["US-FED", node.config.org])
    for name in row["sources"]:
        assert [r["id"] for r in leads.inbox(node, source=name)] == [lead["id"]], name
    for part in ("US", "FED", "S-F", "%", "_S-FED", "US-FE_", "US-FED\nNL"):
        assert leads.inbox(node, source=part) == [], part
    # the summary search is a substring search, but '%' and '_' in it are plain characters
    assert [r["id"] for r in leads.inbox(node, q="203.0.113.45")] == [lead["id"]]
    assert leads.inbox(node, q="%") == leads.inbox(node, q="203_0") == []
