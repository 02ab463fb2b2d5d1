"""Leads in the web app: REST API and the inbox pages (TestClient), and the demo's inbox in
headless Chromium (both sides of a lead)."""

from __future__ import annotations

import base64
import re
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

import grotius.correlate  # noqa: F401
from grotius import demo_data
from grotius.correlate import leads
from grotius.correlate.api import PER_PAGE
from grotius.ingest import ingest
from grotius.stix.markings import TLP2_IDS
from grotius.web import auth
from grotius.web.app import create_app
from browser import SHOTS, open_logged_in
from webdata import PASSWORD, login, seed


@pytest.fixture(autouse=True)
def _no_misp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")


def carillon(node: Any) -> None:
    """NL-POL's holdings, then US-FED's report and NL-NCSC's advisory arriving from partners."""
    seed(node)
    for objs, source in ((demo_data.common(), None), (demo_data.nlpol_holdings(node.identity_id), None),
                         (demo_data.usfed_holdings(demo_data.sid("identity", "org:US-FED")), "US-FED"),
                         (demo_data.ncsc_advisory(demo_data.sid("identity", "org:NL-NCSC")), "NL-NCSC")):
        s = ingest(node, [o for o in objs if o["id"] != node.identity_id], source=source)
        assert s.ok, s.to_dict()


def basic(user: str = "anna") -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


@pytest.fixture
def client(node: Any) -> Iterator[TestClient]:
    carillon(node)
    with TestClient(create_app(node), raise_server_exceptions=False) as c:
        yield c


def test_api_inbox_lead_and_decision(client: TestClient, node: Any) -> None:
    r = client.get("/api/leads", headers=basic())
    assert r.status_code == 200, r.text
    rows = r.json()
    assert rows and rows == sorted(rows, key=lambda x: -x["score"])
    names = [x["name"] for x in rows]
    assert any("203.0.113.45" in n and "in-range 203.0.113.0/26" in n for n in names), names
    r = client.get("/api/leads", params={"source": "US-FED", "q": "203.0.113.17"}, headers=basic())
    assert r.json() and all("US-FED" in x["sources"] and "203.0.113.17" in x["name"] for x in r.json())
    lid = rows[0]["id"]
    r = client.get(f"/api/leads/{lid}", headers=basic())
    body = r.json()
    assert body["incoming"]["id"] == body["lead"]["incoming"]["object_ref"]
    assert body["held"]["id"] == body["lead"]["held"]["object_ref"]
    r = client.post(f"/api/leads/{lid}/status", json={"status": "dismissed"}, headers=basic())
    assert r.status_code == 400 and r.json()["error"] == "invalid_input" and "reason" in r.json()["message"]
    r = client.post(f"/api/leads/{lid}/status", json={"status": "accepted", "reason": "same C2"}, headers=basic())
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert lid not in [x["id"] for x in client.get("/api/leads", headers=basic()).json()]
    assert lid in [x["id"] for x in client.get("/api/leads?status=accepted", headers=basic()).json()]
    r = client.get("/api/leads/x-grotius-lead--00000000-0000-4000-8000-000000000000", headers=basic())
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/api/leads?status=bogus", headers=basic())
    assert r.status_code == 400 and "status" in r.json()["message"]
    r = client.get("/api/correlate/check", params={"value": "203.0.113.45"}, headers=basic())
    assert {m["relation"] for m in r.json()["matches"]} >= {"exact", "in-range"}


def test_inbox_pages_and_form_decision(client: TestClient, node: Any) -> None:
    assert client.get("/leads", follow_redirects=False).status_code in (302, 303, 401)
    csrf = login(client)
    page = client.get("/leads", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'class="lead-row"' in page.text and "203.0.113.45" in page.text
    lid = leads.inbox(node)[0]["id"]
    page = client.get(f"/leads/{lid}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert 'id="incoming"' in page.text and 'id="held"' in page.text and "Admiralty grade" in page.text
    r = client.post(f"/leads/{lid}/status", data={"status": "dismissed", "reason": "sinkholed", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert leads.get(node, lid)["status"] == "dismissed"
    forged = client.post(f"/leads/{lid}/status", data={"status": "new"}, follow_redirects=False)
    assert forged.status_code == 403
    assert leads.get(node, lid)["status"] == "dismissed"



def many_leads(node: Any, n: int) -> None:
    """``n`` leads: US-FED reports addresses NL-POL holds; every other one at TLP:AMBER (the rest GREEN)."""
    seed(node)
    partner = demo_data.sid("identity", "org:US-FED")
    held, incoming = [], []
    for i in range(n):
        for objs, who, tlp in ((held, node.identity_id, "green"), (incoming, partner, "amber" if i % 2 else "green")):
            objs.append({
                "type": "indicator", "spec_version": "2.1", "id": demo_data.sid("indicator", f"{who}:{i}"),
                "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
                "name": f"C2 address {i}", "pattern": f"[ipv4-addr:value = '198.51.100.{i}']", "pattern_type": "stix",
                "valid_from": "2026-10-01T00:00:00Z", "created_by_ref": who, "object_marking_refs": [TLP2_IDS[tlp]],
            })
    assert ingest(node, held).ok
    assert ingest(node, incoming, source="US-FED").ok
    assert leads.count(node) == n


def test_inbox_page_pages_through_all_leads_keeping_the_filters(node: Any) -> None:
    many_leads(node, 2 * PER_PAGE + 3)
    with TestClient(create_app(node), raise_server_exceptions=False) as client:
        login(client)
        html = {"accept": "text/html"}
        first = client.get("/leads", params={"source": "US-FED", "min_score": "0.1", "sort": "recent"}, headers=html)
        assert first.status_code == 200, first.text
        assert f"<strong>{2 * PER_PAGE + 3}</strong> leads" in first.text and "page 1 of 3" in first.text
        links = dict((text, href.replace("&amp;", "&")) for href, text in
                     re.findall(r'<a href="(/leads\?[^"]+)">([^<]+)</a>', first.text))
        assert parse_qs(urlsplit(links["next ›"]).query) == {
            "status": ["new"], "sort": ["recent"], "source": ["US-FED"], "min_score": ["0.1"], "page": ["2"]}
        seen = re.findall(r'href="/leads/(x-grotius-lead--[0-9a-f-]+)"', first.text)
        last = client.get(links["last »"], headers=html)
        assert "page 3 of 3" in last.text and "next ›" not in last.text
        second = client.get(links["next ›"], headers=html)
        seen += re.findall(r'href="/leads/(x-grotius-lead--[0-9a-f-]+)"', second.text)
        seen += re.findall(r'href="/leads/(x-grotius-lead--[0-9a-f-]+)"', last.text)
        assert len(seen) == len(set(seen)) == 2 * PER_PAGE + 3
        assert set(seen) == {r["id"] for r in leads.inbox(node, limit=1000)}
        # the API pages the same leads and says how many there are in all
        api = client.get("/api/leads", params={"source": "US-FED", "limit": PER_PAGE, "offset": 2 * PER_PAGE},
                         headers=basic())
        assert api.headers["x-total-count"] == str(2 * PER_PAGE + 3) and len(api.json()) == 3


def test_non_numeric_min_score_is_a_400_naming_the_parameter(client: TestClient) -> None:
    for bad in ("high", "nan", "1.5", "-0.1"):
        r = client.get("/api/leads", params={"min_score": bad}, headers=basic())
        assert r.status_code == 400, r.text
        assert r.json() == {"error": "invalid_input", "message": f"min_score must be a number from 0 to 1, got {bad!r}",
                            "detail": {"property": "min_score"}}
    assert client.get("/api/leads", params={"min_score": ""}, headers=basic()).json() == \
        client.get("/api/leads", headers=basic()).json()
    assert client.get("/api/leads", params={"min_score": "1"}, headers=basic()).json() == []
    login(client)
    page = client.get("/leads", params={"min_score": "high"}, headers={"accept": "text/html"})
    assert page.status_code == 400 and "min_score must be a number from 0 to 1, got &#39;high&#39;" in page.text


def test_tlp_ceiling_is_applied_before_paging(node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # partner accounts are refused outside TAXII; a plug-in resolver (auth.RESOLVERS) is how a
    # caller with a TLP ceiling reaches the leads API
    def cleared_to_green(request: Any, node: Any) -> auth.Principal | None:
        if request.headers.get("x-clearance") != "green":
            return None
        return auth.Principal(kind="user", name="liaison", via="liaison-plugin", tlp_max="green")

    monkeypatch.setattr(auth, "RESOLVERS", [cleared_to_green, *auth.RESOLVERS])
    many_leads(node, 12)
    with TestClient(create_app(node), raise_server_exceptions=False) as client:
        pages = [client.get("/api/leads", params={"limit": 4, "offset": o, "sort": "oldest"},
                            headers={"x-clearance": "green"}) for o in (0, 4)]
        assert all(r.status_code == 200 for r in pages), pages[0].text
        rows = [x for r in pages for x in r.json()]
        # six GREEN leads: a full first page and two on the second, none of the AMBER ones
        assert [len(r.json()) for r in pages] == [4, 2]
        assert {x["tlp"] for x in rows} == {"green"} and len({x["id"] for x in rows}) == 6
        page = client.get("/leads", headers={"x-clearance": "green", "accept": "text/html"})
        assert "<strong>6</strong> leads" in page.text and "(12)" not in page.text
    assert leads.count(node, tlp_max="green") == 6 and leads.count(node, tlp_max="amber") == 12


@pytest.mark.browser
def test_demo_leads_inbox_in_browser(node: Any, live_server: Any, browser_page: Any) -> None:
    from playwright.sync_api import expect

    carillon(node)
    base = live_server(node)
    page, shots, errors = browser_page, SHOTS, browser_page.js_errors
    open_logged_in(page, base + "/leads")
    rows = page.locator("tr.lead-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    expect(page.locator("table.leads")).to_contain_text("203.0.113.0/26")
    page.screenshot(path=str(shots / f"leads-inbox-{node.store.dialect}.png"), full_page=True)
    page.select_option("select[name=source]", "US-FED")
    page.click("form.searchform button[type=submit]")
    expect(rows.first).to_contain_text("US-FED")
    rows.first.locator("a.leadlink").click()
    expect(page.locator("#incoming")).to_be_visible()
    expect(page.locator("#held")).to_be_visible()
    expect(page.locator("table.sides")).to_contain_text("Admiralty grade")
    expect(page.locator("td.side-incoming a.objlink")).to_be_visible()
    expect(page.locator("td.side-held a.objlink")).to_be_visible()
    page.screenshot(path=str(shots / f"lead-both-sides-{node.store.dialect}.png"), full_page=True)
    page.fill("input[name=reason]", "known sinkhole")
    page.click("button[value=dismissed]")
    expect(page.locator(".pill.status-dismissed")).to_be_visible()
    assert not errors, errors
