"""STIX 2.1 object validation: valid samples pass, a malformed corpus fails with errors
that name position, id and property, and results agree with stix2-validator."""

from __future__ import annotations

import copy
import json
import logging
import random
from typing import Any

import pytest
import stix2

from grotius.exc import InvalidInput
from grotius.stix import validate
from grotius.stix.model import load
from grotius.stix.samples import TLP_GREEN, generate
from grotius.stix.validate import check, refs


IDENT = "identity--311b2d2d-f010-4473-83ec-1edf84858f4c"
IND = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
MAL = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
TS = "2024-01-01T00:00:00.000Z"


def base(t: str, **props: Any) -> dict[str, Any]:
    return {"type": t, "spec_version": "2.1", "id": f"{t}--6b616fc1-1505-48e3-8b2c-0d19337bff38",
            "created": TS, "modified": TS, **props}


def indicator(**props: Any) -> dict[str, Any]:
    o = {"type": "indicator", "spec_version": "2.1", "id": IND, "created": TS, "modified": TS,
         "name": "Bad IP", "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
         "valid_from": "2024-01-01T00:00:00Z", "created_by_ref": IDENT, "object_marking_refs": [TLP_GREEN]}
    o.update(props)
    return o


def ser(o: Any) -> dict[str, Any]:
    return json.loads(o.serialize())


# ----------------------------------------------------------------- model


def test_model_covers_all_stix_types() -> None:
    m = load()
    sdo = {k for k, t in m.types.items() if t.group == "sdo"}
    sco = {k for k, t in m.types.items() if t.group == "sco"}
    assert len(sdo) == 19 and {"grouping", "infrastructure", "location", "malware-analysis", "note",
                                "opinion", "observed-data", "incident"} <= sdo
    assert len(sco) == 18
    assert {k for k, t in m.types.items() if t.group == "sro"} == {"relationship", "sighting"}
    assert {k for k, t in m.types.items() if t.group == "meta"} == {
        "marking-definition", "language-content", "extension-definition"}
    assert m.types["indicator"].required[-3:] == ("pattern", "pattern_type", "valid_from")
    assert "severity" in m.types["indicator"].forbidden


# ----------------------------------------------------------------- valid samples


def stix2_objects() -> list[Any]:
    ident = stix2.Identity(name="ACME", identity_class="organization", sectors=["government-national"])
    ind = stix2.Indicator(name="x", pattern="[ipv4-addr:value = '198.51.100.1']", pattern_type="stix",
                          valid_from="2024-01-01T00:00:00Z", created_by_ref=ident.id,
                          object_marking_refs=[stix2.TLP_GREEN], labels=["a"],
                          external_references=[{"source_name": "cve", "external_id": "CVE-2024-1234"}],
                          kill_chain_phases=[{"kill_chain_name": "lockheed", "phase_name": "delivery"}])
    sigma = stix2.Indicator(pattern="title: x\ndetection: {}", pattern_type="sigma", valid_from="2024-01-01T00:00:00Z")
    mal = stix2.Malware(name="bad", is_family=True, malware_types=["trojan"])
    ip = stix2.IPv4Address(value="198.51.100.1")
    ip6 = stix2.IPv6Address(value="2001:db8::1")
    mac = stix2.MACAddress(value="00:1a:2b:3c:4d:5e")
    dn = stix2.DomainName(value="example.com", resolves_to_refs=[ip.id])
    art = stix2.Artifact(payload_bin="aGVsbG8=", mime_type="text/plain")
    f = stix2.File(name="a.exe", hashes={"SHA-256": "a" * 64}, content_ref=art.id,
                   extensions={"windows-pebinary-ext": {"pe_type": "exe", "sections": [{"name": ".text"}]}})
    d = stix2.Directory(path="/tmp", contains_refs=[f.id])
    ea = stix2.EmailAddress(value="a@example.org")
    em = stix2.EmailMessage(is_multipart=True, from_ref=ea.id, to_refs=[ea.id],
                            body_multipart=[{"body": "hi", "content_type": "text/plain"}])
    nt = stix2.NetworkTraffic(src_ref=ip.id, dst_ref=ip6.id, protocols=["tcp"], src_port=1234,
                              extensions={"tcp-ext": {"src_flags_hex": "00"}})
    ua = stix2.UserAccount(user_id="1001", account_login="peter", account_type="unix")
    proc = stix2.Process(pid=4, command_line="cmd.exe", creator_user_ref=ua.id)
    sw = stix2.Software(name="Word", vendor="Microsoft", version="16")
    url = stix2.URL(value="https://example.com/a")
    mutex = stix2.Mutex(name="m1")
    asn = stix2.AutonomousSystem(number=64512, name="AS")
    reg = stix2.WindowsRegistryKey(key="HKEY_LOCAL_MACHINE\\System", values=[{"name": "Foo", "data": "1", "data_type": "REG_SZ"}])
    x509 = stix2.X509Certificate(serial_number="36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06",
                                 issuer="C=ZA, ST=Western Cape", is_self_signed=False)
    od = stix2.ObservedData(first_observed="2024-01-01T00:00:00Z", last_observed="2024-01-01T00:00:00Z",
                            number_observed=1, object_refs=[ip.id, dn.id])
    objs = [
        ident, ind, sigma, mal, ip, ip6, mac, dn, art, f, d, ea, em, nt, ua, proc, sw, url, mutex, asn, reg,
        x509, od, stix2.TLP_GREEN,
        stix2.Relationship(ind, "indicates", mal),
        stix2.Sighting(sighting_of_ref=ind.id, observed_data_refs=[od.id], where_sighted_refs=[ident.id], count=2),
        stix2.AttackPattern(name="Spearphishing", kill_chain_phases=[{"kill_chain_name": "mitre-attack",
                                                                      "phase_name": "initial-access"}]),
        stix2.Campaign(name="c", first_seen="2024-01-01T00:00:00Z", last_seen="2024-02-01T00:00:00Z"),
        stix2.CourseOfAction(name="block"),
        stix2.Grouping(context="suspicious-activity", object_refs=[ind.id]),
        stix2.Incident(name="inc"),
        stix2.Infrastructure(name="c2", infrastructure_types=["command-and-control"]),
        stix2.IntrusionSet(name="is", primary_motivation="personal-gain"),
        stix2.Location(latitude=52.1, longitude=4.3, precision=10.0),
        stix2.Location(region="europe"),
        stix2.MalwareAnalysis(product="sandbox", result="malicious", sample_ref=f.id),
        stix2.Note(content="c", object_refs=[ind.id], authors=["me"],
                   granular_markings=[{"selectors": ["content"], "marking_ref": stix2.TLP_RED.id}]),
        stix2.Opinion(opinion="agree", object_refs=[ind.id]),
        stix2.Report(name="r", published="2024-01-01T00:00:00Z", object_refs=[ind.id, mal.id]),
        stix2.ThreatActor(name="ta", threat_actor_types=["crime-syndicate"]),
        stix2.Tool(name="nmap", tool_types=["information-gathering"]),
        stix2.Vulnerability(name="CVE-2024-1", external_references=[{"source_name": "cve", "external_id": "CVE-2024-0001"}]),
        stix2.LanguageContent(object_ref=ind.id, object_modified=ind.modified,
                              contents={"de": {"name": "Schlechte IP"}}),
        stix2.ExtensionDefinition(created_by_ref=ident.id, name="ext", schema="https://example.org/schema.json",
                                  version="1.0", extension_types=["property-extension"]),
    ]
    return objs


def test_stix2_library_objects_pass() -> None:
    objs = stix2_objects()
    types = {o["type"] for o in objs}
    assert len(types) >= 19 + 18 + 2 + 3 - 2  # nearly every type, each valid
    for i, o in enumerate(objs):
        d = ser(o)
        assert check(d, i) == [], (d["type"], [str(e) for e in check(d, i)])


SPEC_EXAMPLES = [
    # STIX 2.1 specification examples (sections 4-7), trimmed where they reference undefined ids
    {"type": "infrastructure", "spec_version": "2.1", "id": "infrastructure--38c47d93-d984-4fd9-b87b-d69d0841628d",
     "created": "2016-05-07T11:22:30.000Z", "modified": "2016-05-07T11:22:30.000Z", "name": "Poison Ivy C2",
     "infrastructure_types": ["command-and-control"]},
    {"type": "location", "spec_version": "2.1", "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
     "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "created": "2016-04-06T20:03:00.000Z",
     "modified": "2016-04-06T20:03:00.000Z", "region": "south-eastern-asia", "country": "th",
     "administrative_area": "Tak", "postal_code": "63170"},
    {"type": "malware-analysis", "spec_version": "2.1", "id": "malware-analysis--d25167b7-fed0-4068-9ccd-a73dd2c5b07c",
     "created": "2020-01-16T18:52:24.277Z", "modified": "2020-01-16T18:52:24.277Z", "product": "microsoft",
     "analysis_engine_version": "5.1.0", "analysis_definition_version": "053600-4",
     "submitted": "2020-01-16T18:52:24.277Z", "result": "malicious"},
    {"type": "opinion", "spec_version": "2.1", "id": "opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7",
     "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "created": "2016-05-12T08:17:27.000Z",
     "modified": "2016-05-12T08:17:27.000Z",
     "object_refs": ["relationship--16d2358f-3b0d-4c88-b047-0da2f7ed4471"], "opinion": "strongly-disagree",
     "explanation": "This doesn't seem like it is feasible."},
    {"type": "grouping", "spec_version": "2.1", "id": "grouping--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
     "created_by_ref": "identity--a463ffb3-1bd9-4d94-b02d-74e4f1658283", "created": "2015-12-21T19:59:11.000Z",
     "modified": "2015-12-21T19:59:11.000Z", "name": "The Black Vine Cyberespionage Group",
     "description": "A simple collection of Black Vine Cyberespionage Group attributed intel",
     "context": "suspicious-activity",
     "object_refs": ["indicator--26ffb872-1dd9-446e-b6f5-d58527e5b5d2",
                     "campaign--83422c77-904c-4dc1-aff5-5c38f3a2c55c",
                     "relationship--f82356ae-fe6c-437c-9c24-6b64314ae68a",
                     "file--0203b5c8-f8b6-4ddb-9ad0-527d727f968b"]},
    {"type": "marking-definition", "spec_version": "2.1",
     "id": "marking-definition--a2ed9d12-0c0e-4c2c-9d66-2a2a3c4d1e10", "created": "2016-08-01T00:00:00.000Z",
     "definition_type": "statement", "definition": {"statement": "Copyright 2019, Example Corp"}},
    {"type": "marking-definition", "spec_version": "2.1",
     "id": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "created": "2022-10-01T00:00:00Z",
     "name": "TLP:GREEN", "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
         "extension_type": "property-extension", "tlp_2_0": "green"}}},
    {"type": "x-grotius-lead", "spec_version": "2.1", "id": "x-grotius-lead--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "score": 0.8,
     "extensions": {"extension-definition--9c59fd79-4215-4ba2-920d-3e4f320e1e62": {"extension_type": "new-sdo"}}},
    {"type": "x-ais-position", "id": "x-ais-position--0c7b5b88-8ff7-5a4d-aa9d-feb398cd0061", "mmsi": "244123456",
     "lat": 52.1, "lon": 4.2},
]


@pytest.mark.parametrize("obj", SPEC_EXAMPLES, ids=lambda o: o["type"])
def test_spec_examples_pass(obj: dict[str, Any]) -> None:
    assert check(obj, 0) == [], [str(e) for e in check(obj, 0)]


def test_generated_samples_pass() -> None:
    objs = generate(2000, seed=7)
    bad = [(i, [str(e) for e in check(o, i)]) for i, o in enumerate(objs) if check(o, i)]
    assert bad == []


# ----------------------------------------------------------------- malformed corpus


def _set(path: str, value: Any) -> Any:
    def f(o: dict[str, Any]) -> dict[str, Any]:
        o = copy.deepcopy(o)
        cur: Any = o
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        last = parts[-1]
        if value is _DELETE:
            del cur[last]
        elif isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
        return o
    return f


_DELETE = object()
REL = base("relationship", relationship_type="indicates", source_ref=IND, target_ref=MAL)
SIGHTING = base("sighting", sighting_of_ref=IND, where_sighted_refs=[IDENT])
FILE = {"type": "file", "spec_version": "2.1", "id": "file--0203b5c8-f8b6-5ddb-9ad0-527d727f968b", "name": "a.exe",
        "hashes": {"SHA-256": "a" * 64}}
DOMAIN = {"type": "domain-name", "id": "domain-name--0203b5c8-f8b6-5ddb-9ad0-527d727f968b", "value": "a.example"}

# (name, object, expected property path, fragment of the message)
MALFORMED: list[tuple[str, dict[str, Any], str, str]] = [
    ("missing type", _set("type", _DELETE)(indicator()), "type", "missing"),
    ("type not a string", _set("type", 5)(indicator()), "type", "expected a string"),
    ("type syntax", _set("type", "Indicator_X")(indicator()), "type", "type name"),
    ("reserved type", _set("type", "action")(indicator()), "type", "reserved"),
    ("bad id", _set("id", "indicator--1234")(indicator()), "id", "identifier"),
    ("id prefix", _set("id", "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")(indicator()), "id", "prefix"),
    ("uuid variant", _set("id", "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f")(indicator()), "id", "identifier"),
    ("spec_version", _set("spec_version", "2.0")(indicator()), "spec_version", "2.1"),
    ("missing spec_version", _set("spec_version", _DELETE)(indicator()), "spec_version", "missing"),
    ("missing created", _set("created", _DELETE)(indicator()), "created", "missing"),
    ("timestamp not utc", _set("valid_from", "2024-01-01T00:00:00+01:00")(indicator()), "valid_from", "RFC 3339"),
    ("timestamp month 13", _set("valid_from", "2024-13-01T00:00:00Z")(indicator()), "valid_from", "RFC 3339"),
    ("timestamp feb 30", _set("valid_from", "2024-02-30T00:00:00Z")(indicator()), "valid_from", "calendar"),
    ("timestamp hour 24", _set("valid_from", "2024-01-01T24:00:00Z")(indicator()), "valid_from", "RFC 3339"),
    ("created without ms", _set("created", "2024-01-01T00:00:00Z")(indicator()), "created", "millisecond"),
    ("modified before created", _set("modified", "2023-01-01T00:00:00.000Z")(indicator()), "modified", "later"),
    ("valid_until not after", _set("valid_until", "2024-01-01T00:00:00Z")(indicator()), "valid_until", "later than"),
    ("confidence 101", _set("confidence", 101)(indicator()), "confidence", "[0, 100]"),
    ("confidence bool", _set("confidence", True)(indicator()), "confidence", "integer"),
    ("lang", _set("lang", "english language")(indicator()), "lang", "RFC 5646"),
    ("revoked string", _set("revoked", "yes")(indicator()), "revoked", "true or false"),
    ("labels empty", _set("labels", [])(indicator()), "labels", "non-empty"),
    ("labels item", _set("labels", ["ok", 3])(indicator()), "labels[1]", "string"),
    ("bad pattern", _set("pattern", "[ipv4-addr:value = '1.2.3.4'")(indicator()), "pattern", "offset 28"),
    ("pattern bad object type", _set("pattern", "[Foo:value = 'x']")(indicator()), "pattern", "object type"),
    ("pattern_type missing", _set("pattern_type", _DELETE)(indicator()), "pattern_type", "missing"),
    ("created_by_ref to malware", _set("created_by_ref", MAL)(indicator()), "created_by_ref", "identity"),
    ("marking ref to identity", _set("object_marking_refs", [IDENT])(indicator()), "object_marking_refs[0]",
     "marking-definition"),
    ("external ref no source", _set("external_references", [{"url": "https://x.example"}])(indicator()),
     "external_references[0].source_name", "missing"),
    ("external ref bare", _set("external_references", [{"source_name": "x"}, {"source_name": "y", "url": 5}])(
        indicator()), "external_references[0]", "at least one of"),
    ("external ref url", _set("external_references", [{"source_name": "x"}, {"source_name": "y", "url": "no url"}])(
        indicator()), "external_references[1].url", "URL"),
    ("external ref hashes", _set("external_references", [{"source_name": "x", "url": "https://a.example",
                                                          "hashes": {"SHA-256": "zz"}}])(indicator()),
     "external_references[0].hashes.SHA-256", "SHA-256"),
    ("cve id", _set("external_references", [{"source_name": "cve", "external_id": "CVE-1"}])(indicator()),
     "external_references[0].external_id", "CVE-"),
    ("kill chain", _set("kill_chain_phases", [{"kill_chain_name": "x"}])(indicator()),
     "kill_chain_phases[0].phase_name", "missing"),
    ("granular no marking", _set("granular_markings", [{"selectors": ["name"]}])(indicator()),
     "granular_markings[0]", "exactly one of"),
    ("granular selector syntax", _set("granular_markings", [{"selectors": ["Name!"], "marking_ref": TLP_GREEN}])(
        indicator()), "granular_markings[0].selectors[0]", "selector"),
    ("granular selector missing", _set("granular_markings", [{"selectors": ["description"], "marking_ref": TLP_GREEN}])(
        indicator()), "granular_markings[0].selectors[0]", "does not point"),
    ("granular selector index", _set("granular_markings", [{"selectors": ["object_marking_refs.[3]"],
                                                            "marking_ref": TLP_GREEN}])(indicator()),
     "granular_markings[0].selectors[0]", "does not point"),
    ("reserved property", _set("severity", "high")(indicator()), "severity", "not allowed"),
    ("custom property name", _set("X-Custom", 1)(indicator()), "X-Custom", "custom property names"),
    ("custom property short", _set("ab", 1)(indicator()), "ab", "3-250"),
    ("null value", _set("description", None)(indicator()), "description", "null"),
    ("extensions key", _set("extensions", {"foo": {"a": 1}})(indicator()), "extensions.foo", "extension keys"),
    ("extension type", _set("extensions", {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
        "extension_type": "new-thing"}})(indicator()), "extensions.extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.extension_type",
     "property-extension"),
    ("extension missing type", _set("extensions", {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
        "x_a": 1}})(indicator()), "extensions.extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.extension_type",
     "missing"),
    ("relationship to relationship", _set("target_ref", "relationship--16d2358f-3b0d-4c88-b047-0da2f7ed4471")(REL),
     "target_ref", "reference to"),
    ("relationship to marking", _set("source_ref", TLP_GREEN)(REL), "source_ref", "reference to"),
    ("relationship type", _set("relationship_type", "Indicates It")(REL), "relationship_type", "relationship type"),
    ("relationship stop", _set("stop_time", "2020-01-01T00:00:00Z")(_set("start_time", "2020-01-01T00:00:00Z")(REL)),
     "stop_time", "later than"),
    ("sighting of relationship", _set("sighting_of_ref", REL["id"])(SIGHTING), "sighting_of_ref", "reference to"),
    ("where sighted", _set("where_sighted_refs", [MAL])(SIGHTING), "where_sighted_refs[0]", "identity"),
    ("observed data refs", _set("observed_data_refs", [IND])(SIGHTING), "observed_data_refs[0]", "observed-data"),
    ("sighting count", _set("count", -1)(SIGHTING), "count", "[0, 999999999]"),
    ("malware family without name", base("malware", is_family=True), "name", "required when is_family"),
    ("opinion closed vocab", base("opinion", opinion="maybe", object_refs=[IND]), "opinion", "strongly-agree"),
    ("location half coordinates", base("location", latitude=1.0), "latitude", "together"),
    ("location range", base("location", latitude=91.0, longitude=0.0), "latitude", "[-90, 90]"),
    ("location nothing", base("location", name="x"), "(object)", "at least one of"),
    ("observed-data both", base("observed-data", first_observed=TS, last_observed=TS, number_observed=1,
                                object_refs=[FILE["id"]], objects={"0": {"type": "file", "name": "a"}}),
     "(object)", "exactly one of"),
    ("observed-data number", base("observed-data", first_observed=TS, last_observed=TS, number_observed=0,
                                  object_refs=[FILE["id"]]), "number_observed", "[1, 999999999]"),
    ("observed-data ref to SDO", base("observed-data", first_observed=TS, last_observed=TS, number_observed=1,
                                      object_refs=[IND]), "object_refs[0]", "reference to"),
    ("sco forbidden created", _set("created", TS)(FILE), "created", "not allowed on file"),
    ("sco hashes key", _set("hashes", {"SHA-256": "a" * 64, "x": "1"})(FILE), "hashes.x", "hash algorithm"),
    ("sco hash value", _set("hashes", {"MD5": "abc"})(FILE), "hashes.MD5", "MD5"),
    ("sco file nothing", {"type": "file", "id": FILE["id"], "size": 1}, "(object)", "at least one of"),
    ("sco size negative", _set("size", -5)(FILE), "size", ">= 0"),
    ("sco ref type", _set("parent_directory_ref", FILE["id"])(FILE), "parent_directory_ref", "directory"),
    ("resolves_to_refs", _set("resolves_to_refs", [FILE["id"]])(DOMAIN), "resolves_to_refs[0]", "ipv4-addr"),
    ("domain value", _set("value", "not a domain")(DOMAIN), "value", "domain name"),
    ("ipv4", {"type": "ipv4-addr", "id": "ipv4-addr--0203b5c8-f8b6-5ddb-9ad0-527d727f968b", "value": "300.1.1.1"},
     "value", "IPv4"),
    ("mac", {"type": "mac-addr", "id": "mac-addr--0203b5c8-f8b6-5ddb-9ad0-527d727f968b", "value": "00-1A-2B-3C-4D-5E"},
     "value", "MAC"),
    ("email multipart body", {"type": "email-message", "id": "email-message--0203b5c8-f8b6-5ddb-9ad0-527d727f968b",
                              "is_multipart": True, "body": "x", "subject": "s"}, "body", "is_multipart is true"),
    ("network-traffic active end", {"type": "network-traffic", "id": "network-traffic--0203b5c8-f8b6-4ddb-9ad0-527d727f968b",
                                    "protocols": ["tcp"], "src_ref": "ipv4-addr--0203b5c8-f8b6-5ddb-9ad0-527d727f968b",
                                    "is_active": True, "end": "2024-01-01T00:00:00Z"}, "end", "is_active is true"),
    ("network-traffic port", {"type": "network-traffic", "id": "network-traffic--0203b5c8-f8b6-4ddb-9ad0-527d727f968b",
                              "protocols": ["tcp"], "src_ref": "ipv4-addr--0203b5c8-f8b6-5ddb-9ad0-527d727f968b",
                              "src_port": 70000}, "src_port", "[0, 65535]"),
    ("pe ext", _set("extensions", {"windows-pebinary-ext": {"pe_type": "exe", "machine_hex": "xyz"}})(FILE),
     "extensions.windows-pebinary-ext.machine_hex", "hex"),
    ("process uuid", {"type": "process", "id": "process--0203b5c8-f8b6-5ddb-9ad0-527d727f968b", "pid": 1}, "id", "UUIDv4"),
    ("marking self", {"type": "marking-definition", "spec_version": "2.1", "id": TLP_GREEN, "created": TS,
                      "definition_type": "statement", "definition": {"statement": "x"},
                      "object_marking_refs": [TLP_GREEN]}, "object_marking_refs", "mark itself"),
    ("marking tlp value", {"type": "marking-definition", "spec_version": "2.1", "id": TLP_GREEN, "created": TS,
                           "definition_type": "tlp", "definition": {"tlp": "purple"}}, "definition.tlp", "amber"),
    ("marking modified", {"type": "marking-definition", "spec_version": "2.1", "id": TLP_GREEN, "created": TS,
                          "modified": TS, "definition_type": "statement", "definition": {"statement": "x"}},
     "modified", "not allowed"),
    ("custom sdo missing modified", {"type": "x-grotius-lead", "spec_version": "2.1",
                                     "id": "x-grotius-lead--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "created": TS},
     "modified", "missing"),
    ("custom sco bad prop", {"type": "x-thing", "id": "x-thing--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "A": 1}, "A",
     "custom property"),
    ("extension-definition props", base("extension-definition", created_by_ref=IDENT, name="e", schema="s",
                                        version="1", extension_types=["new-sdo"], extension_properties=["x_a"]),
     "extension_properties", "toplevel"),
    ("language-content contents", base("language-content", object_ref=IND, contents={"de": "Hallo"}),
     "contents.de", "object"),
]


@pytest.mark.parametrize(("name", "obj", "prop", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_objects_are_rejected_with_position_id_and_property(
    name: str, obj: dict[str, Any], prop: str, fragment: str
) -> None:
    errors = check(obj, 42)
    assert errors, f"{name}: accepted"
    assert all(isinstance(e, InvalidInput) for e in errors)
    match = [e for e in errors if e.property == prop and fragment in e.message]
    assert match, f"{name}: no error on {prop!r} mentioning {fragment!r}: {[str(e) for e in errors]}"
    e = match[0]
    assert e.position == 42 and e.detail["position"] == 42
    assert "object 42" in e.message and prop in e.message
    oid = obj.get("id")
    if isinstance(oid, str) and len(oid) < 300:
        assert e.object_id == oid and oid in e.message


def test_not_a_dict() -> None:
    for value in ([], "x", 5, None):
        errors = check(value, 3)
        assert len(errors) == 1 and "object 3" in errors[0].message and "JSON object" in errors[0].message


def test_oversized_string() -> None:
    errors = check(indicator(description="x" * (validate.MAX_STRING + 1)), 5)
    assert [e.property for e in errors] == ["description"]
    assert "longer than" in errors[0].message and IND in errors[0].message


def test_oversized_list() -> None:
    errors = check(indicator(labels=["a"] * (validate.MAX_LIST + 1)), 5)
    assert [e.property for e in errors] == ["labels"] and "100000" in errors[0].message


def test_deep_nesting() -> None:
    deep: Any = "x"
    for _ in range(100):
        deep = {"x_n": deep}
    errors = check(indicator(x_deep=deep), 1)
    assert len(errors) == 1 and "nested deeper than 64" in errors[0].message
    assert errors[0].property.startswith("x_deep.x_n.x_n")
    # nesting well inside the limit is fine for a custom property
    ok: Any = "x"
    for _ in range(20):
        ok = [ok]
    assert check(indicator(x_list=ok), 1) == []


def test_lone_surrogate_names_the_property() -> None:
    text = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")
    errors = check(indicator(name=text), 9)
    assert [e.property for e in errors] == ["name"] and "surrogate" in errors[0].message
    nested = indicator(external_references=[{"source_name": "x", "description": text}])
    errors = check(nested, 9)
    assert [e.property for e in errors] == ["external_references[0].description"]
    errors = check(indicator(**{text: 1}), 9)
    assert errors and "surrogate" in errors[0].message


def test_non_stix_pattern_types_are_not_parsed() -> None:
    for kind in ("sigma", "snort", "yara", "suricata", "pcre", "x-custom"):
        assert check(indicator(pattern="alert tcp any any -> any any (msg:\"[\";)", pattern_type=kind), 0) == []
    assert check(indicator(pattern="alert tcp any", pattern_type="stix"), 0) != []


def test_error_list_is_capped() -> None:
    errors = check(indicator(**{f"Bad{i}": 1 for i in range(200)}), 0)
    assert len(errors) == validate.MAX_ERRORS + 1 and "more errors" in errors[-1].message


def test_error_to_dict_shape() -> None:
    e = check(indicator(confidence=500), 2)[0]
    d = e.to_dict()
    assert d["error"] == "invalid_input"
    assert d["detail"] == {"position": 2, "object_id": IND, "property": "confidence"}


# ----------------------------------------------------------------- refs


def test_refs_lists_every_embedded_reference() -> None:
    o = indicator(granular_markings=[{"selectors": ["name"], "marking_ref": TLP_GREEN}],
                  extensions={"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                      "extension_type": "property-extension", "x_case_ref": MAL}},
                  x_related_refs=[MAL, "not-an-id"])
    assert refs(o) == [
        ("created_by_ref", IDENT),
        ("object_marking_refs[0]", TLP_GREEN),
        ("granular_markings[0].marking_ref", TLP_GREEN),
        ("extensions.extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.x_case_ref", MAL),
        ("x_related_refs[0]", MAL),
    ]
    nt = {"type": "network-traffic", "src_ref": "ipv4-addr--0203b5c8-f8b6-5ddb-9ad0-527d727f968b",
          "extensions": {"http-request-ext": {"message_body_data_ref": "artifact--0203b5c8-f8b6-5ddb-9ad0-527d727f968b"}}}
    assert [p for p, _ in refs(nt)] == ["src_ref", "extensions.http-request-ext.message_body_data_ref"]
    assert refs("nope") == []


# ----------------------------------------------------------------- cross-check with stix2-validator

# Rules where check() is deliberately stricter than stix2-validator (docs/stix.md):
# a message fragment for each.
STRICTER_THAN_VALIDATOR = (
    "property not allowed on",  # SCO/meta properties the spec marks not applicable
    "expected a reference to",  # reference target types (created_by_ref -> identity, ...)
    "the id prefix must be",  # custom types too
    "custom property names",
    "does not point at",
)


def _validator() -> Any:
    import stix2validator as sv

    logging.getLogger("stix2validator").setLevel(logging.CRITICAL)
    opts = sv.ValidationOptions(version="2.1")

    def run(o: dict[str, Any]) -> tuple[bool, list[str]]:
        try:
            r = sv.validate_instance(o, opts)
        except Exception as e:  # it crashes on some malformed input: count as a reject
            return False, [repr(e)]
        return bool(r.is_valid), [str(x) for x in r.errors]

    return run


_MUTANT_VALUES = [None, 1, -1, 1.5, True, "", "x", [], ["x"], {}, {"a": 1}, "2024-02-30T00:00:00Z",
                  "2024-01-01T00:00:00Z", IDENT, TLP_GREEN, "relationship--00000000-0000-4000-8000-000000000000",
                  "not an id", 10**12]


def _mutants(o: dict[str, Any], r: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(2):
        m = copy.deepcopy(o)
        k = r.choice(list(m))
        x = r.random()
        if x < 0.25:
            del m[k]
        elif x < 0.6:
            m[k] = r.choice(_MUTANT_VALUES)
        elif x < 0.75:
            m[r.choice(["x_custom", "Bad-Name", "severity", "valid_until", "revoked", "lang", "confidence"])] = \
                r.choice(_MUTANT_VALUES)
        elif x < 0.9 and isinstance(m.get(k), list) and m[k]:
            m[k][0] = r.choice(_MUTANT_VALUES)
        else:
            m["type"] = r.choice(["x-custom-thing", "indicator", "file", "Bad"])
        out.append(m)
    return out


def _cross_check(n: int, seed: int) -> None:
    run = _validator()
    r = random.Random(seed)
    candidates: list[dict[str, Any]] = []
    for o in generate(n, seed=seed):
        candidates.append(o)
        candidates.extend(_mutants(o, r))
    agree = 0
    for c in candidates:
        theirs, their_errors = run(c)
        ours = [str(e) for e in check(c)]
        if theirs and ours:
            assert all(any(f in e for f in STRICTER_THAN_VALIDATOR) for e in ours), (
                f"rejected an object stix2-validator accepts, outside the documented rules: {c} {ours}")
        elif not theirs and not ours:
            pytest.fail(f"accepted an object stix2-validator rejects: {c} {their_errors}")
        else:
            agree += 1
    assert agree > len(candidates) * 0.8


def test_cross_check_with_stix2_validator() -> None:
    _cross_check(60, seed=21)


@pytest.mark.slow
def test_cross_check_with_stix2_validator_large() -> None:
    _cross_check(600, seed=22)


def test_stix2_library_objects_pass_stix2_validator_too() -> None:
    run = _validator()
    for o in stix2_objects():
        d = ser(o)
        ok, errs = run(d)
        assert ok == (check(d) == []), (d["type"], errs, [str(e) for e in check(d)])
