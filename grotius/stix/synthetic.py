"""Synthetic STIX 2.1 bundles for tests and benchmarks: every object valid, a realistic mix
of SDOs, SCOs, relationships, indicators with patterns and marking definitions, some
objects in several versions. Deterministic for a seed."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from .markings import TLP2_IDS

_BASE = datetime(2025, 1, 1, tzinfo=timezone.utc)
_SDO = ("threat-actor", "malware", "campaign", "attack-pattern", "intrusion-set", "tool",
        "vulnerability", "infrastructure", "location", "note")


def _ts(rng: random.Random, after: datetime | None = None) -> tuple[str, datetime]:
    dt = (after or _BASE) + timedelta(seconds=rng.randint(1, 60 * 86400), milliseconds=rng.randint(0, 999))
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z", dt


def _patterns(rng: random.Random, i: int) -> str:
    a, b = rng.randint(0, 255), rng.randint(0, 255)
    h = hashlib.sha256(str(i).encode()).hexdigest()
    choice = i % 8
    if choice == 0:
        return f"[ipv4-addr:value = '198.51.{a}.{b}']"
    if choice == 1:
        return f"[domain-name:value = 'host{i}.example.com']"
    if choice == 2:
        return f"[file:hashes.'SHA-256' = '{h}']"
    if choice == 3:
        return f"[url:value = 'https://bad{i}.example/path?q={a}']"
    if choice == 4:
        return f"[ipv4-addr:value ISSUBSET '203.0.{a}.0/24'] OR [ipv6-addr:value = '2001:db8::{a:x}:{b:x}']"
    if choice == 5:
        return (f"[file:hashes.MD5 = '{h[:32]}' AND file:size > {a * 100}] "
                f"FOLLOWEDBY [network-traffic:dst_port = {1024 + a}] WITHIN 600 SECONDS")
    if choice == 6:
        return f"[email-addr:value = 'user{i}@mail.example' OR email-addr:value MATCHES '^adm{a}@.*\\\\.example$']"
    return f"[x509-certificate:serial_number = '{a:02x}:{b:02x}'] REPEATS 3 TIMES"


def objects(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """n objects; references only point at objects generated earlier."""
    rng = random.Random(seed)
    uid = lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))  # noqa: E731
    creators: list[str] = []
    sdos: list[str] = []
    scos: list[str] = []
    statements: list[str] = []
    tlps = list(TLP2_IDS.values())
    made = 0

    def common(kind: str) -> dict[str, Any]:
        created, dt = _ts(rng)
        obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uid()}",
                               "created": created, "modified": created}
        if creators and rng.random() < 0.9:
            obj["created_by_ref"] = rng.choice(creators)
        marks = [rng.choice(tlps)]
        if statements and rng.random() < 0.05:
            marks.append(rng.choice(statements))
        obj["object_marking_refs"] = marks
        if rng.random() < 0.1:
            obj["x_source_case"] = f"CASE-{rng.randint(1, 9999):04d}"
        return obj

    while made < n:
        i = made
        r = rng.random()
        if i < 5 or (r < 0.002):
            created, _ = _ts(rng)
            mid = f"marking-definition--{uid()}"
            statements.append(mid)
            obj = {"type": "marking-definition", "spec_version": "2.1", "id": mid, "created": created,
                   "definition_type": "statement", "definition": {"statement": f"Copyright {2000 + i % 26} Example Org {i}"}}
        elif i < 20 or r < 0.012:
            obj = common("identity")
            obj.pop("created_by_ref", None)
            obj["name"] = f"Organisation {i}"
            obj["identity_class"] = "organization"
            creators.append(obj["id"])
        elif r < 0.17:
            kind = rng.choice(_SDO)
            obj = common(kind)
            if kind == "location":
                obj["country"] = rng.choice(["NL", "US", "DE", "FR", "BE"])
            elif kind == "note":
                obj["content"] = f"Analyst note {i}: " + "lorem ipsum " * rng.randint(1, 20)
                obj["object_refs"] = [rng.choice(sdos)] if sdos else [obj["created_by_ref"]] if "created_by_ref" in obj else [creators[0]]
            else:
                obj["name"] = f"{kind.replace('-', ' ').title()} {i}"
                if kind == "malware":
                    obj["is_family"] = rng.random() < 0.5
                    obj["malware_types"] = [rng.choice(["ransomware", "trojan", "backdoor", "dropper"])]
                if kind == "threat-actor":
                    obj["threat_actor_types"] = [rng.choice(["crime-syndicate", "hacker", "nation-state"])]
                if kind == "attack-pattern":
                    obj["external_references"] = [{"source_name": "mitre-attack", "external_id": f"T{1000 + i % 600}"}]
                if rng.random() < 0.3:
                    obj["description"] = "Synthetic description " * rng.randint(1, 10)
                if rng.random() < 0.1:
                    obj["granular_markings"] = [{"marking_ref": rng.choice(tlps), "selectors": ["name"]}]
            sdos.append(obj["id"])
        elif r < 0.47:
            obj = common("indicator")
            obj["name"] = f"Indicator {i}"
            obj["pattern"] = _patterns(rng, i)
            obj["pattern_type"] = "stix"
            obj["valid_from"] = obj["created"]
            obj["indicator_types"] = ["malicious-activity"]
            if rng.random() < 0.3:
                obj["confidence"] = rng.randint(0, 100)
            sdos.append(obj["id"])
        elif r < 0.77:
            kind = rng.choice(["ipv4-addr", "domain-name", "url", "file", "email-addr", "ipv6-addr", "mac-addr",
                               "autonomous-system"])
            a, b = rng.randint(0, 255), rng.randint(0, 255)
            obj = {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uid()}"}
            if kind == "ipv4-addr":
                obj["value"] = f"203.0.{a}.{b}"
            elif kind == "ipv6-addr":
                obj["value"] = f"2001:db8::{a:x}:{b:x}:{i % 65536:x}"
            elif kind == "domain-name":
                obj["value"] = f"d{i}.example.net"
            elif kind == "url":
                obj["value"] = f"https://u{i}.example.org/{a}/{b}"
            elif kind == "email-addr":
                obj["value"] = f"p{i}@mail.example"
            elif kind == "mac-addr":
                obj["value"] = ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))
            elif kind == "autonomous-system":
                obj["number"] = 64512 + i % 1000
            else:
                obj["hashes"] = {"SHA-256": hashlib.sha256(str(i).encode()).hexdigest()}
                obj["name"] = f"sample{i}.exe"
                obj["size"] = rng.randint(100, 10**7)
            if rng.random() < 0.5:
                obj["object_marking_refs"] = [rng.choice(tlps)]
            scos.append(obj["id"])
        elif r < 0.97 and len(sdos) > 2:
            obj = common("relationship")
            obj["relationship_type"] = rng.choice(["indicates", "uses", "related-to", "targets", "attributed-to"])
            obj["source_ref"] = rng.choice(sdos)
            obj["target_ref"] = rng.choice(sdos + scos[-50:]) if rng.random() < 0.8 else rng.choice(sdos)
        elif len(sdos) > 10:
            kind = rng.choice(["report", "observed-data", "grouping"])
            obj = common(kind)
            refs = rng.sample(sdos, min(len(sdos), rng.randint(1, 8)))
            if kind == "report":
                obj["name"] = f"Report {i}"
                obj["published"] = obj["created"]
                obj["object_refs"] = refs
            elif kind == "grouping":
                obj["name"] = f"Grouping {i}"
                obj["context"] = "suspicious-activity"
                obj["object_refs"] = refs
            else:
                if not scos:
                    continue
                obj["first_observed"] = obj["created"]
                obj["last_observed"] = obj["created"]
                obj["number_observed"] = rng.randint(1, 50)
                obj["object_refs"] = rng.sample(scos, min(len(scos), rng.randint(1, 4)))
        else:
            continue
        yield obj
        made += 1
        # some SDOs get a second version
        if made < n and obj.get("modified") and rng.random() < 0.03:
            new = dict(obj)
            later, _ = _ts(rng, datetime.fromisoformat(obj["modified"].replace("Z", "+00:00")))
            new["modified"] = later
            new["description"] = f"Revised {later}"
            yield new
            made += 1


def bundle(n: int, seed: int = 1) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.UUID(int=seed, version=4)}", "objects": list(objects(n, seed))}
