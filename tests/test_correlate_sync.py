"""Leads raised by a TAXII sync between two live nodes: US-FED is served over real HTTP in
a subprocess, NL-POL pulls its holdings, and the report's C2 range matches an address
NL-POL already held."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import grotius.correlate  # noqa: F401  (the hook runs in this process, where NL-POL ingests)
from grotius import demo_data
from grotius.collections import add as add_collection
from grotius.correlate import leads
from grotius.ingest import ingest
from grotius.node import init
from grotius.sharing import partners, sync
from test_sharing_sync import FAST, Served, _free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sharing-sync")]


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.delenv("GROTIUS_DATABASE_URL", raising=False)
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")  # documentation addresses; see test_correlate_warninglists
    us = init(tmp_path / "us", "US-FED", identity_id=demo_data.sid("identity", "org:US-FED"))
    nl = init(tmp_path / "nl", "NL-POL", identity_id=demo_data.sid("identity", "org:NL-POL"))
    for n in (nl, us):
        add_collection(n.store, "holdings", "Holdings")
        ingest(n, [o for o in demo_data.common() if o["id"] != n.identity_id])
    port = _free_port()
    _, pw = partners.add(us, "NL-POL", read=["holdings"], tlp_max="amber", public_key_pem=nl.public_key_pem(),
                         identity_id=nl.identity_id)
    partners.add(nl, "US-FED", read=["holdings"], tlp_max="amber", public_key_pem=us.public_key_pem(),
                 identity_id=us.identity_id, url=f"http://127.0.0.1:{port}/taxii2/",
                 remote_user="NL-POL", remote_password=pw)
    served = Served(us.home, port)
    yield {"nl": nl, "us": us, "served": served}
    served.kill()
    nl.close()
    us.close()


def test_sync_raises_lead_with_both_sides(nodes: dict[str, Any]) -> None:
    nl, us, served = nodes["nl"], nodes["us"], nodes["served"]
    s = ingest(nl, demo_data.nlpol_holdings(nl.identity_id), collection="holdings")
    assert s.ok, s.to_dict()
    assert leads.inbox(nl, status="all") == []  # one source: nothing to correlate yet
    s = ingest(us, demo_data.usfed_holdings(us.identity_id), collection="holdings")
    assert s.ok, s.to_dict()
    served.start()
    r = sync.pull(nl, "US-FED", page_size=5, retry=FAST)
    assert r.ok, r.lines()
    found = [leads.get(nl, x["id"]) for x in leads.inbox(nl, status="all")]
    assert len(found) == 1, [l["name"] for l in found]
    lead = found[0]
    assert lead["incoming"]["source"] == "US-FED" and lead["incoming"]["name"] == "Tidewater C2 range"
    assert lead["incoming"]["originator_ref"] == us.identity_id and lead["incoming"]["admiralty"] == "B2"
    assert lead["held"]["source"] == "NL-POL" and lead["held"]["admiralty"] == "A2"
    assert lead["matches"] == [{"kind": "ipv4-cidr", "value": "203.0.113.0/26", "held_kind": "ipv4",
                                "held_value": "203.0.113.45", "relation": "contains"}]
    # the RED informant report never left US-FED, so nothing about it can match here
    assert not nl.store.query("SELECT 1 FROM objects WHERE tlp = 'red'")
    # a second pull brings nothing new and raises nothing twice
    again = sync.pull(nl, "US-FED", page_size=5, retry=FAST)
    assert again.ok and len(leads.inbox(nl, status="all")) == 1
