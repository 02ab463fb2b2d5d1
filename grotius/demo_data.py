"""Operation Carillon: the demo holdings of each fictional partner (see docs/demo.md).

Only documentation address space, `.example` domains and invented names. Ids are
derived from names (uuid5) so building the demo twice gives the same objects.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import Any

from .stix import extension
from .stix.grading import Grade, attach
from .stix.markings import TLP2_IDS

_NS = uuid.UUID("0b8a2f4e-4c1d-4e59-8f0a-1c2d3e4f5a6b")
T0 = "2026-09-14T06:12:00.000Z"
#: of the one person the story follows across spellings and scripts (invented)
DATE_OF_BIRTH = "1979-03-14"


def sid(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(_NS, kind + ':' + name)}"


def _sco_id(kind: str, value: str) -> str:
    # SCO ids in STIX are deterministic uuid5 under the SCO namespace over id contributing
    # properties; this follows that rule for the single-'value' types used here
    ns = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
    contributing = '{"value":"' + value + '"}'
    return f"{kind}--{uuid.uuid5(ns, contributing)}"


def _ts(day: int, hour: int = 9) -> str:
    return f"2026-{9 + day // 30:02d}-{1 + day % 30:02d}T{hour:02d}:00:00.000Z"


class Builder:
    def __init__(self, org_identity: str, tlp: str) -> None:
        self.by = org_identity
        self.tlp = tlp
        self.objects: list[dict[str, Any]] = []

    def add(self, obj: dict[str, Any], *, tlp: str | None = None, grade: str | None = None) -> dict[str, Any]:
        if obj["type"] not in ("ipv4-addr", "domain-name", "file", "url", "email-addr"):
            obj.setdefault("spec_version", "2.1")
            obj.setdefault("created_by_ref", self.by)
            obj.setdefault("object_marking_refs", [TLP2_IDS[tlp or self.tlp]])
        else:
            obj.setdefault("spec_version", "2.1")
            obj.setdefault("object_marking_refs", [TLP2_IDS[tlp or self.tlp]])
        if grade:
            obj = attach(obj, Grade(grade[0], grade[1]))
        self.objects.append(obj)
        return obj

    def sdo(self, kind: str, name: str, day: int = 0, **props: Any) -> dict[str, Any]:
        tlp = props.pop("tlp", None)
        grade = props.pop("grade", None)
        ts = _ts(day)
        return self.add({"type": kind, "id": sid(kind, self.by + name), "created": ts, "modified": ts,
                         "name": name, **props}, tlp=tlp, grade=grade)

    def rel(self, src: dict[str, Any], kind: str, dst: dict[str, Any], day: int = 0, **props: Any) -> dict[str, Any]:
        ts = _ts(day)
        tlp = props.pop("tlp", None)
        return self.add({
            "type": "relationship", "id": sid("relationship", f"{self.by}{src['id']}{kind}{dst['id']}"),
            "created": ts, "modified": ts, "relationship_type": kind,
            "source_ref": src["id"], "target_ref": dst["id"], **props,
        }, tlp=tlp)

    def indicator(self, name: str, pattern: str, day: int = 0, **props: Any) -> dict[str, Any]:
        return self.sdo("indicator", name, day, pattern=pattern, pattern_type="stix",
                        valid_from=_ts(day), indicator_types=props.pop("indicator_types", ["malicious-activity"]),
                        **props)

    def sco(self, kind: str, value: str, tlp: str | None = None) -> dict[str, Any]:
        return self.add({"type": kind, "id": _sco_id(kind, value), "value": value}, tlp=tlp)


def identity(name: str, org_id: str, sector: str, country: str) -> dict[str, Any]:
    return {
        "type": "identity", "spec_version": "2.1", "id": org_id, "created": T0, "modified": T0,
        "name": name, "identity_class": "organization", "sectors": [sector],
        "contact_information": f"liaison@{name.lower().replace(' ', '-')}.example",
        "object_marking_refs": [TLP2_IDS["clear"]], "x_grotius_country": country,
    }


def ncsc_advisory(org_id: str) -> list[dict[str, Any]]:
    """NL-NCSC: Tidewater Spider indicators for the drinking-water sector, GREEN to nl-vitaal."""
    b = Builder(org_id, "green")
    actor = b.sdo("threat-actor", "Tidewater Spider", 10, threat_actor_types=["crime-syndicate"],
                  aliases=["TIDEWATER", "Brackish Kraken"], sophistication="advanced",
                  resource_level="organization", primary_motivation="personal-gain",
                  description="Ransomware crew targeting operational technology of water utilities.")
    malware = b.sdo("malware", "TideLock", 10, is_family=True, malware_types=["ransomware"],
                    description="Ransomware that encrypts HMI workstations and backup servers.")
    campaign = b.sdo("campaign", "Tidewater water-sector intrusions 2026", 12,
                     first_seen=_ts(3), objective="Extortion of drinking-water operators")
    ap1 = b.sdo("attack-pattern", "Data Encrypted for Impact", 10, external_references=[
        {"source_name": "mitre-attack", "external_id": "T1486", "url": "https://attack.mitre.org/techniques/T1486/"}])
    ap2 = b.sdo("attack-pattern", "Exploit Public-Facing Application", 10, external_references=[
        {"source_name": "mitre-attack", "external_id": "T1190", "url": "https://attack.mitre.org/techniques/T1190/"}])
    vuln = b.sdo("vulnerability", "CVE-2026-31337", 9, description="Remote code execution in a SCADA web gateway.",
                 external_references=[{"source_name": "cve", "external_id": "CVE-2026-31337"}])
    victim = b.sdo("identity", "Waterbedrijf Veldmond (fictional)", 11, identity_class="organization",
                   sectors=["utilities"])
    c2 = b.sdo("infrastructure", "Tidewater C2 cluster", 12, infrastructure_types=["command-and-control"])
    inds = []
    for i, ip in enumerate(["203.0.113.17", "203.0.113.45", "203.0.113.88"]):
        ind = b.indicator(f"Tidewater C2 {ip}", f"[ipv4-addr:value = '{ip}']", 12 + i, grade="B2")
        inds.append(ind)
        b.rel(ind, "indicates", malware, 12)
        obs_ip = b.sco("ipv4-addr", ip)
        b.rel(c2, "consists-of", obs_ip, 12)
    dom = b.indicator("Tidewater beacon domain", "[domain-name:value = 'update-check.tidewater.example']", 13, grade="B2")
    b.rel(dom, "indicates", malware, 13)
    h = hashlib.sha256(b"tidelock-loader").hexdigest()
    hind = b.indicator("TideLock loader hash", f"[file:hashes.'SHA-256' = '{h}']", 13, grade="A1")
    b.rel(hind, "indicates", malware, 13)
    url = b.indicator("TideLock payload URL",
                      "[url:value = 'https://cdn.tidewater.example/upd/stage2.bin'] OR [domain-name:value = 'cdn.tidewater.example']", 14)
    b.rel(url, "indicates", malware, 14)
    for src, kind, dst in [(actor, "uses", malware), (campaign, "attributed-to", actor), (campaign, "targets", victim),
                           (malware, "uses", ap1), (actor, "uses", ap2), (campaign, "targets", vuln),
                           (c2, "controls", malware), (actor, "uses", c2)]:
        b.rel(src, kind, dst, 12)
    obs = b.sdo("observed-data", "Beaconing seen at Veldmond", 11, first_observed=_ts(11), last_observed=_ts(11, 18),
                number_observed=412, object_refs=[_sco_id("ipv4-addr", "203.0.113.45"),
                                                  _sco_id("domain-name", "update-check.tidewater.example")])
    obs.pop("name")
    b.sco("domain-name", "update-check.tidewater.example")
    sight = b.add({"type": "sighting", "id": sid("sighting", "veldmond"), "created": _ts(11), "modified": _ts(11),
                   "sighting_of_ref": inds[1]["id"], "observed_data_refs": [obs["id"]],
                   "where_sighted_refs": [victim["id"]], "count": 412, "first_seen": _ts(11), "last_seen": _ts(11, 18)})
    refs = [o["id"] for o in b.objects if o["type"] not in ("relationship",)]
    b.sdo("report", "NCSC advisory: Tidewater Spider ransomware against water utilities", 14,
          report_types=["threat-actor", "indicator"], published=_ts(14), object_refs=refs + [sight["id"]],
          grade="B2", description="Indicators and recommended mitigations for the nl-vitaal community.")
    return b.objects


def usfed_holdings(org_id: str) -> list[dict[str, Any]]:
    """US-FED: an older AMBER report on the same crew (graded B2) with a C2 range, and a RED
    informant report that never leaves the node."""
    b = Builder(org_id, "amber")
    actor = b.sdo("threat-actor", "Tidewater Spider", 0, threat_actor_types=["crime-syndicate"],
                  aliases=["BRACKISH KRAKEN"], grade="B2")
    rng = b.indicator("Tidewater C2 range", "[ipv4-addr:value ISSUBSET '203.0.113.0/26']", 0, grade="B2")
    b.rel(rng, "indicates", actor, 0)
    wallet = b.indicator("Ransom wallet", "[cryptocurrency-wallet:value = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4']", 1,
                         grade="B3")
    b.rel(wallet, "indicates", actor, 1)
    rep = b.sdo("report", "Tidewater Spider: infrastructure and payment flows (2025-2026)", 2,
                report_types=["threat-actor"], published=_ts(2), object_refs=[actor["id"], rng["id"], wallet["id"]],
                grade="B2", description="Assessment of the crew's C2 hosting and ransom laundering.")
    # the date of birth came later (a new version, so a demo built before updates cleanly)
    person = b.sdo("identity", "Mohammed Al-Hassan", 2, identity_class="individual",
                   description="Suspected money mule coordinator.", grade="C3",
                   x_date_of_birth=DATE_OF_BIRTH, modified=_ts(20))
    b.rel(actor, "attributed-to", person, 2)
    b.sdo("report", "Informant CHS-4471 debrief: Tidewater payment handler", 3, tlp="red", grade="B1",
          report_types=["threat-actor"], published=_ts(3), object_refs=[actor["id"], person["id"]],
          description="Human source reporting. Never disseminate.")
    b.rel(rep, "related-to", actor, 2)
    return b.objects


def nlpol_holdings(org_id: str) -> list[dict[str, Any]]:
    """NL-POL: case holdings of Team High Tech Crime and the financial unit."""
    b = Builder(org_id, "amber")
    actor = b.sdo("threat-actor", "Tidewater Spider (NL case CARILLON)", 1, threat_actor_types=["crime-syndicate"],
                  grade="B2")
    hb = b.sdo("identity", "Harbourline Trading B.V.", 2, identity_class="organization", sectors=["logistics"],
               description="Shell company; KvK 00000001 (fictional).", grade="B2")
    vl = b.sdo("identity", "Velden Logistics B.V.", 2, identity_class="organization", sectors=["logistics"],
               description="Shell company; KvK 00000002 (fictional).", grade="B2")
    suspect = b.sdo("identity", "Mohamed Alhasan", 3, identity_class="individual",
                    description="Director of Harbourline Trading B.V.; also محمد الحسن in a seized document.",
                    grade="B2", x_date_of_birth=DATE_OF_BIRTH, modified=_ts(20))
    # the same man as written in a document seized at Harbourline: a record of its own,
    # which only entity resolution ties to the Latin spellings
    b.sdo("identity", "محمد الحسن", 7, identity_class="individual", grade="B2", x_date_of_birth=DATE_OF_BIRTH,
          description="Name and date of birth as written in a document seized at Harbourline Trading B.V.")
    b.rel(suspect, "related-to", hb, 3, description="director")
    b.rel(hb, "related-to", vl, 3, description="payments")
    b.rel(actor, "related-to", suspect, 4, description="suspected cash-out")
    c2 = b.indicator("C2 seen in Veldmond forensics", "[ipv4-addr:value = '203.0.113.45']", 5, grade="A2")
    b.rel(c2, "indicates", actor, 5)
    vessel = b.sdo("infrastructure", "Reefer MV Noordster (IMO 9395044)", 6, infrastructure_types=["unknown"],
                   description="Reefer vessel linked to the network's logistics; IMO 9395044, MMSI 244123456.")
    b.rel(actor, "uses", vessel, 6)
    rng = random.Random(7)
    # background: a year of ordinary case indicators so search and dashboards have volume
    for i in range(120):
        ip = f"198.51.100.{i + 1}"
        b.indicator(f"Phishing infrastructure {ip}", f"[ipv4-addr:value = '{ip}']", rng.randint(0, 40),
                    indicator_types=["malicious-activity"], grade=rng.choice(["B2", "C3", "B3", "F6"]),
                    tlp=rng.choice(["green", "amber", "amber", "clear"]))
    for i in range(40):
        d = f"login-{i:02d}.bank-secure.example"
        b.indicator(f"Phishing domain {d}", f"[domain-name:value = '{d}']", rng.randint(0, 40),
                    indicator_types=["malicious-activity"], grade=rng.choice(["B2", "C3"]))
    b.sdo("report", "CARILLON: interim case report", 8, report_types=["campaign"], published=_ts(8),
          object_refs=[actor["id"], hb["id"], vl["id"], suspect["id"], c2["id"], vessel["id"]], grade="B2")
    return b.objects


PARTNERS: dict[str, dict[str, str]] = {
    "NL-POL": {"sector": "law-enforcement", "country": "NL"},
    "NL-OM": {"sector": "government-judiciary", "country": "NL"},
    "NL-NCSC": {"sector": "government-national", "country": "NL"},
    "US-FED": {"sector": "law-enforcement", "country": "US"},
    "US-CG": {"sector": "defense", "country": "US"},
}


def partner_identities() -> list[dict[str, Any]]:
    return [identity(name, sid("identity", "org:" + name), p["sector"], p["country"]) for name, p in PARTNERS.items()]


def common() -> list[dict[str, Any]]:
    return [extension.project_identity(), extension.definition(), *partner_identities()]
