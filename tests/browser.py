"""Headless Chromium for the browser tests: the system Chromium (/usr/bin/chromium), never a
downloaded browser. Without it a test skips with a reason, unless GROTIUS_REQUIRE_BROWSER is
set (CI), where that is a failure. ``page.js_errors`` collects script errors, refused
scripts or styles and 404s; screenshots go to SHOTS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from webdata import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def _unavailable(reason: str) -> None:
    if os.environ.get("GROTIUS_REQUIRE_BROWSER"):
        pytest.fail(f"GROTIUS_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # a refused script or style (CSP) is a console error; HTTP error statuses the test
        # provokes on purpose (401 for a wrong password) are not script failures
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
        page.js_errors = errors  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()


def open_logged_in(page: Any, url: str, user: str = "anna", password: str = PASSWORD) -> None:
    """Go to url, log in on the login page it redirects to, and land on url."""
    from playwright.sync_api import expect

    page.goto(url)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(url)
