"""Deterministic generator of realistic, valid STIX 2.1 objects.

Used by the validation tests and benchmarks (and handy for demos): a seeded mix of SDOs,
SROs and SCOs with the properties real feeds carry (markings, external references, kill
chain phases, STIX patterns of varied shape).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
TLP_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
_BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.identity = self.id("identity")
        self.indicators: list[str] = []
        self.malware: list[str] = []
        self.observed: list[str] = []
        self.scos: list[str] = []

    def id(self, t: str) -> str:
        return f"{t}--{uuid.UUID(int=self.r.getrandbits(128), version=4)}"

    def ts(self, ms: bool = True) -> str:
        d = _BASE + timedelta(seconds=self.r.randrange(0, 86400 * 300), milliseconds=self.r.randrange(1000))
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z" if ms else d.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )

    def ip(self) -> str:
        r = self.r
        return f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def hexs(self, n: int) -> str:
        return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    def common(self, t: str) -> dict[str, Any]:
        created = self.ts()
        obj: dict[str, Any] = {
            "type": t,
            "spec_version": "2.1",
            "id": self.id(t),
            "created": created,
            "modified": created,
            "created_by_ref": self.identity,
            "object_marking_refs": [self.r.choice((TLP_GREEN, TLP_AMBER))],
        }
        if self.r.random() < 0.3:
            obj["confidence"] = self.r.randrange(0, 101)
        if self.r.random() < 0.3:
            obj["labels"] = [self.r.choice(("phishing", "ransomware", "fraud", "smuggling"))]
        if self.r.random() < 0.3:
            obj["external_references"] = [
                {"source_name": "case-system", "external_id": f"CASE-{self.r.randrange(10**6)}",
                 "url": f"https://cases.example.org/{self.r.randrange(10**6)}"}
            ]
        return obj

    def pattern(self) -> str:
        r = self.r
        choice = r.randrange(6)
        if choice == 0:
            return f"[ipv4-addr:value = '{self.ip()}']"
        if choice == 1:
            return f"[domain-name:value = 'bad{r.randrange(10**5)}.example.com']"
        if choice == 2:
            return f"[file:hashes.'SHA-256' = '{self.hexs(64)}']"
        if choice == 3:
            return (f"[file:hashes.MD5 = '{self.hexs(32)}' OR file:name = 'invoice{r.randrange(999)}.exe'] "
                    f"AND [network-traffic:dst_ref.value = '{self.ip()}' AND network-traffic:dst_port = 443]")
        if choice == 4:
            return (f"[email-message:from_ref.value = 'boss{r.randrange(99)}@example.org' AND "
                    f"email-message:subject LIKE '%invoice%'] FOLLOWEDBY [url:value = "
                    f"'https://evil.example.net/{r.randrange(10**4)}'] WITHIN 600 SECONDS")
        return f"[ipv4-addr:value ISSUBSET '{self.ip().rsplit('.', 1)[0]}.0/24']"

    def indicator(self) -> dict[str, Any]:
        o = self.common("indicator")
        o.update(name=f"Indicator {self.r.randrange(10**5)}", pattern=self.pattern(), pattern_type="stix",
                 valid_from=o["created"], indicator_types=["malicious-activity"])
        if self.r.random() < 0.3:
            o["kill_chain_phases"] = [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]
        self.indicators.append(o["id"])
        return o

    def malware_obj(self) -> dict[str, Any]:
        o = self.common("malware")
        o.update(name=f"Malware{self.r.randrange(999)}", is_family=True, malware_types=["ransomware"],
                 description="Encrypts files and demands payment in cryptocurrency.")
        self.malware.append(o["id"])
        return o

    def relationship(self) -> dict[str, Any]:
        o = self.common("relationship")
        src = self.r.choice(self.indicators) if self.indicators else self.id("indicator")
        dst = self.r.choice(self.malware) if self.malware else self.id("malware")
        o.update(relationship_type="indicates", source_ref=src, target_ref=dst)
        return o

    def sighting(self) -> dict[str, Any]:
        o = self.common("sighting")
        first = self.ts()
        o.update(sighting_of_ref=self.r.choice(self.indicators) if self.indicators else self.id("indicator"),
                 where_sighted_refs=[self.identity], count=self.r.randrange(1, 50), first_seen=first,
                 last_seen=first)
        if self.observed:
            o["observed_data_refs"] = [self.r.choice(self.observed)]
        return o

    def sco(self) -> dict[str, Any]:
        r = self.r
        k = r.randrange(5)
        if k == 0:
            o: dict[str, Any] = {"type": "ipv4-addr", "value": self.ip()}
        elif k == 1:
            o = {"type": "domain-name", "value": f"host{r.randrange(10**5)}.example.com"}
        elif k == 2:
            o = {"type": "url", "value": f"https://evil.example.net/{r.randrange(10**5)}"}
        elif k == 3:
            o = {"type": "file", "name": f"invoice{r.randrange(999)}.pdf.exe", "size": r.randrange(10**7),
                 "hashes": {"SHA-256": self.hexs(64), "MD5": self.hexs(32)}}
        else:
            o = {"type": "email-addr", "value": f"user{r.randrange(10**4)}@example.org",
                 "display_name": "Some User"}
        o["spec_version"] = "2.1"
        o["id"] = f"{o['type']}--{uuid.UUID(int=r.getrandbits(128), version=5)}"
        self.scos.append(o["id"])
        return o

    def observed_data(self) -> dict[str, Any]:
        o = self.common("observed-data")
        first = self.ts()
        refs = self.r.sample(self.scos, min(3, len(self.scos))) if self.scos else [self.id("ipv4-addr")]
        o.update(first_observed=first, last_observed=first, number_observed=self.r.randrange(1, 100),
                 object_refs=refs)
        self.observed.append(o["id"])
        return o

    def other_sdo(self) -> dict[str, Any]:
        r = self.r
        t = r.choice(("threat-actor", "attack-pattern", "campaign", "vulnerability", "tool", "report",
                      "note", "location", "intrusion-set", "infrastructure", "course-of-action", "grouping"))
        o = self.common(t)
        name = f"{t} {r.randrange(10**4)}"
        if t == "report":
            o.update(name=name, published=o["created"], report_types=["threat-report"],
                     object_refs=(self.indicators[-3:] or [self.id("indicator")]))
        elif t == "note":
            o.update(content="Analyst note: seen in joint operation.", object_refs=[self.identity])
        elif t == "grouping":
            o.update(context="suspicious-activity", object_refs=[self.identity])
        elif t == "location":
            o.update(latitude=round(r.uniform(-90, 90), 4), longitude=round(r.uniform(-180, 180), 4),
                     country="NL")
        elif t == "attack-pattern":
            o.update(name=name, kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "execution"}])
        elif t == "threat-actor":
            o.update(name=name, threat_actor_types=["crime-syndicate"], aliases=["TA" + str(r.randrange(99))])
        else:
            o["name"] = name
        return o


def generate(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` valid objects in a realistic mix (about 1/3 indicators)."""
    return list(iter_objects(n, seed))


def iter_objects(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    g = _Gen(seed)
    ident = {
        "type": "identity", "spec_version": "2.1", "id": g.identity, "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z", "name": "Example Police Agency", "identity_class": "organization",
        "sectors": ["government-national"],
    }
    yield ident
    makers = [g.indicator, g.indicator, g.indicator, g.malware_obj, g.relationship, g.sighting, g.sco, g.sco,
              g.observed_data, g.other_sdo, g.other_sdo]
    for _ in range(n - 1):
        yield g.r.choice(makers)()
