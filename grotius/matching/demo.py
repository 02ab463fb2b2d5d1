"""Demo steps (Operation Carillon, part 3): NL-POL runs hit/no-hit with US-FED on the
financial identifiers of its case, gets hits, sends a request for information on the
shell company's account, and US-FED approves it in part: its subpoena report goes
without the sealed court reference; its informant's RED debrief cannot be chosen.
After the sync NL-POL resolves the suspect's three spellings (its own Latin and Arabic
records, US-FED's synced one) into one entity, and asks US-FED about names in its own
spelling by the fuzzy exchange.

US-FED's financial holdings are stored outside any collection, so the first sync does
not carry them to NL-POL: the only way NL-POL learns of them is this request.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grotius import demo_data
from grotius.stix import markings

if TYPE_CHECKING:
    from grotius.node import Node

#: Harbourline Trading B.V.'s account (the textbook example IBAN: valid, fictional)
IBAN = "NL91ABNA0417164300"
WALLET = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def _iban(country: str, bban: str) -> str:
    """A checksum-valid IBAN for a made-up account (so the value registry accepts it)."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


#: what NL-POL's financial unit asks about: the shell companies' accounts, the suspect's
#: phones and the ransom wallet; most are unknown to US-FED and stay private
ASKED = [("iban", IBAN), ("btc", WALLET)] + [
    ("iban", _iban("NL", f"RABO0{i:09d}")) for i in range(1, 9)] + [
    ("phone", f"+31 6 {20000000 + 7919 * i}") for i in range(1, 9)]


def usfed_financial(org_id: str) -> list[dict[str, Any]]:
    """US-FED's subpoena returns on the account (AMBER) and the informant's report on it (RED)."""
    amber, red = markings.TLP2_IDS["amber"], markings.TLP2_IDS["red"]
    base = {"spec_version": "2.1", "created_by_ref": org_id, "created": "2026-03-02T10:00:00.000Z",
            "modified": "2026-03-02T10:00:00.000Z"}
    return [
        {**base, "type": "report", "id": demo_data.sid("report", "usfed:subpoena-returns"),
         "name": "Subpoena returns: payments into Harbourline account",
         "description": f"Account {IBAN} received 14 transfers (EUR 9,400-9,900 each) from exchanges "
                        f"that cashed out the ransom wallet {WALLET}, Feb-Mar 2026.",
         "report_types": ["threat-actor"], "published": "2026-03-02T10:00:00Z",
         "object_refs": [demo_data.sid("identity", "org:US-FED")],
         "external_references": [{"source_name": "court", "description": "sealed grand jury subpoena",
                                   "external_id": "GJ-2026-117"}],
         "object_marking_refs": [amber]},
        {**base, "type": "report", "id": demo_data.sid("report", "usfed:chs-iban"),
         "name": "CHS-4471 on the Harbourline account", "created": "2026-03-03T10:00:00.000Z",
         "modified": "2026-03-03T10:00:00.000Z", "report_types": ["threat-actor"],
         "published": "2026-03-03T10:00:00Z",
         "description": f"Source says the payment handler controls account {IBAN}. Never disseminate.",
         "object_refs": [demo_data.sid("identity", "org:US-FED")],
         "object_marking_refs": [red]},
    ]


def holdings_step(nodes: dict[str, "Node"], base: Path) -> list[str]:
    from grotius.ingest import ingest

    us = nodes["US-FED"]
    s = ingest(us, usfed_financial(us.identity_id), quiet=True)
    return [f"US-FED financial holdings (no collection, not synced): stored {s.stored}, unchanged {s.unchanged}"]


def rfi_step(nodes: dict[str, "Node"]) -> list[str]:
    """Needs both nodes serving: PSI and the request travel over the partner channel."""
    from grotius.matching import exchange
    from grotius.matching import requests as rfi

    nl, us = nodes["NL-POL"], nodes["US-FED"]
    done = rfi.list_requests(nl, direction="outgoing")
    if done:
        return [f"NL-POL request for information to US-FED: {done[0]['shown_status']} (built before)"]
    values = exchange.read_input([f"{k}\t{v}" for k, v in ASKED])
    result = exchange.request(nl, "US-FED", values)
    lines = [f"NL-POL hit/no-hit with US-FED: {len(result.hits)} hit(s) of {result.size} value(s); "
             f"the other {result.size - len(result.hits)} stay private"]
    (match_id,) = [r[0] for r in nl.store.query(
        "SELECT id FROM objects WHERE type = 'x-grotius-match' AND source IS NULL ORDER BY date_added DESC LIMIT 1")]
    deadline = (datetime.now(timezone.utc) + timedelta(days=14)).strftime("%Y-%m-%d")
    req = rfi.create(nl, match_id, [IBAN], asked="Account holder, statements and counterparties of this "
                     "account, Jan-Mar 2026 (CARILLON cash-out)", legal_basis="mla",
                     legal_basis_text="MLA request NL-2026-0412 (treaty art. 7)", urgency="urgent",
                     deadline=deadline, by="analyst")
    lines.append(f"NL-POL sent a request for information on {IBAN} to US-FED: {req['id']}")
    report = demo_data.sid("report", "usfed:subpoena-returns")
    dec = rfi.decide(us, req["id"], approve=True, objects=[report], drop={report: ["external_references"]},
                     by="analyst")
    lines.append(f"US-FED {dec['outcome'].replace('-', ' ')}: subpoena report without the sealed court "
                 "reference; the informant's RED report stays home")
    res = rfi.refresh(nl, req["id"])
    lines.append(f"NL-POL fetched the answer: {res['received']} object(s), status {res['status']}")
    return lines


#: names NL-POL's case file spells its own way (with a date of birth where known); the
#: first is the suspect, whom US-FED holds as "Mohammed Al-Hassan"
FUZZY_ASKED = [f"Mohamed Alhasan\t{demo_data.DATE_OF_BIRTH}", "Mohamed Alhasan", "Joanna Kowalska",
               "Erik Johansson\t1979-03-14"]


def entities_step(nodes: dict[str, "Node"]) -> list[str]:
    """After the sync: NL-POL resolves what it holds, its own records and US-FED's."""
    from grotius.matching import entities

    nl = nodes["NL-POL"]
    result = entities.run(nl)
    lines = [f"NL-POL entity resolution: {len(result.entities)} entit{'y' if len(result.entities) == 1 else 'ies'} "
             f"from {len(result.resolution.records)} records ({result.stored} stored, {result.unchanged} unchanged)"]
    for e in result.entities:
        sources = sorted({m["source"] or "NL-POL" for m in e["members"]})
        lines.append(f"  {e['name']}: {' / '.join(e['names'])} (held by {', '.join(sources)})")
    return lines


def _agree_key(nl: "Node", us: "Node") -> str:
    """One fuzzy-matching key for the NL-POL/US-FED agreement (kept when both hold it)."""
    from grotius.exc import PolicyError
    from grotius.matching import fuzzy

    try:
        kid = fuzzy.key_id(fuzzy.get_key(nl, "US-FED"))
        if fuzzy.key_id(fuzzy.get_key(us, "NL-POL")) == kid:
            return kid
    except PolicyError:
        pass
    key, kid = fuzzy.set_key(nl, "US-FED")
    fuzzy.set_key(us, "NL-POL", key)
    return kid


def fuzzy_step(nodes: dict[str, "Node"]) -> list[str]:
    """Needs both nodes serving: NL-POL asks US-FED about names in its own spelling."""
    from grotius.matching import fuzzy

    nl, us = nodes["NL-POL"], nodes["US-FED"]
    kid = _agree_key(nl, us)
    lines = [f"NL-POL and US-FED agreed a fuzzy-matching key (key id {kid})"]
    runs = nl.store.query("SELECT raw FROM objects WHERE type = 'x-grotius-match' AND source IS NULL")
    if any(json.loads(raw).get("mode") == "fuzzy" for (raw,) in runs):
        return lines + ["NL-POL fuzzy name match with US-FED: run before"]
    result = fuzzy.request(nl, "US-FED", fuzzy.read_input(FUZZY_ASKED))
    hits = ", ".join(f"{q.name}{' with year of birth' if q.date_of_birth else ''} ({score:.2f})"
                     for _, q, score in result.hits)
    lines.append(f"NL-POL fuzzy name match with US-FED: {len(result.hits)} of {result.size} name(s) match"
                 f"{': ' + hits if hits else ''}; only keyed encodings crossed")
    return lines


def register() -> None:
    from grotius import demo

    if holdings_step not in demo.STEPS:
        demo.STEPS.append(holdings_step)
    for live in (rfi_step, entities_step, fuzzy_step):
        if live not in demo.LIVE_STEPS:
            demo.LIVE_STEPS.append(live)
