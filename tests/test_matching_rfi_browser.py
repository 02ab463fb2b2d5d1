"""Headless Chromium, two live nodes: NL-POL's hit/no-hit run with US-FED has hits; an
NL-POL analyst turns one into a request for information; a US-FED analyst approves it in
part (the informant's RED indicator cannot be ticked, a description is left out); NL-POL
fetches the answer and opens the disclosed copy; US-FED's audit page shows the disclosure.

Uses the system Chromium (/usr/bin/chromium); skips with a reason without it unless
GROTIUS_REQUIRE_BROWSER is set. Screenshots go to test-artifacts/screenshots/rfi-*.png.
"""

from __future__ import annotations

from typing import Any

import pytest

import grotius.correlate  # noqa: F401
from grotius import users
from grotius.matching import requests as rfi
from rfi_helpers import AMB, HIT1, HIT2, RED, RELAY, holdings, in_days, link, run_match
from browser import SHOTS

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


def _page(browser: Any, errors: list[str]) -> Any:
    # one context per node: both nodes live on 127.0.0.1, and cookies do not tell ports apart
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 or r.status == 404 else None)
    return page


def _login(page: Any, base: str, user: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/requests")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/requests")


def test_request_from_hit_to_approved_disclosure(make_node: Any, live_server: Any, browser_page: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")
    monkeypatch.setenv("GROTIUS_RFI_POLL_SECONDS", "0")  # the tests fetch answers themselves
    us = make_node("US-FED", communities=("carillon",))
    nl = make_node("NL-POL")
    holdings(us)
    users.add(nl.store, "anna", PASSWORD)
    users.add(us.store, "ursula", PASSWORD)
    us_url, nl_url = live_server(us), live_server(nl)
    link(nl, us, us_url)
    match_id = run_match(nl)
    tag = nl.store.dialect
    errors: list[str] = browser_page.js_errors
    browser = browser_page.context.browser

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(SHOTS / f"rfi-{name}-{tag}.png"), full_page=True)

    # NL-POL: from the run's hits to a request
    anna = browser_page
    _login(anna, nl_url, "anna")
    expect(anna.locator(".mainnav a.active")).to_have_text("Requests")
    run = anna.locator("tr.run-row")
    expect(run).to_have_count(1)
    expect(run).to_contain_text("US-FED")
    shot(anna, "01-runs")
    run.locator("a.newrfi").click()
    expect(anna).to_have_url(f"{nl_url}/requests/new?match={match_id}")
    anna.uncheck(f"input[name=value][value='email:{HIT2}']")
    anna.fill("textarea[name=asked]", "Subscriber details and rent payments of this address, Jan-Oct 2026")
    anna.select_option("select[name=legal_basis]", "mla")
    anna.fill("input[name=legal_basis_text]", "MLA request 2026/0412")
    anna.select_option("select[name=urgency]", "urgent")
    anna.fill("input[name=deadline]", in_days(14))
    shot(anna, "02-new-request")
    anna.click("form.rfi-new button[type=submit]")
    expect(anna.locator("#rfi-status")).to_have_text("open")
    expect(anna.locator(".rfi-direction")).to_have_text("sent to US-FED")
    expect(anna.locator(".rfi-asked")).to_contain_text("rent payments")
    rid = anna.url.rsplit("/", 1)[1]
    shot(anna, "03-request-sent")

    # US-FED: the request arrived; approve it in part
    ursula = _page(browser, errors)
    _login(ursula, us_url, "ursula")
    row = ursula.locator("tr.rfi-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("NL-POL")
    expect(row).to_contain_text("urgent")
    expect(row.locator(".pill.status-open")).to_have_text("open")
    row.locator("a.rfilink").click()
    expect(ursula).to_have_url(f"{us_url}/requests/{rid}")
    rows = ursula.locator("tr.proposed-row")
    expect(rows).to_have_count(3)  # AMB, RED, RELAY mention HIT1
    expect(ursula.locator(f"input[name=object][value='{RED}']")).to_have_count(0)
    expect(ursula.locator(f"input[name=object][value='{RELAY}']")).to_have_count(0)
    expect(ursula.locator("#decide")).to_contain_text("TLP:RED never leaves this node")
    expect(ursula.locator(f"input[name=object][value='{AMB}']")).to_be_checked()
    ursula.click("#rfi-decline")  # without a reason: refused, with the reason why
    expect(ursula.locator("body")).to_contain_text("declining a request needs a reason")
    ursula.go_back()
    ursula.check(f"input[name=drop][value='{AMB}:description']")
    shot(ursula, "04-holder-decides")
    ursula.click("#rfi-approve")
    expect(ursula.locator("#rfi-status")).to_have_text("partially approved")
    expect(ursula.locator("#decision")).to_contain_text("description")
    shot(ursula, "05-holder-decided")

    # NL-POL: fetch the answer, open what was disclosed
    anna.reload()
    expect(anna.locator("#rfi-status")).to_have_text("open")
    anna.click("#rfi-refresh")
    expect(anna.locator("#rfi-status")).to_have_text("partially approved")
    disclosed = anna.locator("tr.disclosed-row")
    expect(disclosed).to_have_count(1)
    expect(disclosed).to_contain_text(f"redacted copy of {AMB}")
    expect(disclosed).to_contain_text("received")
    shot(anna, "06-requester-answer")
    disclosed.locator("a.objlink").click()
    expect(anna.locator("h1")).to_contain_text(HIT1)
    expect(anna.locator(".objhead .tlp")).to_have_text("TLP:AMBER")
    expect(anna.locator("pre.rawjson")).not_to_contain_text("undercover")
    expect(anna.locator("pre.rawjson")).to_contain_text("derived_from")
    shot(anna, "07-disclosed-object")
    anna.goto(nl_url + "/requests")
    expect(anna.locator("tr.rfi-row .pill.status-partially-approved")).to_have_count(1)

    # US-FED's audit trail shows what went to NL-POL for this request
    ursula.goto(us_url + "/audit?partner=NL-POL&action=disclose")
    entry = ursula.locator("tr", has_text=rfi.row(us, rid)["decision_id"])
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("disclose")
    shot(ursula, "08-holder-audit")

    assert rfi.row(nl, rid)["status"] == rfi.row(us, rid)["status"] == "partially-approved"
    assert errors == []
