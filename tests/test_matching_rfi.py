"""Requests for information between two live nodes on 127.0.0.1: NL-POL turns hits of a
hit/no-hit run into a request; US-FED approves it in full, in part (a property left out
of a copy it signs), or declines it; TLP and the agreement hold; both sides audit it and
see the same status."""

from __future__ import annotations

import base64
import json
from typing import Any, Iterator

import httpx
import pytest
from click.testing import CliRunner

import grotius.correlate  # noqa: F401  (the value index the holder proposes objects from)
from grotius import users
from grotius.cli import main
from grotius.exc import Conflict, GrotiusError, InvalidInput, NotFound, PolicyError
from grotius.matching import requests as rfi
from grotius.sharing import audit, partners
from grotius.stix.grading import GROTIUS_EXTENSION_ID
from rfi_helpers import AMB, GRN, HIT1, HIT2, RED, RELAY, holdings, in_days, link, run_match

PASSWORD = "correct-horse-battery"


@pytest.fixture
def pair(make_node: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")
    monkeypatch.setenv("GROTIUS_RFI_POLL_SECONDS", "0")  # the tests fetch answers themselves
    us = make_node("US-FED", communities=("carillon",))
    nl = make_node("NL-POL")
    holdings(us)
    us_url = live_server(us)
    link(nl, us, us_url)
    yield {"nl": nl, "us": us, "us_url": us_url, "match": run_match(nl)}


def _ask(p: dict[str, Any], *values: str, **kw: Any) -> str:
    args: dict[str, Any] = dict(asked="Subscriber details and payments, Jan-Oct 2026", legal_basis="mla",
                                legal_basis_text="MLA 2026/0412", urgency="urgent", deadline=in_days(10))
    args.update(kw)
    return str(rfi.create(p["nl"], p["match"], list(values), **args)["id"])


def _actions(node: Any, rid: str) -> list[str]:
    return [e.action for e in audit.entries(node.store, limit=500) if e.request_id == rid]


def test_partial_approval_discloses_a_signed_redacted_copy(pair: dict[str, Any]) -> None:
    nl, us = pair["nl"], pair["us"]
    rid = _ask(pair, HIT1, HIT2)

    # both sides list it, open, with its deadline
    (mine,) = rfi.list_requests(nl, direction="outgoing")
    (theirs,) = rfi.list_requests(us, direction="incoming")
    assert mine["request_id"] == theirs["request_id"] == rid
    assert mine["status"] == theirs["status"] == "open" and mine["deadline"] == theirs["deadline"]
    assert mine["delivered"] and theirs["partner"] == "NL-POL" and mine["partner"] == "US-FED"

    # the holder sees what it holds for the values, and what may not go
    prop = {p["id"]: p for p in rfi.proposed(us, rid)}
    assert set(prop) == {AMB, GRN, RED, RELAY}
    assert prop[AMB]["disclosable"] and prop[GRN]["disclosable"]
    assert not prop[RED]["disclosable"] and "RED" in prop[RED]["why_not"]
    assert not prop[RELAY]["disclosable"] and "XX-POL" in prop[RELAY]["why_not"]
    assert "description" in prop[AMB]["properties"] and "pattern" not in prop[AMB]["properties"]

    dec = rfi.decide(us, rid, approve=True, objects=[AMB, GRN], drop={AMB: ["description"]}, by="ursula")
    assert dec["outcome"] == "partially-approved"
    (copy_,) = [d for d in dec["disclosed"] if d.get("derived_from") == AMB]
    assert copy_["dropped"] == ["description"] and copy_["object_ref"] != AMB
    assert rfi.row(us, rid)["status"] == "partially-approved"
    assert rfi.row(nl, rid)["status"] == "open"  # not fetched yet

    res = rfi.refresh(nl, rid)
    assert res["status"] == "partially-approved" and res["received"] == 3  # decision, GRN, the copy

    # what NL-POL now holds: GRN as signed by US-FED, the copy without the description, not AMB
    src = dict(nl.store.query("SELECT id, source FROM objects WHERE id IN (?, ?, ?, ?)",
                              (GRN, AMB, copy_["object_ref"], dec["id"])))
    assert src == {GRN: "US-FED", copy_["object_ref"]: "US-FED", dec["id"]: "US-FED"}
    got = json.loads(nl.store.query_one("SELECT raw FROM objects WHERE id = ?", (copy_["object_ref"],))[0])
    assert "description" not in got and got["labels"] == ["courier"] and got["pattern"].endswith(f"'{HIT1}']")
    note = got["extensions"][GROTIUS_EXTENSION_ID]["redacted"]
    assert note["derived_from"] == AMB and note["selectors"] == ["description"]
    assert got["created_by_ref"] == us.identity_id
    sigs = dict(nl.store.query(
        "SELECT o.id, s.status FROM object_signatures s JOIN objects o ON o.pk = s.pk WHERE o.source = 'US-FED'"))
    assert sigs[copy_["object_ref"]] == "valid" and sigs[GRN] == "valid" and sigs[dec["id"]] == "valid"
    # the original at US-FED is untouched
    assert "description" in json.loads(us.store.query_one("SELECT raw FROM objects WHERE id = ?", (AMB,))[0])

    # status: same on both sides; the request has two versions on both (the second says so)
    assert rfi.row(nl, rid)["status"] == rfi.row(us, rid)["status"] == "partially-approved"
    for node in (nl, us):
        versions = [json.loads(r[0]) for r in node.store.query(
            "SELECT raw FROM objects WHERE id = ? ORDER BY version", (rid,))]
        assert [v["status"] for v in versions] == ["open", "partially-approved"]
        assert versions[1]["decision_ref"] == dec["id"]
    d = rfi.detail(nl, rid)
    assert {x["object_ref"] for x in d["disclosed"] if x["held_here"]} == {GRN, copy_["object_ref"]}

    # audit: the holder disclosed exactly GRN and the copy to NL-POL for this request
    disc = [e for e in audit.entries(us.store, action="disclose", limit=50) if e.request_id == rid]
    assert len(disc) == 1 and disc[0].partner == "NL-POL"
    assert {o[0] for o in disc[0].objects} == {dec["id"], GRN, copy_["object_ref"]}
    assert AMB not in json.dumps(disc[0].objects) and RED not in json.dumps(disc[0].objects)
    assert {"rfi.receive", "rfi.decide", "disclose"} <= set(_actions(us, rid))
    (decided,) = [e for e in audit.entries(us.store, action="rfi.decide", limit=50) if e.request_id == rid]
    for oid, version in decided.objects:  # names exactly the stored versions
        assert us.store.query_one("SELECT 1 FROM objects WHERE id = ? AND version = ?", (oid, version)), oid
    assert {"rfi.create", "disclose"} <= set(_actions(nl, rid))
    writes = [e for e in audit.entries(nl.store, action="write", limit=50) if e.partner == "US-FED"]
    assert any(copy_["object_ref"] in {o[0] for o in e.objects} for e in writes)
    for node in (nl, us):
        assert audit.verify(node.store).ok

    # a decided request is decided
    with pytest.raises(Conflict):
        rfi.decide(us, rid, approve=False, reason="changed my mind")
    with pytest.raises(Conflict):
        rfi.withdraw(nl, rid)


def test_full_approval_and_decline(pair: dict[str, Any]) -> None:
    nl, us = pair["nl"], pair["us"]
    full = _ask(pair, HIT2)
    no = _ask(pair, f"email:{HIT1}", urgency="immediate")
    dec = rfi.decide(us, full, approve=True)
    assert dec["outcome"] == "approved" and [d["object_ref"] for d in dec["disclosed"]] == [GRN]
    with pytest.raises(InvalidInput, match="reason"):
        rfi.decide(us, no, approve=False, reason="  ")
    rfi.decide(us, no, approve=False, reason="Ongoing covert operation; ask again in March")
    assert {r["request_id"]: r["status"] for r in rfi.refresh_open(nl)} == {full: "approved", no: "declined"}
    d = rfi.detail(nl, no)
    assert d["decision"]["reason"].startswith("Ongoing covert") and d["disclosed"] == []
    assert nl.store.query_one("SELECT COUNT(*) FROM objects WHERE id IN (?, ?)", (AMB, RELAY))[0] == 0
    assert rfi.list_requests(nl, status="declined")[0]["request_id"] == no


def test_tlp_and_agreement_refusals_are_clear(pair: dict[str, Any]) -> None:
    nl, us = pair["nl"], pair["us"]
    rid = _ask(pair, HIT1)
    with pytest.raises(PolicyError, match="TLP:RED never leaves"):
        rfi.decide(us, rid, approve=True, objects=[AMB, RED])
    with pytest.raises(PolicyError, match="received from XX-POL"):
        rfi.decide(us, rid, approve=True, objects=[RELAY])
    with pytest.raises(InvalidInput, match="cannot be left out"):
        rfi.decide(us, rid, approve=True, objects=[AMB], drop={AMB: ["pattern"]})
    with pytest.raises(InvalidInput, match="not among"):
        rfi.decide(us, rid, approve=True, objects=["indicator--b1000000-0000-4000-8000-000000000001"])
    assert rfi.row(us, rid)["status"] == "open"
    assert not [e for e in audit.entries(us.store, action="disclose", limit=50) if e.request_id == rid]
    # "everything" approves what may go, and says it was only part
    dec = rfi.decide(us, rid, approve=True)
    assert dec["outcome"] == "partially-approved" and [d["object_ref"] for d in dec["disclosed"]] == [AMB]
    rfi.refresh(nl, rid)
    assert nl.store.query_one("SELECT COUNT(*) FROM objects WHERE id IN (?, ?)", (RED, RELAY))[0] == 0
    assert nl.store.query_one("SELECT tlp FROM objects WHERE id = ?", (AMB,))[0] == "amber"

    # a request above the agreement does not leave the requester at all
    partners.update(nl, "US-FED", tlp_max="green")
    before = len(rfi.list_requests(nl))
    with pytest.raises(PolicyError, match="does not allow"):
        _ask(pair, HIT2)
    assert len(rfi.list_requests(nl)) == before  # refused before anything was stored
    # and an answer above the holder's agreement is refused before anything is stored
    partners.update(nl, "US-FED", tlp_max="amber")
    rid2 = _ask(pair, HIT2)
    partners.update(us, "NL-POL", tlp_max="green")
    with pytest.raises(PolicyError, match="above the agreement"):
        rfi.decide(us, rid2, approve=True)


def test_bad_input(pair: dict[str, Any]) -> None:
    nl, us = pair["nl"], pair["us"]
    with pytest.raises(InvalidInput, match="in the past"):
        _ask(pair, HIT1, deadline="2020-01-01")
    with pytest.raises(InvalidInput, match="not a date"):
        _ask(pair, HIT1, deadline="next tuesday")
    with pytest.raises(InvalidInput, match="not a hit"):
        _ask(pair, "courier9@tidewater.example")
    with pytest.raises(InvalidInput, match="urgency"):
        _ask(pair, HIT1, urgency="yesterday")
    with pytest.raises(InvalidInput, match="legal basis"):
        _ask(pair, HIT1, legal_basis="because")
    with pytest.raises(NotFound):
        rfi.create(nl, "x-grotius-match--00000000-0000-4000-8000-000000000000", [],
                   asked="x", legal_basis="mla", deadline=in_days(3))
    with pytest.raises(NotFound):
        rfi.decide(us, "x-grotius-request--00000000-0000-4000-8000-000000000000", approve=False, reason="x")

    # a requester cannot slip in a value that was not a hit: the holder checks its own run
    rid = _ask(pair, HIT1)
    forged = json.loads(nl.store.query_one("SELECT raw FROM objects WHERE id = ?", (rid,))[0])
    forged["id"] = "x-grotius-request--00000000-0000-4000-8000-00000000f0f0"
    forged["hits"] = [{"type": "email", "value": "other1@harbour.example"}]
    principal = partners.principal_for(us, partners.get(us, "NL-POL"))
    with pytest.raises(InvalidInput, match="not a hit"):
        rfi.receive(us, principal, [forged])

    # a requester cannot declare its own request approved, nor change what it asked about
    approved = forged | {"id": rid, "hits": [{"type": "email", "value": HIT1}], "status": "approved",
                         "modified": "2026-12-31T00:00:00.000Z"}
    with pytest.raises(Conflict, match="open here"):
        rfi.receive(us, principal, [approved])
    with pytest.raises(InvalidInput, match="cannot change 'hits'"):
        rfi.receive(us, principal, [approved | {"status": "withdrawn", "hits": [{"type": "email", "value": HIT2}]}])

    # withdrawing an answered request fetches the answer instead
    answered = _ask(pair, HIT2)
    rfi.decide(us, answered, approve=True)
    with pytest.raises(Conflict, match="answered by US-FED already"):
        rfi.withdraw(nl, answered)
    assert rfi.row(nl, answered)["status"] == "approved"

    # withdrawn: the holder is told and can no longer decide
    rfi.withdraw(nl, rid, "answered through Europol")
    assert rfi.row(us, rid)["status"] == "withdrawn"
    with pytest.raises(Conflict):
        rfi.decide(us, rid, approve=True)


def _basic(user: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


def test_rest_api_and_cli(pair: dict[str, Any], live_server: Any) -> None:
    nl, us, us_url = pair["nl"], pair["us"], pair["us_url"]
    users.add(nl.store, "anna", PASSWORD)
    users.add(us.store, "ursula", PASSWORD)
    nl_url = live_server(nl)
    body = {"match": pair["match"], "values": [HIT1], "asked": "Who rents the drop house?",
            "legal_basis": "police-cooperation", "urgency": "routine", "deadline": in_days(5)}
    r = httpx.post(nl_url + "/api/match/requests", json=body, headers=_basic("anna"))
    assert r.status_code == 201, r.text
    rid = r.json()["request_id"]
    assert r.json()["status"] == "open" and r.json()["delivered"]
    r = httpx.post(nl_url + "/api/match/requests", json=body | {"deadline": "2001-01-01"}, headers=_basic("anna"))
    assert r.status_code == 400 and r.json()["error"] == "invalid_input" and r.json()["detail"]["property"] == "deadline"

    r = httpx.get(us_url + "/api/match/requests", params={"direction": "incoming"}, headers=_basic("ursula"))
    assert [x["request_id"] for x in r.json()] == [rid]
    r = httpx.get(f"{us_url}/api/match/requests/{rid}", headers=_basic("ursula"))
    assert {p["id"] for p in r.json()["proposed"]} == {AMB, RED, RELAY}
    r = httpx.post(f"{us_url}/api/match/requests/{rid}/decision", json={"decision": "approve", "objects": [RED]},
                   headers=_basic("ursula"))
    assert r.status_code == 403 and r.json()["error"] == "policy_denied" and "RED" in r.json()["message"]
    r = httpx.post(f"{us_url}/api/match/requests/{rid}/decision", json={"decision": "maybe"}, headers=_basic("ursula"))
    assert r.status_code == 400
    r = httpx.post(f"{us_url}/api/match/requests/{rid}/decision",
                   json={"decision": "approve", "objects": [AMB], "drop": {AMB: ["description", "labels"]}},
                   headers=_basic("ursula"))
    assert r.status_code == 200 and r.json()["outcome"] == "partially-approved"

    # partner credentials open the partner endpoints only; users cannot use those
    pw = partners.reset_password(us, "NL-POL")
    r = httpx.get(us_url + "/api/match/requests", auth=("NL-POL", pw))
    assert r.status_code == 401
    r = httpx.get(f"{us_url}/api/match/rfi/requests/{rid}", headers=_basic("ursula"))
    assert r.status_code == 403
    partners.update(nl, "US-FED", remote_password=pw)

    # the CLI on the requester's side
    home = ["--home", str(nl.home)]
    out = CliRunner().invoke(main, ["rfi", "refresh", rid, "--json", *home])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)[0]["status"] == "partially-approved"
    out = CliRunner().invoke(main, ["rfi", "list", "--json", *home])
    assert [x["shown_status"] for x in json.loads(out.stdout)] == ["partially-approved"]
    out = CliRunner().invoke(main, ["rfi", "create", "--match", pair["match"], "--value", HIT2, "--asked", "who",
                                    "--legal-basis", "fiu", "--urgency", "urgent", "--deadline", in_days(2), *home])
    assert out.exit_code == 0, out.output
    rid2 = out.stdout.strip()
    out = CliRunner().invoke(main, ["rfi", "show", "x-grotius-request--00000000-0000-4000-8000-000000000000", *home])
    assert out.exit_code == 1 and "no request for information" in out.output
    # and the holder's
    uhome = ["--home", str(us.home)]
    out = CliRunner().invoke(main, ["rfi", "decide", rid2, "--decline", *uhome])
    assert out.exit_code == 2 and "reason" in out.output
    out = CliRunner().invoke(main, ["rfi", "decide", rid2, "--approve", "--drop", "nonsense", *uhome])
    assert out.exit_code == 2 and "OBJECT_ID:PROPERTY" in out.output
    out = CliRunner().invoke(main, ["rfi", "decide", rid2, "--approve", "--drop", f"{GRN}:name", *uhome])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("partially-approved") and f"copy of {GRN}" in out.stdout


def test_overdue_is_shown_while_open(pair: dict[str, Any]) -> None:
    nl, us = pair["nl"], pair["us"]
    rid = _ask(pair, HIT2, deadline=rfi._ts(rfi.datetime.now(rfi.timezone.utc) + rfi.timedelta(minutes=5)))
    assert rfi.list_requests(nl, status="overdue") == []
    # the deadline passes (moved back in the table rather than waited for)
    for node in (nl, us):
        with node.store.transaction() as tx:
            tx.execute("UPDATE matching_requests SET deadline = ? WHERE request_id = ?", ("2026-01-01T00:00:00.000Z", rid))
    for node in (nl, us):
        (r,) = rfi.list_requests(node, status="overdue")
        assert r["request_id"] == rid and r["shown_status"] == "overdue" and r["status"] == "open"
    rfi.decide(us, rid, approve=True)
    assert rfi.list_requests(us, status="overdue") == []
    assert rfi.row(us, rid)["shown_status"] == "approved"


def test_undelivered_request_is_kept_and_sent_again(pair: dict[str, Any]) -> None:
    nl, us, us_url = pair["nl"], pair["us"], pair["us_url"]
    partners.update(nl, "US-FED", url="http://127.0.0.1:9/taxii2/")  # nothing listens there
    with pytest.raises(GrotiusError, match="not delivered: send it again") as err:
        _ask(pair, HIT2)
    (r,) = rfi.list_requests(nl)
    assert not r["delivered"] and r["request_id"] in str(err.value)
    assert rfi.list_requests(us) == []
    partners.update(nl, "US-FED", url=us_url + "/taxii2/")
    assert rfi.refresh(nl, r["request_id"])["delivered"]
    assert [x["request_id"] for x in rfi.list_requests(us)] == [r["request_id"]]
    assert rfi.row(nl, r["request_id"])["delivered"]


def test_demo_steps_request_approved_in_part(pair: dict[str, Any]) -> None:
    from grotius.matching import demo

    nodes = {"NL-POL": pair["nl"], "US-FED": pair["us"]}
    demo.holdings_step(nodes, pair["nl"].home)
    lines = demo.rfi_step(nodes)
    assert "2 hit(s)" in lines[0] and "partially approved" in lines[2]
    (r,) = rfi.list_requests(pair["nl"])
    assert r["status"] == "partially-approved"
    report = demo.demo_data.sid("report", "usfed:subpoena-returns")
    (copy_,) = rfi.detail(pair["nl"], r["request_id"])["disclosed"]
    assert copy_["derived_from"] == report and copy_["held_here"]
    raw = pair["nl"].store.query_one("SELECT raw FROM objects WHERE id = ?", (copy_["object_ref"],))[0]
    assert "GJ-2026-117" not in raw and demo.IBAN in raw
    assert demo.rfi_step(nodes)[0].endswith("(built before)")  # a second build changes nothing


def test_serving_requester_fetches_answers_by_itself(pair: dict[str, Any], live_server: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    nl, us = pair["nl"], pair["us"]
    rid = _ask(pair, HIT2)
    rfi.decide(us, rid, approve=True)
    monkeypatch.setenv("GROTIUS_RFI_POLL_SECONDS", "0.2")
    live_server(nl)  # NL-POL serving: its poller fetches the answer, nobody clicks
    deadline = time.monotonic() + 60
    while rfi.row(nl, rid)["status"] == "open" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rfi.row(nl, rid)["status"] == "approved"
    assert nl.store.query_one("SELECT source FROM objects WHERE id = ?", (GRN,))[0] == "US-FED"
