"""Two live nodes for the request-for-information tests: US-FED holds, NL-POL asks.

US-FED holds, for two e-mail addresses NL-POL also knows:
  ``AMB``  its own TLP:AMBER indicator (courier1), with a description and labels
  ``GRN``  its own TLP:GREEN indicator (courier2)
  ``RED``  its own TLP:RED informant indicator on courier1 (never leaves)
  ``RELAY`` a TLP:AMBER indicator on courier1 it received from a third partner, XX-POL
            (AMBER from one partner never goes on to another)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from grotius.ingest import ingest
from grotius.matching import exchange
from grotius.sharing import partners
from grotius.stix.markings import TLP2_IDS

HIT1 = "courier1@tidewater.example"
HIT2 = "courier2@tidewater.example"
AMB = "indicator--a1000000-0000-4000-8000-000000000001"
GRN = "indicator--a1000000-0000-4000-8000-000000000002"
RED = "indicator--a1000000-0000-4000-8000-000000000003"
RELAY = "indicator--a1000000-0000-4000-8000-000000000004"
XX = "identity--a1000000-0000-4000-8000-0000000000ff"


def _ind(oid: str, value: str, tlp: str, by: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": oid,
        "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
        "created_by_ref": by, "name": f"Tidewater courier {value}",
        "pattern": f"[email-addr:value = '{value}']", "pattern_type": "stix",
        "valid_from": "2026-10-01T00:00:00Z", "object_marking_refs": [TLP2_IDS[tlp]], **extra,
    }


def holdings(us: Any) -> None:
    me = us.identity_id
    s = ingest(us, [
        _ind(AMB, HIT1, "amber", me, description="Seen paying the drop-house rent; source: undercover officer",
             labels=["courier"]),
        _ind(GRN, HIT2, "green", me),
        _ind(RED, HIT1, "red", me, description="Informant: the cell's treasurer"),
        # every node holds some noise the partner does not know
        *[_ind(f"indicator--b1000000-0000-4000-8000-{i:012d}", f"other{i}@harbour.example", "amber", me)
          for i in range(5)],
    ], quiet=True)
    assert s.ok, s.to_dict()
    s = ingest(us, [_ind(RELAY, HIT1, "amber", XX)], source="XX-POL", strict_refs=False, quiet=True)
    assert s.ok, s.to_dict()


def link(nl: Any, us: Any, us_url: str) -> None:
    """The agreement both ways (AMBER at most; US-FED's node must be in the ``carillon``
    community for GREEN to go to NL-POL); NL-POL reaches US-FED at ``us_url``."""
    _, pw = partners.add(us, "NL-POL", tlp_max="amber", communities=("carillon",), identity_id=nl.identity_id,
                         public_key_pem=nl.public_key_pem())
    partners.add(us, "XX-POL", tlp_max="amber", identity_id=XX)
    partners.add(nl, "US-FED", tlp_max="amber", identity_id=us.identity_id, public_key_pem=us.public_key_pem(),
                 url=us_url + "/taxii2/", remote_user="NL-POL", remote_password=pw)


def run_match(nl: Any) -> str:
    """NL-POL asks US-FED about four addresses; returns its x-grotius-match id."""
    values = exchange.read_input([f"email\t{v}" for v in (HIT1, HIT2, "nobody@elsewhere.example",
                                                          "courier9@tidewater.example")])
    exchange.request(nl, "US-FED", values)
    (mid,) = [r[0] for r in nl.store.query("SELECT id FROM objects WHERE type = 'x-grotius-match'")]
    return str(mid)


def in_days(n: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=n)).strftime("%Y-%m-%d")
