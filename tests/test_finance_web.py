"""Financial alerts in the web app: API, TLP filtering, and the evidence graph in a browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from grotius.finance import api as finance_api
from grotius.finance.api import PER_PAGE
from grotius.finance.generate import generate, write_amlworld
from grotius.finance.pipeline import analyse
from grotius.finance.store import store_alerts
from grotius.web import auth
from grotius.web.app import create_app
from browser import SHOTS, open_logged_in
from webdata import login, seed



def _stored_alerts(node: Any, tmp_path: Path) -> list:
    net = generate(accounts=200, transactions=800, per_typology=1, seed=31)
    write_amlworld(net, tmp_path / "g.csv")
    alerts = analyse(tmp_path / "g.csv", "amlworld", None, params=None).alerts
    cyc = [a for a in alerts if a.typology == "cycle"]
    rest = [a for a in alerts if a.typology != "cycle"][:5]
    store_alerts(node.home, cyc, tlp="green")
    store_alerts(node.home, rest, tlp="red")
    return cyc + rest


def test_alert_api_and_pages(node: Any, tmp_path: Path) -> None:
    seed(node)
    alerts = _stored_alerts(node, tmp_path)
    client = TestClient(create_app(node))
    login(client)
    r = client.get("/api/finance/alerts")
    assert r.status_code == 200
    got = r.json()
    assert {a["id"] for a in got} == {a.id for a in alerts}
    assert [a["score"] for a in got] == sorted((a["score"] for a in got), reverse=True)
    cyc = next(a for a in alerts if a.typology == "cycle")
    one = client.get(f"/api/finance/alerts/{cyc.id}").json()
    assert one["transactions"] == cyc.transactions and one["tlp"] == "green"
    svg = client.get(f"/api/finance/alerts/{cyc.id}/graph.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.count('class="account"') == len(cyc.accounts)
    page = client.get(f"/finance/alerts/{cyc.id}")
    assert page.status_code == 200 and "Evidence graph" in page.text and cyc.accounts[0] in page.text
    assert client.get("/api/finance/alerts/x-grotius-alert--00000000-0000-5000-8000-000000000000").status_code == 404
    assert client.get("/finance?typology=cycle").text.count("alert-row") == len([a for a in alerts if a.typology == "cycle"])


def test_alert_list_pages_in_sql_with_the_total_and_the_filters(node: Any, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seed(node)
    net = generate(accounts=400, transactions=2000, per_typology=8, seed=32)
    write_amlworld(net, tmp_path / "g.csv")
    alerts = analyse(tmp_path / "g.csv", "amlworld", None).alerts
    assert len(alerts) > 2 * PER_PAGE
    green, red = alerts[::2], alerts[1::2]
    store_alerts(node.home, green, tlp="green")
    store_alerts(node.home, red, tlp="red")
    best_first = sorted(alerts, key=lambda a: (-a.score, a.id))

    def cleared_to_green(request: Any, node: Any) -> auth.Principal | None:
        if request.headers.get("x-clearance") != "green":
            return None
        return auth.Principal(kind="user", name="liaison", via="liaison-plugin", tlp_max="green")

    monkeypatch.setattr(auth, "RESOLVERS", [cleared_to_green, *auth.RESOLVERS])
    client = TestClient(create_app(node))
    login(client)
    got = [a["id"] for o in range(0, len(alerts), 40)
           for a in client.get("/api/finance/alerts", params={"limit": 40, "offset": o}).json()]
    assert got == [a.id for a in best_first]
    cycles = [a.id for a in best_first if a.typology == "cycle"]
    assert [a["id"] for a in client.get("/api/finance/alerts", params={"typology": "cycle", "offset": 1}).json()] == cycles[1:]
    floor = best_first[len(best_first) // 2].score
    assert [a["id"] for a in client.get("/api/finance/alerts", params={"min_score": floor, "limit": 1000}).json()] == \
        [a.id for a in best_first if a.score >= floor]
    # a caller cleared to GREEN pages through the GREEN alerts only: full pages, no gaps
    mine = [a.id for a in best_first if a in green]
    pages = [client.get("/api/finance/alerts", params={"limit": 10, "offset": o}, headers={"x-clearance": "green"}).json()
             for o in (0, 10)]
    assert [a["id"] for p in pages for a in p] == mine[:20] and {a["tlp"] for p in pages for a in p} == {"green"}
    # the page: the total, page links keeping the typology, every alert once over the pages
    html = client.get("/finance")
    assert f"<strong>{len(alerts):,}</strong> alerts" in html.text and f"page 1 of {-(-len(alerts) // PER_PAGE)}" in html.text
    seen = []
    url: str | None = "/finance"
    while url:
        text = client.get(url).text
        seen += re.findall(r'href="/finance/alerts/([^"]+)"', text)
        nxt = re.search(r'<a href="([^"]+)">next ›</a>', text)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen == [a.id for a in best_first]
    # with short pages, the page links keep the typology
    monkeypatch.setattr(finance_api, "PER_PAGE", 3)
    assert len(cycles) > 3
    typed = client.get("/finance", params={"typology": "cycle"}).text
    assert f"<strong>{len(cycles)}</strong> alerts" in typed and "<option value=\"cycle\" selected>" in typed
    assert re.findall(r'href="/finance/alerts/([^"]+)"', typed) == cycles[:3]
    nxt = re.search(r'<a href="([^"]+)">next ›</a>', typed)
    assert nxt and nxt.group(1) == "/finance?typology=cycle&amp;page=2"
    assert re.findall(r'href="/finance/alerts/([^"]+)"', client.get(nxt.group(1).replace("&amp;", "&")).text) == cycles[3:6]
    assert f"<strong>{len(green)}</strong> alerts" in client.get("/finance", headers={"x-clearance": "green"}).text


@pytest.mark.browser
def test_open_an_alert_and_see_its_evidence_graph(node: Any, live_server: Any, tmp_path: Path, browser_page: Any) -> None:
    from playwright.sync_api import expect

    seed(node)
    alerts = _stored_alerts(node, tmp_path)
    cyc = next(a for a in alerts if a.typology == "cycle")
    base = live_server(node)
    page, shots, errors = browser_page, SHOTS, browser_page.js_errors
    open_logged_in(page, base + "/finance")
    rows = page.locator("tr.alert-row")
    expect(rows.first).to_be_visible()
    assert rows.count() == len(alerts)
    page.screenshot(path=str(shots / f"finance-alerts-{node.store.dialect}.png"), full_page=True)
    page.select_option("select[name=typology]", "cycle")
    page.click("form.searchform button[type=submit]")
    page.locator(f"a.alertlink[href='/finance/alerts/{cyc.id}']").click()
    graph = page.locator("svg.evidence-graph")
    expect(graph).to_be_visible()
    expect(graph.locator("g.account")).to_have_count(len(cyc.accounts))
    expect(graph.locator("g.payment")).to_have_count(len(cyc.transactions))
    first = cyc.explanation["evidence"]["transactions"][0]
    expect(graph).to_contain_text(first["amount"])
    box = graph.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100
    expect(page.locator("tr.payment-row")).to_have_count(len(cyc.transactions))
    page.screenshot(path=str(shots / f"finance-alert-graph-{node.store.dialect}.png"), full_page=True)
    assert not errors, errors
