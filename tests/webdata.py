"""A small, realistic holding for web tests: who made what, two versions, relationships."""

from __future__ import annotations

import functools
import re
from typing import Any

from argon2 import PasswordHasher

from grotius.ingest import ingest
from grotius.stix.markings import TLP2_IDS

PASSWORD = "correct-horse-battery"
NCSC = "identity--1b6c2f4e-6a0f-4d7b-9a35-3f1e2d4c5b60"
IND = "indicator--2c7d3e5f-7b1a-4e8c-8b46-4a2f3e5d6c71"
MAL = "malware--3d8e4f6a-8c2b-4f9d-9c57-5b3a4f6e7d82"
REL = "relationship--4e9f5a7b-9d3c-4a0e-8d68-6c4b5a7f8e93"
REP = "report--5fa06b8c-ae4d-4b1f-9e79-7d5c6b8a9fa4"
STMT = "marking-definition--6ab17c9d-bf5e-4c2a-8f8a-8e6d7c9bab05"


def holdings() -> list[dict[str, Any]]:
    green, amber = TLP2_IDS["green"], TLP2_IDS["amber"]
    base = {"spec_version": "2.1", "created": "2026-01-10T09:00:00.000Z", "modified": "2026-01-10T09:00:00.000Z"}
    return [
        {**base, "type": "identity", "id": NCSC, "name": "NL-NCSC", "identity_class": "organization",
         "object_marking_refs": [TLP2_IDS["clear"]]},
        {"type": "marking-definition", "spec_version": "2.1", "id": STMT, "created": "2026-01-01T00:00:00.000Z",
         "definition_type": "statement", "definition": {"statement": "Handle via NL-NCSC liaison only"}},
        {**base, "type": "indicator", "id": IND, "name": "Tidewater C2 address",
         "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix",
         "valid_from": "2026-01-10T09:00:00Z", "indicator_types": ["malicious-activity"],
         "created_by_ref": NCSC, "object_marking_refs": [green]},
        {**base, "type": "indicator", "id": IND, "modified": "2026-02-01T12:00:00.000Z",
         "name": "Tidewater Spider C2 address", "pattern": "[ipv4-addr:value = '203.0.113.7']",
         "pattern_type": "stix", "valid_from": "2026-01-10T09:00:00Z",
         "indicator_types": ["malicious-activity"], "created_by_ref": NCSC,
         "object_marking_refs": [green, STMT]},
        {**base, "type": "malware", "id": MAL, "name": "TideLocker", "is_family": True,
         "malware_types": ["ransomware"], "created_by_ref": NCSC, "object_marking_refs": [amber]},
        {**base, "type": "relationship", "id": REL, "relationship_type": "indicates",
         "source_ref": IND, "target_ref": MAL, "created_by_ref": NCSC, "object_marking_refs": [green]},
        {**base, "type": "report", "id": REP, "name": "Tidewater Spider hits a water utility",
         "published": "2026-01-11T00:00:00Z", "report_types": ["threat-report"],
         "object_refs": [IND, MAL, REL], "created_by_ref": NCSC, "object_marking_refs": [amber]},
    ]


@functools.cache
def _password_hash() -> str:
    # Argon2 takes about a second per hash on a busy test machine: hash the one test
    # password once per run and give both accounts that (real) hash
    return PasswordHasher().hash(PASSWORD)


def seed(node: Any) -> None:
    summary = ingest(node, holdings())
    assert summary.ok, summary.to_dict()
    with node.store.transaction() as tx:
        for name, role in (("anna", "admin"), ("bert", "analyst")):
            tx.execute(
                "INSERT INTO users (username, password_hash, role, created) VALUES (?, ?, ?, 0)",
                (name, _password_hash(), role),
            )


def login(client: Any, username: str = "anna", password: str = PASSWORD) -> str:
    """Log in through the HTML form like a browser; returns the session's CSRF token."""
    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert token, r.text
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": token.group(1), "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/", headers={"accept": "text/html"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    return csrf.group(1)
