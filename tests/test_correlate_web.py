"""Leads in the web app: REST API and the inbox pages (TestClient), and the demo's inbox in
headless Chromium (both sides of a lead)."""

from __future__ import annotations

import base64
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

import grotius.correlate  # noqa: F401
from grotius import demo_data
from grotius.correlate import leads
from grotius.ingest import ingest
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
