"""Headless Chromium against a live node: log in, search, open an object, grade it.

Uses the system Chromium (/usr/bin/chromium), never a downloaded browser. Screenshots go
to test-artifacts/screenshots/. Without Chromium the test skips with a reason, unless
GROTIUS_REQUIRE_BROWSER is set (CI), where that is a failure.
"""

from __future__ import annotations

from typing import Any

import pytest

from browser import SHOTS
from webdata import IND, MAL, PASSWORD, seed

pytestmark = pytest.mark.browser


def test_login_search_open_object(node: Any, live_server: Any, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    seed(node)
    base = live_server(node)
    tag = node.store.dialect

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}-{tag}.png"), full_page=True)

    # anonymous -> login form
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login?next=%2F")
    shot("01-login")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".alert-error")).to_contain_text("wrong user name or password")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator(".mainnav a.active")).to_have_text("Dashboard")
    shot("02-dashboard")

    # search for the ransomware by part of its name, filtered to AMBER
    page.click(".mainnav >> text=Search")
    page.fill("form.searchform input[name=q]", "tidel")
    page.check("form.searchform input[name=tlp][value=amber]")
    page.click("form.searchform button[type=submit]")
    results = page.locator("table.results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("TideLocker")
    shot("03-search")

    # open it
    results.first.locator("a").first.click()
    expect(page).to_have_url(base + f"/objects/{MAL}")
    expect(page.locator("h1")).to_have_text("TideLocker")
    badge = page.locator(".objhead .tlp")
    expect(badge).to_have_text("TLP:AMBER")
    expect(badge).to_have_css("color", "rgb(255, 192, 0)")
    expect(badge).to_have_css("background-color", "rgb(0, 0, 0)")
    expect(page.locator(".objhead .grade")).to_have_text("ungraded")
    expect(page.locator("#relationships")).to_contain_text("indicates")
    expect(page.locator("#relationships")).to_contain_text("Tidewater Spider C2 address")
    expect(page.locator("pre.rawjson")).to_contain_text('"is_family": true')
    expect(page.locator("#versions li")).to_have_count(1)

    # grade it through the form (CSRF-protected POST)
    page.select_option("select[name=reliability]", "B")
    page.select_option("select[name=credibility]", "2")
    page.fill("#grade input[name=note]", "confirmed by liaison")
    page.click("#grade button[type=submit]")
    expect(page.locator(".objhead .grade")).to_have_text("B2")
    expect(page.locator("#grade")).to_contain_text("Usually reliable")
    shot("04-object-malware")

    # follow the incoming relationship to the indicator, which has two versions
    page.locator("#relationships a", has_text="Tidewater Spider C2 address").first.click()
    expect(page).to_have_url(base + f"/objects/{IND}")
    expect(page.locator(".objhead .tlp")).to_have_css("color", "rgb(51, 255, 0)")
    expect(page.locator("#versions li")).to_have_count(2)
    expect(page.locator("code.pattern")).to_contain_text("203.0.113.7")
    shot("05-object-indicator")
    page.locator("#versions li a").nth(1).click()
    expect(page.locator(".alert-warn")).to_contain_text("older version")
    expect(page.locator("h1")).to_have_text("Tidewater C2 address")

    page.click(".mainnav >> text=Import")
    expect(page.locator("input[type=file]")).to_be_visible()
    shot("06-import")

    # log out: the session is gone
    page.click(".who button")
    expect(page).to_have_url(base + "/login")
    page.goto(base + "/search")
    expect(page).to_have_url(base + "/login?next=%2Fsearch")
    assert page.js_errors == []  # CSP refused nothing, no script failed
